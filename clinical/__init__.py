"""Clinical rules and reference data for the IOP medication dashboard: pure Python, no UI, no database.

Every rule the app applies (scale scoring, dose maxima by age and organ function, interactions, monitoring labs
and vital signs, levels, reproductive safety, telehealth controlled-substance rules over time, and which findings
raise a flag) lives here, with its data in clinical/data
and each figure's source next to it. See README, "Clinical rules".
"""

from clinical.checkins import CHECKIN_STATUSES, LinkSnapshot, checkin_status
from clinical.crisis import CrisisLine, crisis_line
from clinical.flags import (
    SEVERITY_ORDER,
    FlagFinding,
    flag_for_emergency_access,
    flag_for_lab_result,
    flag_for_missed_doses,
    flag_for_overdue_lab,
    flag_for_refill_request,
    flag_for_side_effect,
    flag_for_weight_gain,
    flags_for_score,
    refill_is_early,
)
from clinical.formulary import (
    DOSE_STATUSES,
    DOSE_UNITS,
    FREQUENCIES,
    HEPATIC_GRADES,
    DoseCheck,
    FormularyEntry,
    allergy_matches,
    check_dose,
    daily_dose_mg,
    drug_schedule,
    formulary,
    formulary_entry,
    resolve_drug,
)
from clinical.interactions import KINDS as INTERACTION_KINDS
from clinical.interactions import Interaction, check_interactions, known_interacting_names
from clinical.medications import (
    MedicationProfile,
    classify_medication,
    drug_for_rxnorm,
    known_medications,
    medication_ingredients,
    resolve_medication,
)
from clinical.monitoring import KINDS as MONITORING_KINDS
from clinical.monitoring import (
    LabDue,
    LabInterpretation,
    LabTest,
    LevelCheck,
    at_risk_ancestry,
    check_level,
    classify_lab_result,
    lab_test,
    lab_tests,
    monitoring_labs,
)
from clinical.reproductive import ReproductiveFinding, could_be_pregnant, reproductive_safety
from clinical.scales import (
    INSTRUMENTS,
    InstrumentInfo,
    InstrumentScore,
    SeverityBand,
    TreatmentOutcome,
    canonical_instrument,
    instrument_info,
    outcome_instruments,
    score_instrument,
    treatment_outcome,
)
from clinical.telehealth import PrescribingRule, telehealth_prescribing
from clinical.vitals import VitalSign, bmi, vital_sign, vital_signs

__all__ = [
    "CHECKIN_STATUSES",
    "DOSE_STATUSES",
    "DOSE_UNITS",
    "FREQUENCIES",
    "HEPATIC_GRADES",
    "INSTRUMENTS",
    "INTERACTION_KINDS",
    "MONITORING_KINDS",
    "SEVERITY_ORDER",
    "CrisisLine",
    "DoseCheck",
    "FlagFinding",
    "FormularyEntry",
    "InstrumentInfo",
    "InstrumentScore",
    "Interaction",
    "LabDue",
    "LabInterpretation",
    "LabTest",
    "LevelCheck",
    "LinkSnapshot",
    "MedicationProfile",
    "PrescribingRule",
    "ReproductiveFinding",
    "SeverityBand",
    "TreatmentOutcome",
    "VitalSign",
    "allergy_matches",
    "at_risk_ancestry",
    "bmi",
    "canonical_instrument",
    "check_dose",
    "check_interactions",
    "check_level",
    "checkin_status",
    "classify_lab_result",
    "classify_medication",
    "could_be_pregnant",
    "crisis_line",
    "daily_dose_mg",
    "drug_for_rxnorm",
    "drug_schedule",
    "flag_for_emergency_access",
    "flag_for_lab_result",
    "flag_for_missed_doses",
    "flag_for_overdue_lab",
    "flag_for_refill_request",
    "flag_for_side_effect",
    "flag_for_weight_gain",
    "flags_for_score",
    "formulary",
    "formulary_entry",
    "instrument_info",
    "known_interacting_names",
    "known_medications",
    "lab_test",
    "lab_tests",
    "medication_ingredients",
    "monitoring_labs",
    "outcome_instruments",
    "refill_is_early",
    "reproductive_safety",
    "resolve_drug",
    "resolve_medication",
    "score_instrument",
    "telehealth_prescribing",
    "treatment_outcome",
    "vital_sign",
    "vital_signs",
]
