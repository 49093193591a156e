"""What a synthetic chart may contain: diagnoses (ICD-10-CM) and the medicines that usually treat them.

Drug names here are matched against ``clinical.formulary()`` (names and aliases, case-insensitively); a
name the formulary does not carry is skipped, so the seed follows the formulary rather than duplicating it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DiagnosisCode:
    code: str
    description: str
    condition: str  # the treatment group it belongs to (keys of TREATMENT_OPTIONS)


DIAGNOSES: dict[str, DiagnosisCode] = {
    d.code: d
    for d in (
        DiagnosisCode("F33.1", "Major depressive disorder, recurrent, moderate", "depression"),
        DiagnosisCode("F33.2", "Major depressive disorder, recurrent severe without psychotic features", "depression"),
        DiagnosisCode("F32.1", "Major depressive disorder, single episode, moderate", "depression"),
        DiagnosisCode("F32.2", "Major depressive disorder, single episode, severe without psychotic features",
                      "depression"),
        DiagnosisCode("F41.1", "Generalized anxiety disorder", "anxiety"),
        DiagnosisCode("F41.0", "Panic disorder [episodic paroxysmal anxiety]", "anxiety"),
        DiagnosisCode("F40.10", "Social phobia, unspecified", "anxiety"),
        DiagnosisCode("F43.10", "Post-traumatic stress disorder, unspecified", "ptsd"),
        DiagnosisCode("F43.12", "Post-traumatic stress disorder, chronic", "ptsd"),
        DiagnosisCode("F31.81", "Bipolar II disorder", "bipolar"),
        DiagnosisCode("F31.32", "Bipolar disorder, current episode depressed, moderate", "bipolar"),
        DiagnosisCode("F25.0", "Schizoaffective disorder, bipolar type", "psychosis"),
        DiagnosisCode("F20.9", "Schizophrenia, unspecified", "psychosis"),
        DiagnosisCode("F10.20", "Alcohol dependence, uncomplicated", "alcohol"),
        DiagnosisCode("F11.20", "Opioid dependence, uncomplicated", "opioid"),
        DiagnosisCode("F90.0", "Attention-deficit hyperactivity disorder, predominantly inattentive type", "adhd"),
        DiagnosisCode("F90.2", "Attention-deficit hyperactivity disorder, combined type", "adhd"),
        DiagnosisCode("F42.2", "Mixed obsessional thoughts and acts", "ocd"),
        DiagnosisCode("F12.20", "Cannabis dependence, uncomplicated", "cannabis"),
        DiagnosisCode("F17.210", "Nicotine dependence, cigarettes, uncomplicated", "nicotine"),
        DiagnosisCode("F51.01", "Primary insomnia", "insomnia"),
    )
}

# Primary diagnosis mix of an adult mental-health and substance-use IOP (weights, not percentages).
PRIMARY_DIAGNOSIS_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("F33.1", 20), ("F33.2", 6), ("F32.1", 4), ("F32.2", 6), ("F41.1", 11), ("F41.0", 3), ("F40.10", 3),
    ("F43.10", 6), ("F43.12", 3), ("F31.81", 6), ("F31.32", 5), ("F25.0", 2), ("F20.9", 1),
    ("F10.20", 10), ("F11.20", 8), ("F90.0", 2), ("F90.2", 2), ("F42.2", 2),
)
# Common secondary diagnoses by condition of the primary one, with the chance of each.
COMORBIDITY_CHANCES: dict[str, tuple[tuple[str, float], ...]] = {
    "depression": (("F41.1", 0.35), ("F10.20", 0.12), ("F17.210", 0.15), ("F51.01", 0.10), ("F90.0", 0.04)),
    "anxiety": (("F33.1", 0.30), ("F51.01", 0.12), ("F17.210", 0.08), ("F10.20", 0.06)),
    "ptsd": (("F33.1", 0.40), ("F10.20", 0.20), ("F12.20", 0.10), ("F41.1", 0.15)),
    "bipolar": (("F41.1", 0.20), ("F10.20", 0.15), ("F12.20", 0.10), ("F17.210", 0.20)),
    "psychosis": (("F17.210", 0.40), ("F12.20", 0.15)),
    "alcohol": (("F33.1", 0.35), ("F41.1", 0.20), ("F17.210", 0.30), ("F43.10", 0.10)),
    "opioid": (("F33.1", 0.25), ("F41.1", 0.15), ("F17.210", 0.45), ("F43.10", 0.15)),
    "adhd": (("F41.1", 0.25), ("F33.1", 0.20)),
    "ocd": (("F33.1", 0.30),),
}

# Drug choices per condition: (formulary name, weight). First-line agents weigh most.
TREATMENT_OPTIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "depression": (("sertraline", 6), ("escitalopram", 6), ("fluoxetine", 3), ("citalopram", 2),
                   ("venlafaxine", 3), ("duloxetine", 3), ("bupropion", 3), ("mirtazapine", 1.5)),
    "anxiety": (("escitalopram", 6), ("sertraline", 5), ("duloxetine", 2), ("venlafaxine", 2), ("paroxetine", 1),
                ("buspirone", 2)),
    "ptsd": (("sertraline", 5), ("paroxetine", 2), ("venlafaxine", 2), ("fluoxetine", 1)),
    "bipolar": (("lamotrigine", 5), ("lithium", 4), ("quetiapine", 4), ("aripiprazole", 2), ("lurasidone", 1.5),
                ("valproate", 1), ("carbamazepine", 0.5)),
    "psychosis": (("aripiprazole", 4), ("risperidone", 3), ("olanzapine", 2), ("quetiapine", 1), ("clozapine", 1.5)),
    "alcohol": (("naltrexone", 6), ("acamprosate", 3), ("disulfiram", 0.5)),
    "opioid": (("buprenorphine/naloxone", 8), ("naltrexone", 2)),
    "adhd": (("methylphenidate", 3), ("amphetamine", 3), ("lisdexamfetamine", 2), ("atomoxetine", 2),
             ("guanfacine", 1)),
    "ocd": (("fluoxetine", 3), ("sertraline", 3), ("fluvoxamine", 2)),
    "insomnia": (("trazodone", 4), ("mirtazapine", 1)),
    "nicotine": (("bupropion", 1),),
    "cannabis": (),
}
# Add-on agents a prescriber reaches for after a partial response, by condition.
AUGMENTATION_OPTIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "depression": (("aripiprazole", 3), ("bupropion", 3), ("mirtazapine", 1), ("lithium", 0.5)),
    "anxiety": (("buspirone", 3), ("hydroxyzine", 1)),
    "ptsd": (("prazosin", 5),),  # nightmares
    "bipolar": (("lamotrigine", 2), ("quetiapine", 2)),
}
NON_SEROTONERGIC_ANXIOLYTICS: tuple[tuple[str, float], ...] = (("buspirone", 2), ("hydroxyzine", 2))
BENZODIAZEPINES: tuple[tuple[str, float], ...] = (("clonazepam", 3), ("lorazepam", 2), ("alprazolam", 1))

# Times a day each drug is usually taken; anything not listed is taken once daily.
FREQUENCY_BY_DRUG: dict[str, str] = {
    "lithium": "twice daily", "quetiapine": "at bedtime", "prazosin": "at bedtime", "trazodone": "at bedtime",
    "mirtazapine": "at bedtime", "clonazepam": "twice daily", "lorazepam": "twice daily",
    "alprazolam": "three times daily", "buspirone": "twice daily", "methylphenidate": "twice daily",
    "clozapine": "twice daily", "acamprosate": "three times daily", "valproate": "twice daily",
    "carbamazepine": "twice daily", "olanzapine": "at bedtime", "hydroxyzine": "three times daily",
    "atomoxetine": "once daily", "lurasidone": "once daily", "amphetamine": "every morning",
    "lisdexamfetamine": "every morning", "bupropion": "every morning", "disulfiram": "once daily",
}
TIMES_PER_DAY: dict[str, int] = {
    "once daily": 1, "every morning": 1, "at bedtime": 1, "twice daily": 2, "three times daily": 3,
}


@dataclass(frozen=True)
class OutsideMedication:
    """A medicine prescribed outside the program (primary care), recorded for reconciliation and interactions."""

    drug: str
    rxnorm: str
    dose: float
    unit: str
    frequency: str
    indication: str


# Mostly chosen because the interaction checker knows them with common psychiatric drugs (lithium clearance
# with ACE inhibitors, ARBs, thiazides and NSAIDs; serotonergic load with triptans and tramadol; bleeding with
# NSAIDs and aspirin on SSRIs; QT with ondansetron on citalopram); levothyroxine and metformin for realism.
OUTSIDE_MEDICATIONS: dict[str, OutsideMedication] = {
    m.drug: m
    for m in (
        OutsideMedication("lisinopril", "29046", 10, "mg", "once daily", "hypertension"),
        OutsideMedication("losartan", "52175", 50, "mg", "once daily", "hypertension"),
        OutsideMedication("hydrochlorothiazide", "5487", 25, "mg", "once daily", "hypertension"),
        OutsideMedication("ibuprofen", "5640", 400, "mg", "three times daily", "back pain"),
        OutsideMedication("naproxen", "7258", 500, "mg", "twice daily", "osteoarthritis"),
        OutsideMedication("aspirin", "1191", 81, "mg", "once daily", "cardiovascular prevention"),
        OutsideMedication("sumatriptan", "37418", 50, "mg", "once daily", "migraine"),
        OutsideMedication("tramadol", "10689", 50, "mg", "twice daily", "knee pain"),
        OutsideMedication("ondansetron", "26225", 4, "mg", "twice daily", "nausea"),
        OutsideMedication("levothyroxine", "10582", 75, "mcg", "once daily", "hypothyroidism"),
        OutsideMedication("metformin", "6809", 500, "mg", "twice daily", "type 2 diabetes"),
    )
}
# Which outside medicines are likely, given the psychiatric drugs (weights); others get the generic mix.
OUTSIDE_MEDICATION_BY_DRUG_CLASS: dict[str, tuple[tuple[str, float], ...]] = {
    "lithium": (("lisinopril", 3), ("hydrochlorothiazide", 2), ("ibuprofen", 2), ("losartan", 1), ("naproxen", 1),
                ("levothyroxine", 1)),
    "serotonergic": (("sumatriptan", 2), ("ibuprofen", 3), ("tramadol", 1.5), ("naproxen", 1), ("aspirin", 1),
                     ("ondansetron", 0.5)),
    "antipsychotic": (("metformin", 3), ("lisinopril", 1), ("ibuprofen", 1)),
    "other": (("lisinopril", 2), ("ibuprofen", 2), ("aspirin", 1), ("losartan", 1), ("levothyroxine", 1),
              ("metformin", 1)),
}

ALLERGIES: tuple[tuple[str, str, str, float], ...] = (
    # substance, reaction, severity, weight
    ("penicillin", "hives", "moderate", 8),
    ("sulfamethoxazole/trimethoprim (sulfa)", "rash", "moderate", 5),
    ("lamotrigine", "maculopapular rash", "severe", 1.5),
    ("carbamazepine", "rash with fever", "severe", 1),
    ("codeine", "nausea and vomiting", "mild", 2),
    ("latex", "contact dermatitis", "mild", 1.5),
    ("peanuts", "anaphylaxis", "severe", 1),
    ("haloperidol", "acute dystonia", "moderate", 1),
)

STOP_REASONS_NO_RESPONSE: tuple[str, ...] = (
    "Inadequate response after adequate trial; cross-taper to alternative",
    "Partial response only; switching agent per shared decision",
)
STOP_REASONS_SIDE_EFFECT: tuple[str, ...] = (
    "Intolerable side effects; discontinued",
    "Side effects outweigh benefit; patient preference to stop",
)
STOP_REASON_DISCHARGE = "Discharged from IOP; care transferred to community prescriber"
STOP_REASON_BENZO_TAPER = "Short-term use complete; tapered off"
