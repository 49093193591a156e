"""One synthetic patient's chart, from intake to the day before ``today``.

The story is simulated in order, so the rows agree with each other: visits are scheduled from the program
phase; doses change only at prescriber visits and step along the formulary's titration ladder; weekly
PHQ-9/GAD-7 scores follow a response trajectory; monitoring labs are ordered when ``clinical`` says a start
or dose change needs them; refills follow the fills; and flags are whatever the ``clinical`` flag rules say
about the generated scores, side effects, lab results and refill requests, with a simulated nurse response.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import clinical
from seed import catalog, vocabulary
from seed.bulk import IdAllocator
from seed.rules import CachedRules, Formulary, LabCatalog, ScoreBook, ScorePattern, severity_rank
from seed.staff import Staff, StaffMember

NEVER = 10**9  # a day index no chart reaches: "this phase never began"
# Program phases today, for the default 26-week history; mostly active patients, most of them in treatment.
PHASE_MIX: tuple[tuple[str, float], ...] = (
    ("intake", 8), ("intensive", 37), ("step-down", 22), ("maintenance", 20), ("discharged", 13),
)
PHASE_MIX_WEEKS = 26
LONG_TENURE_PHASES = ("maintenance", "discharged")
ACTIVE_PHASES = ("intensive", "step-down", "maintenance")
# How long a patient has been enrolled, in days, when found in each phase today.
TENURE_DAYS: dict[str, tuple[int, int]] = {
    "intake": (1, 9), "intensive": (10, 70), "step-down": (56, 126), "maintenance": (98, 100_000),
}
VISIT_CADENCE_DAYS: dict[str, int] = {"intake": 7, "intensive": 7, "step-down": 14, "maintenance": 28}
# Chance a weekly self-report is skipped, by phase: adherence drops as contact thins out.
SELF_REPORT_SKIP: dict[str, float] = {"intake": 0.0, "intensive": 0.04, "step-down": 0.08, "maintenance": 0.12}
LOST_TO_FOLLOW_UP_CHANCE = 0.07
LAB_DRAW_SKIPPED_CHANCE = 0.1  # labs due in the last 60 days that the patient has not had drawn yet
SECONDS_VISIT_DAY_START = 13 * 3600  # 9:00 program time (America/New_York) in UTC, roughly
SECONDS_EVENING = 22 * 3600  # self-reports arrive around 18:00 program time
DAYS_SUPPLY = 30
REFILL_TOLERANCE_DAYS = 2  # a request more than this before the supply runs out is early (clinical rules)
TRAJECTORIES: tuple[tuple[str, float], ...] = (("improving", 62), ("flat", 18), ("worsening", 10), ("relapse", 10))
BASELINE_BY_CONDITION: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    # condition: ((PHQ-9 low, high), (GAD-7 low, high)) at intake
    "depression": ((15, 24), (8, 16)), "anxiety": ((8, 15), (13, 20)), "ptsd": ((12, 20), (12, 19)),
    "bipolar": ((13, 22), (8, 15)), "psychosis": ((8, 16), (6, 14)), "alcohol": ((9, 17), (8, 15)),
    "opioid": ((9, 17), (8, 15)), "adhd": ((6, 12), (7, 13)), "ocd": ((9, 16), (12, 18)),
}
SEDATING_SINGLE_DOSE = frozenset({"quetiapine", "clozapine", "clonazepam", "lorazepam", "olanzapine", "lithium",
                                  "hydroxyzine", "trazodone", "mirtazapine", "prazosin"})
SLOW_TITRATION = frozenset({"lamotrigine", "clozapine", "lithium", "carbamazepine", "valproate"})
# Flag response simulation, in minutes: how soon a nurse acknowledges and how long until it is resolved.
ACK_MINUTES: dict[str, tuple[int, int]] = {
    "urgent": (5, 45), "high": (30, 360), "moderate": (120, 2880), "low": (1440, 7200),
}
RESOLVE_AFTER_ACK_MINUTES: dict[str, tuple[int, int]] = {
    "urgent": (60, 480), "high": (240, 2880), "moderate": (1440, 7200), "low": (2880, 14400),
}
ESCALATE_CHANCE: dict[str, float] = {"urgent": 0.6, "high": 0.2, "moderate": 0.05, "low": 0.0}
ACKNOWLEDGE_NOTES: dict[str, str] = {
    "self_harm": "Called patient; safe at home with partner; reviewing safety plan now.",
    "default": "Reviewed; patient contacted and prescriber informed.",
}
RESOLUTION_NOTES: dict[str, str] = {
    "self_harm": "Safety assessment by phone: passive thoughts, no plan or intent; safety plan reviewed; "
                 "visit moved up.",
    "default": "Reviewed with prescriber; plan documented in chart.",
}
LAB_EVENT_FOR_CHANGE: dict[str, str] = {"start": "start", "increase": "dose_change", "decrease": "dose_change"}
# Scenario names: storylines the generator guarantees at least once per program (see plan_patients).
SELF_HARM_NOW = "self_harm_now"
CRITICAL_LITHIUM = "critical_lithium"
EARLY_CONTROLLED_REFILL = "early_controlled_refill"
OVERDUE_LAB = "overdue_lab"
RED_FLAG_SIDE_EFFECT = "red_flag_side_effect"
CLOZAPINE = "clozapine"
OVERDUE_VISIT = "overdue_visit"
SCENARIO_RATES: tuple[tuple[str, float], ...] = (
    (SELF_HARM_NOW, 0.015), (CRITICAL_LITHIUM, 0.003), (EARLY_CONTROLLED_REFILL, 0.01), (OVERDUE_LAB, 0.015),
    (RED_FLAG_SIDE_EFFECT, 0.004), (CLOZAPINE, 0.003), (OVERDUE_VISIT, 0.01),
)


@dataclass(frozen=True)
class PatientPlan:
    """What is decided about a patient before their chart is simulated."""

    index: int
    phase: str
    prescriber: StaffMember
    nurse: StaffMember
    scenarios: frozenset[str]


@dataclass(frozen=True)
class Enrollment:
    """Enrollment timeline in day indexes relative to ``start`` (day 0 = intake)."""

    phase: str
    start: date
    end_day: int  # last day with events: yesterday, or the discharge day
    discharge_day: int | None
    stepdown_from: int
    maintenance_from: int

    def phase_on(self, day: int) -> str:
        if day < 7:
            return "intake"
        if day < self.stepdown_from:
            return "intensive"
        if day < self.maintenance_from:
            return "step-down"
        return "maintenance"


@dataclass(frozen=True)
class Trajectory:
    """How a patient's scores move: a response pattern and its parameters."""

    kind: str  # improving, flat, worsening, relapse
    phq_baseline: float
    gad_baseline: float
    floor_fraction: float  # where improvement levels off, as a fraction of baseline
    time_constant_weeks: float
    relapse_week: float

    def expected(self, baseline: float, weeks: float) -> float:
        """Expected questionnaire total after ``weeks`` in the program."""
        floor = baseline * self.floor_fraction
        if self.kind == "flat":
            return baseline - 0.08 * weeks
        if self.kind == "worsening":
            return baseline + min(7.0, 0.45 * weeks)
        improved = floor + (baseline - floor) * math.exp(-weeks / self.time_constant_weeks)
        if self.kind == "relapse" and weeks >= self.relapse_week:
            return improved + 6.5  # loses most of the gain in the last few weeks
        return improved


@dataclass
class VisitSlot:
    id: int
    day: int
    at: datetime
    phase: str
    visit_type: str
    modality: str
    next_due_day: int
    plan_items: list[str] = field(default_factory=list)
    phq: ScorePattern | None = None
    gad: ScorePattern | None = None


@dataclass
class Course:
    """One prescription and its dose history while it is being simulated."""

    id: int
    key: str  # the catalog's name for the drug ("lithium"); ``drug`` is the formulary's canonical name
    drug: str
    rxnorm: str | None
    entry: Any | None  # clinical.FormularyEntry; None for outside medicines
    indication: str
    is_psychiatric: bool
    unit: str
    route: str
    formulation: str | None
    start_day: int
    start_date: date
    dose: float = 0.0
    frequency: str = "once daily"
    times_per_day: int = 1
    daily_mg: float = 0.0
    stop_day: int | None = None
    stop_reason: str | None = None
    schedule: str | None = None
    change_rows: list[dict[str, Any]] = field(default_factory=list)
    last_fill_date: date | None = None


@dataclass(slots=True)
class PendingFinding:
    """A clinical flag rule fired at ``at``; the flag lifecycle is simulated once the chart is complete."""

    at: datetime
    finding: Any  # clinical.FlagFinding
    source_table: str
    source_id: int
    closes_at: datetime | None = None  # when the underlying problem went away, if it did
    persists: bool = False  # the problem is still present today, so the flag cannot be resolved
    force_open: bool = False  # nobody has responded yet (a storyline that must be visible in the demo)
    raised_by: int | None = None  # the user whose entry raised it; None for automatic sources


@dataclass
class Chart:
    """Per-patient working state."""

    patient_id: int
    plan: PatientPlan
    enrollment: Enrollment
    start_midnight: datetime
    conditions: list[str]
    allergy_substances: set[str]
    visits: list[VisitSlot] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)
    findings: list[PendingFinding] = field(default_factory=list)
    lab_orders: list[dict[str, Any]] = field(default_factory=list)
    weight_kg: float = 75.0
    age_years: int = 40
    sex: str = "unknown"
    ancestry: str | None = None
    trajectory: Trajectory | None = None

    def at(self, day: int, seconds: int) -> datetime:
        return self.start_midnight + timedelta(days=day, seconds=seconds)

    def date_of(self, day: int) -> date:
        return self.enrollment.start + timedelta(days=day)


def _weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    return rng.choices([name for name, _ in options], weights=[weight for _, weight in options])[0]


def phase_weights(weeks_history: int) -> list[tuple[str, float]]:
    """The phase mix for a history window. A longer window holds proportionally more patients who started
    long ago (now in maintenance or discharged), so start dates stay spread over the whole window."""
    stretch = max(1.0, weeks_history / PHASE_MIX_WEEKS)
    return [(name, weight * stretch if name in LONG_TENURE_PHASES else weight) for name, weight in PHASE_MIX]


def plan_patients(rng: random.Random, count: int, staff: Staff, weeks_history: int) -> list[PatientPlan]:
    """Phases, caseload assignment and guaranteed storylines for every patient, before any chart exists."""
    mix = phase_weights(weeks_history)
    phases = rng.choices([name for name, _ in mix], weights=[w for _, w in mix], k=count)
    # Caseloads vary by +-30% between prescribers, as they do in practice.
    prescriber_weights = [0.7 + 0.6 * rng.random() for _ in staff.prescribers]
    if count >= len(staff.prescribers):
        # Everyone gets at least some patients: the first len(prescribers) patients go round-robin.
        assigned = list(staff.prescribers) + rng.choices(staff.prescribers, weights=prescriber_weights,
                                                         k=count - len(staff.prescribers))
    else:
        assigned = list(staff.prescribers[:count])
    nurses_by_team: dict[int | None, list[StaffMember]] = {}
    for nurse in staff.nurses:
        nurses_by_team.setdefault(nurse.team_id, []).append(nurse)

    active = [i for i, phase in enumerate(phases) if phase in ACTIVE_PHASES]
    rng.shuffle(active)
    scenarios: dict[int, set[str]] = {}
    cursor = 0
    for name, rate in SCENARIO_RATES:
        wanted = max(1, round(count * rate))
        for _ in range(wanted):
            if not active:
                break
            # Distinct patients per storyline where possible, reusing patients only in tiny programs.
            index = active[cursor % len(active)]
            cursor += 1
            scenarios.setdefault(index, set()).add(name)
    # Every storyline should be visible to the demo logins: its first patient joins caseload 1 (team 1).
    for name, _rate in SCENARIO_RATES:
        first = next((i for i in sorted(scenarios) if name in scenarios[i]), None)
        if first is not None:
            assigned[first] = staff.prescribers[0]

    plans = []
    for index in range(count):
        prescriber = assigned[index]
        team_nurses = nurses_by_team[prescriber.team_id]
        nurse = team_nurses[int(rng.random() * len(team_nurses))]
        plans.append(PatientPlan(index, phases[index], prescriber, nurse, frozenset(scenarios.get(index, ()))))
    return plans


class ChartBuilder:
    """Simulates charts and appends their rows to ``rows`` (table name -> list of row dicts)."""

    def __init__(self, *, rng: random.Random, today: date, window_days: int, ids: IdAllocator,
                 rows: dict[str, list[dict[str, Any]]], staff: Staff, formulary: Formulary, labs: LabCatalog,
                 scores: ScoreBook, rules: CachedRules, lab_grace_days: int) -> None:
        self.rng = rng
        self.today = today
        self.as_of = datetime.combine(today, time.min)  # nothing is generated at or after midnight today
        self.window_days = window_days
        self.ids = ids
        self.rows = rows
        self.staff = staff
        self.formulary = formulary
        self.labs = labs
        self.scores = scores
        self.rules = rules
        self.lab_grace_days = lab_grace_days
        self._common_symptoms: dict[str, list[str]] = {}

    # ----------------------------------------------------------------------------------------- patient
    def add_patient(self, plan: PatientPlan) -> None:
        rng = self.rng
        enrollment = self._plan_enrollment(plan)
        patient_id = self.ids.take("patients")
        conditions = self._choose_conditions(plan)
        chart = Chart(patient_id, plan, enrollment, datetime.combine(enrollment.start, time.min), conditions,
                      set())
        sex = _weighted(rng, (("female", 55), ("male", 42), ("other", 2), ("unknown", 1)))
        chart.sex = sex
        chart.weight_kg = (55 + 45 * rng.random()) if sex == "female" else (65 + 50 * rng.random())
        self._schedule_visits(chart)
        self._add_patient_row(chart, sex)
        self._add_allergies(chart)
        self._add_diagnoses(chart)
        self._plan_medications(chart)
        self._add_assessments(chart)
        self._add_visit_rows(chart)
        self._add_labs(chart)
        self._add_fills_and_refills(chart)
        self._add_course_rows(chart)
        self._add_flags(chart)

    def _plan_enrollment(self, plan: PatientPlan) -> Enrollment:
        rng = self.rng
        window = max(self.window_days, 2)
        phase = plan.phase
        discharge_day: int | None = None
        if phase == "discharged":
            path = _weighted(rng, (("intensive", 25), ("step-down", 45), ("maintenance", 30)))
            # A maintenance stay lasts up to a year when the history window is long enough to show it.
            longest_stay = max(200, min(365, window - 30))
            low, high = {"intensive": (21, 56), "step-down": (56, 126), "maintenance": (98, longest_stay)}[path]
            stay = rng.randint(low, high)
            days_since = rng.randint(1, max(1, window - stay))
            tenure = min(stay + days_since, window)
            stay = max(1, min(stay, tenure - 1))
            discharge_day = stay
            end_day = stay
            timeline_phase, timeline_length = path, stay
        else:
            low, high = TENURE_DAYS[phase]
            tenure = rng.randint(low, max(low, min(high, window)))
            if plan.scenarios:
                tenure = max(tenure, 35)  # storylines need a few weeks of history (fills, levels, titration)
            tenure = min(tenure, window)
            end_day = tenure - 1
            timeline_phase, timeline_length = phase, tenure
        stepdown_from = maintenance_from = NEVER
        if timeline_phase in ("step-down", "maintenance"):
            stepdown_from = max(14, min(rng.randint(42, 70), timeline_length - 7))
        if timeline_phase == "maintenance":
            maintenance_from = max(stepdown_from + 7, min(stepdown_from + rng.randint(28, 56), timeline_length - 7))
        start = self.today - timedelta(days=tenure)
        return Enrollment(phase, start, end_day, discharge_day, stepdown_from, maintenance_from)

    def _choose_conditions(self, plan: PatientPlan) -> list[str]:
        """Diagnosis codes, primary first."""
        rng = self.rng
        if CRITICAL_LITHIUM in plan.scenarios or OVERDUE_LAB in plan.scenarios:
            primary = "F31.81"
        elif RED_FLAG_SIDE_EFFECT in plan.scenarios:
            primary = "F31.32"
        elif CLOZAPINE in plan.scenarios:
            primary = "F20.9"
        elif EARLY_CONTROLLED_REFILL in plan.scenarios:
            primary = "F11.20"
        elif SELF_HARM_NOW in plan.scenarios:
            primary = _weighted(rng, (("F33.1", 3), ("F33.2", 2), ("F43.10", 1)))
        else:
            primary = _weighted(rng, catalog.PRIMARY_DIAGNOSIS_WEIGHTS)
        codes = [primary]
        for code, chance in catalog.COMORBIDITY_CHANCES.get(catalog.DIAGNOSES[primary].condition, ()):
            if rng.random() < chance and code not in codes:
                codes.append(code)
        return codes

    def _add_patient_row(self, chart: Chart, sex: str) -> None:
        rng = self.rng
        plan, enrollment = chart.plan, chart.enrollment
        if sex == "female":
            given = rng.choice(vocabulary.GIVEN_NAMES_FEMALE if rng.random() < 0.9 else vocabulary.GIVEN_NAMES_NEUTRAL)
        elif sex == "male":
            given = rng.choice(vocabulary.GIVEN_NAMES_MALE if rng.random() < 0.9 else vocabulary.GIVEN_NAMES_NEUTRAL)
        else:
            given = rng.choice(vocabulary.GIVEN_NAMES_NEUTRAL)
        family = rng.choice(vocabulary.FAMILY_NAMES)
        age_band = _weighted(rng, (("18-24", 10), ("25-44", 45), ("45-64", 35), ("65-75", 10)))
        low_age, high_age = (int(part) for part in age_band.split("-"))
        birthday_this_age = _years_before(self.today, rng.randint(low_age, high_age))
        birth = birthday_this_age - timedelta(days=rng.randint(0, 360))
        # Patients live where their prescriber is licensed: a telehealth prescription must be legal there.
        states = plan.prescriber.licensed_states
        state = states[0] if rng.random() < 0.55 else rng.choice(states)
        ancestry_roll = rng.random()
        # Recorded only where a monitoring rule needs it (HLA-B*1502 screening before carbamazepine).
        ancestry = ("East Asian" if ancestry_roll < 0.05 else "South Asian" if ancestry_roll < 0.09
                    else "Southeast Asian" if ancestry_roll < 0.12 else None)
        chart.ancestry = ancestry
        chart.age_years = _age_on(birth, self.today)
        area_code = rng.choice(vocabulary.AREA_CODES.get(state, ("555",)))
        contact_given = rng.choice(vocabulary.GIVEN_NAMES_NEUTRAL + vocabulary.GIVEN_NAMES_FEMALE)
        contact_family = family if rng.random() < 0.6 else rng.choice(vocabulary.FAMILY_NAMES)
        relation = rng.choice(vocabulary.EMERGENCY_CONTACT_RELATIONS)
        contact_phone = f"({area_code}) 555-01{rng.randint(0, 99):02d}"
        town = rng.choice(vocabulary.TOWNS.get(state, ("Springfield",)))
        pharmacy = None
        if rng.random() >= 0.12:
            pharmacy = (f"{rng.choice(vocabulary.PHARMACY_NAMES)}, {rng.randint(2, 980)} "
                        f"{rng.choice(vocabulary.STREET_NAMES)}, {town}, {state} — "
                        f"({area_code}) 555-01{rng.randint(0, 99):02d}")
        primary_care = None
        if rng.random() >= 0.1:
            clinician = rng.choice(vocabulary.PRIMARY_CARE_CLINICIANS)
            primary_care = f"{clinician}, {rng.choice(vocabulary.PRIMARY_CARE_CLINICS)}"
        crisis_plan = (
            f"Warning signs: {rng.choice(vocabulary.CRISIS_WARNING_SIGNS)}. "
            f"Coping: {rng.choice(vocabulary.CRISIS_COPING)}. "
            f"Supports: {contact_given} ({relation}) {contact_phone}. "
            "Crisis: call or text 988; 911 for immediate danger. "
            f"Means safety: {rng.choice(vocabulary.CRISIS_MEANS_SAFETY)}."
        )
        consent = None if rng.random() < 0.03 else enrollment.start - timedelta(days=rng.randint(0, 3))
        race, ethnicity, phone = _demographics(chart.patient_id, ancestry, area_code)
        self.rows["patients"].append({
            "id": chart.patient_id,
            "mrn": f"IOP-{chart.patient_id:06d}",
            "given_name": given,
            "family_name": family,
            "date_of_birth": birth,
            "sex": sex,
            "state_of_residence": state,
            "ancestry": ancestry,
            "race": race,
            "ethnicity": ethnicity,
            "phone": phone,
            "program_phase": enrollment.phase,
            "program_start_date": enrollment.start,
            "discharge_date": (chart.date_of(enrollment.discharge_day)
                               if enrollment.discharge_day is not None else None),
            "prescriber_id": plan.prescriber.id,
            "nurse_id": plan.nurse.id,
            "team_id": plan.nurse.team_id,
            "emergency_contact_name": f"{contact_given} {contact_family} ({relation})",
            "emergency_contact_phone": contact_phone,
            "crisis_plan": crisis_plan,
            "telehealth_consent_date": consent,
            "preferred_pharmacy": pharmacy,
            "primary_care_clinician": primary_care,
            "next_visit_due": chart.date_of(next_due) if (next_due := chart.visits[-1].next_due_day) < NEVER else None,
            # Recorded at intake for women of reproductive age; the other inputs of the review stay unknown.
            "pregnancy_status": "not_pregnant" if sex == "female" and birth.year > self.today.year - 51 else None,
            "lactating": None, "benign_ethnic_neutropenia": None, "crcl_ml_min": None, "hepatic_impairment": None,
            "created_at": chart.at(-rng.randint(1, 5), SECONDS_VISIT_DAY_START),
            "version": 1,
        })

    def _add_allergies(self, chart: Chart) -> None:
        rng = self.rng
        roll = rng.random()
        count = 0 if roll < 0.78 else 1 if roll < 0.95 else 2
        recorded_at = chart.at(0, SECONDS_VISIT_DAY_START + 3600)
        options = catalog.ALLERGIES
        storyline_drug = _storyline_drug(chart.plan.scenarios)
        for substance, reaction, severity, _weight in rng.choices(options, weights=[a[3] for a in options], k=count):
            if substance in chart.allergy_substances or substance == storyline_drug:
                continue
            chart.allergy_substances.add(substance)
            self.rows["allergies"].append({
                "id": self.ids.take("allergies"), "patient_id": chart.patient_id, "substance": substance,
                "reaction": reaction, "severity": severity, "recorded_at": recorded_at,
            })

    def _add_diagnoses(self, chart: Chart) -> None:
        recorded_at = chart.at(0, SECONDS_VISIT_DAY_START + 3600)
        for position, code in enumerate(chart.conditions):
            self.rows["diagnoses"].append({
                "id": self.ids.take("diagnoses"), "patient_id": chart.patient_id, "icd10_code": code,
                "description": catalog.DIAGNOSES[code].description, "is_primary": position == 0,
                "recorded_at": recorded_at,
            })

    # ------------------------------------------------------------------------------------------ visits
    def _schedule_visits(self, chart: Chart) -> None:
        rng = self.rng
        enrollment = chart.enrollment
        end_day = enrollment.end_day
        lost_after = NEVER
        active_now = enrollment.phase in ACTIVE_PHASES
        if active_now and (OVERDUE_VISIT in chart.plan.scenarios or rng.random() < LOST_TO_FOLLOW_UP_CHANCE):
            # Lost to follow-up: visits stop early enough that the last "next visit due" date has passed.
            cadence_now = VISIT_CADENCE_DAYS[enrollment.phase_on(end_day)]
            lost_after = end_day - cadence_now - rng.randint(3, 21)
        day = 0
        while day <= end_day and day <= max(lost_after, 0):
            phase = enrollment.phase_on(day)
            cadence = VISIT_CADENCE_DAYS[phase]
            roll = rng.random()
            modality = "video" if roll < 0.8 else "phone" if roll < 0.97 else "in-person"
            chart.visits.append(VisitSlot(
                id=self.ids.take("visits"), day=day,
                at=chart.at(day, SECONDS_VISIT_DAY_START + 900 * int(rng.random() * 34)),
                phase=phase, visit_type="intake" if day == 0 else "follow-up",
                modality="video" if day == 0 else modality, next_due_day=day + cadence,
            ))
            day += cadence + rng.randint(-1, 2)
        if enrollment.discharge_day is not None:
            chart.visits[-1].next_due_day = NEVER

    # ------------------------------------------------------------------------------------- medications
    def _plan_medications(self, chart: Chart) -> None:
        rng = self.rng
        scenarios = chart.plan.scenarios
        chart.trajectory = self._choose_trajectory(chart)
        poor_response = chart.trajectory.kind in ("flat", "worsening")
        primary_condition = catalog.DIAGNOSES[chart.conditions[0]].condition
        slots = chart.visits
        started: set[str] = set()

        first_slot = 0 if len(slots) == 1 or rng.random() < 0.6 else 1
        forced_drug = _storyline_drug(scenarios)
        if forced_drug is not None:
            first_slot = 0
        switch_slot = None
        if poor_response and forced_drug is None and rng.random() < 0.4:
            switch_slot = self._first_slot_from(slots, rng.randint(42, 70))
        primary = self._start_course(chart, primary_condition, first_slot, started, drug=forced_drug,
                                     stop_slot=switch_slot, stop_reason=rng.choice(catalog.STOP_REASONS_NO_RESPONSE),
                                     steps=rng.randint(2, 4) if poor_response else rng.randint(0, 2),
                                     force_red_flag=RED_FLAG_SIDE_EFFECT in scenarios)
        if primary is not None and primary.stop_day is not None:
            # Switch agents where the first one stopped (no response or side effects).
            restart_slot = self._first_slot_from(slots, primary.stop_day)
            if restart_slot is not None:
                self._start_course(chart, primary_condition, restart_slot, started, steps=rng.randint(0, 2))

        for code in chart.conditions[1:]:
            condition = catalog.DIAGNOSES[code].condition
            if condition in ("depression", "anxiety", "ptsd", "ocd") and primary_condition in (
                "depression", "anxiety", "ptsd", "ocd"
            ):
                continue  # one antidepressant covers both
            if rng.random() < 0.55:
                slot = self._first_slot_from(slots, rng.randint(7, 35))
                if slot is not None:
                    # Anxiety alongside bipolar disorder or psychosis: no antidepressant without a clear need.
                    options = (catalog.NON_SEROTONERGIC_ANXIOLYTICS
                               if condition == "anxiety" and primary_condition in ("bipolar", "psychosis") else None)
                    self._start_course(chart, condition, slot, started, options=options, steps=rng.randint(0, 1))

        augmentation = catalog.AUGMENTATION_OPTIONS.get(primary_condition)
        nightmares = primary_condition == "ptsd" and rng.random() < 0.4  # prazosin for trauma nightmares
        if augmentation and (nightmares or (poor_response and rng.random() < 0.35)):
            slot = self._first_slot_from(slots, rng.randint(21, 56))
            if slot is not None:
                self._start_course(chart, primary_condition, slot, started, options=augmentation,
                                   steps=rng.randint(0, 2))

        if (primary_condition in ("anxiety", "ptsd", "depression") and rng.random() < 0.06
                and not {"opioid", "alcohol"} & {catalog.DIAGNOSES[c].condition for c in chart.conditions}):
            # Short benzodiazepine bridges while an SSRI takes effect; most are tapered off.
            slot = self._first_slot_from(slots, rng.randint(0, 14))
            if slot is not None:
                taper_day = rng.randint(28, 56) if rng.random() < 0.6 else None
                stop_slot = self._first_slot_from(slots, taper_day) if taper_day is not None else None
                self._start_course(chart, "anxiety", slot, started, options=catalog.BENZODIAZEPINES, steps=0,
                                   stop_slot=stop_slot, stop_reason=catalog.STOP_REASON_BENZO_TAPER)
        self._add_outside_medications(chart)
        if chart.enrollment.discharge_day is not None:
            self._stop_at_discharge(chart)

    def _choose_trajectory(self, chart: Chart) -> Trajectory:
        rng = self.rng
        condition = catalog.DIAGNOSES[chart.conditions[0]].condition
        (phq_low, phq_high), (gad_low, gad_high) = BASELINE_BY_CONDITION.get(condition, ((9, 16), (8, 15)))
        kind = _weighted(rng, TRAJECTORIES)
        if SELF_HARM_NOW in chart.plan.scenarios:
            kind = rng.choice(("worsening", "relapse", "flat"))
        weeks = chart.enrollment.end_day / 7
        relapse_week = max(1.0, weeks - rng.uniform(1, 4))
        return Trajectory(kind, rng.uniform(phq_low, phq_high), rng.uniform(gad_low, gad_high),
                          rng.uniform(0.1, 0.4), rng.uniform(3, 8), relapse_week)

    @staticmethod
    def _first_slot_from(slots: list[VisitSlot], day: int | None) -> int | None:
        if day is None:
            return None
        for index, slot in enumerate(slots):
            if slot.day >= day:
                return index
        return None

    def _resolve_drug(self, chart: Chart, options: Sequence[tuple[str, float]], started: set[str],
                      drug: str | None) -> tuple[str, Any] | None:
        """(catalog name, formulary entry) for one of ``options``, avoiding allergies, duplicates and
        dangerous pairs; ``drug`` forces a choice (storylines)."""
        if drug is not None:
            entry = self.formulary.get(drug)
            return (drug, entry) if entry is not None else None
        available = []
        for name, weight in options:
            entry = self.formulary.get(name)
            if entry is None or entry.name in started or name in started:
                continue
            if self.rules.allergic(entry.name, chart.allergy_substances):
                continue  # the same drug or a cross-reacting one is on the allergy list
            if any(self.rules.contraindicated(entry.name, other) for other in started):
                continue  # e.g. naltrexone with buprenorphine (precipitated withdrawal)
            available.append(((name, entry), weight))
        if not available:
            return None
        return self.rng.choices([choice for choice, _ in available], weights=[w for _, w in available])[0]

    def _regimen(self, key: str, entry: Any, daily_mg: float) -> tuple[float, str, int]:
        """(dose per administration, frequency, times per day) for a daily dose."""
        preferred = catalog.FREQUENCY_BY_DRUG.get(key, "once daily")
        times = catalog.TIMES_PER_DAY[preferred]
        ladder = self.formulary.ladder(entry)
        if times > 1 and daily_mg < 2 * ladder[0]:
            # Starting doses are given once; split dosing begins when the dose is large enough to split.
            preferred = "at bedtime" if key in SEDATING_SINGLE_DOSE else "once daily"
            times = 1
        frequency = self.rules.allowed_frequency(preferred, times)
        return round(daily_mg / times, 3), frequency, times

    def _usable_ladder(self, chart: Chart, key: str, entry: Any, formulation: str, indication: str) -> list[float]:
        """Ladder rungs ``clinical.check_dose`` accepts for this patient (age-specific maxima included)."""
        usable = []
        for daily in self.formulary.ladder(entry):
            dose, frequency, times = self._regimen(key, entry, daily)
            actual_daily = self.rules.daily_dose_mg(dose, entry.dose_unit, frequency, times)
            if self.rules.dose_ok(entry.name, actual_daily, chart.age_years, formulation, indication):
                usable.append(daily)
        return usable

    def _start_course(self, chart: Chart, condition: str, first_slot: int, started: set[str], *,
                      options: Sequence[tuple[str, float]] | None = None, drug: str | None = None,
                      steps: int = 1, stop_slot: int | None = None, stop_reason: str | None = None,
                      force_red_flag: bool = False) -> Course | None:
        """Start a medicine at a visit and titrate it at later visits along the formulary ladder."""
        rng = self.rng
        if first_slot >= len(chart.visits):
            return None
        choice = self._resolve_drug(chart, options or catalog.TREATMENT_OPTIONS.get(condition, ()), started, drug)
        if choice is None:
            return None
        key, entry = choice
        indication = _indication(chart, condition)
        formulation = "sublingual film" if key.startswith("buprenorphine") else "tablet"
        ladder = self._usable_ladder(chart, key, entry, formulation, indication)
        if not ladder:
            return None
        started.update((key, entry.name))
        slots = chart.visits
        usual_start = float(entry.usual_start_daily_mg) if entry.usual_start_daily_mg is not None else ladder[0]
        index = next((i for i, dose in enumerate(ladder) if dose >= usual_start - 1e-9), len(ladder) - 1)
        target = min(len(ladder) - 1, index + max(steps, 0))
        if key == "clozapine":
            target = max(target, min(len(ladder) - 1, index + 4))  # clozapine needs several steps to work
        start_slot = slots[first_slot]
        course = Course(
            id=self.ids.take("prescriptions"), key=key, drug=entry.name, rxnorm=getattr(entry, "rxnorm", None),
            entry=entry, indication=indication, is_psychiatric=True, unit=entry.dose_unit,
            route="sublingual" if key.startswith("buprenorphine") else "oral", formulation=formulation,
            start_day=start_slot.day, start_date=chart.date_of(start_slot.day),
            schedule=self.rules.schedule(entry.name),
        )
        chart.courses.append(course)
        self._change_dose(chart, course, start_slot, "start", ladder[index], "Initiated for " + course.indication)
        gap = 14 if key in SLOW_TITRATION else 7
        last_change_day = start_slot.day
        red_flag_symptoms = tuple(getattr(entry, "red_flag_side_effects", ()) or ())
        red_flag_slot = None
        if red_flag_symptoms and (force_red_flag or rng.random() < 0.01):
            red_flag_slot = first_slot + (1 if force_red_flag else rng.randint(1, 3))
        side_effect_slot = first_slot + 1 if rng.random() < 0.3 else None
        for slot_index in range(first_slot + 1, len(slots)):
            slot = slots[slot_index]
            if stop_slot is not None and slot_index >= stop_slot:
                self._stop(chart, course, slot, stop_reason or "Stopped")
                break
            if slot_index == red_flag_slot:
                symptom = rng.choice(red_flag_symptoms)
                self._report_side_effect(chart, course, slot, symptom, "severe" if rng.random() < 0.7 else "moderate")
                self._stop(chart, course, slot, f"Red-flag side effect ({symptom}); discontinued immediately")
                break
            if slot_index == side_effect_slot:
                severity = _weighted(rng, (("mild", 68), ("moderate", 25), ("severe", 7)))
                self._report_side_effect(chart, course, slot, self._common_symptom(course), severity)
                if severity == "severe":
                    self._stop(chart, course, slot, rng.choice(catalog.STOP_REASONS_SIDE_EFFECT))
                    break
                if severity == "moderate" and index > 0 and rng.random() < 0.4:
                    index -= 1
                    target = index
                    self._change_dose(chart, course, slot, "decrease", ladder[index],
                                      "Reduced for side effects; will reassess")
                    last_change_day = slot.day
                    continue
            if index < target and slot.day - last_change_day >= gap:
                index += 1
                self._change_dose(chart, course, slot, "increase", ladder[index],
                                  "Partial response; titrating toward target dose")
                last_change_day = slot.day
                if side_effect_slot is None and rng.random() < 0.12:
                    side_effect_slot = slot_index + 1
        return course

    def _common_symptom(self, course: Course) -> str:
        """An ordinary side effect of the drug's class, never one of its red-flag symptoms."""
        symptoms = self._common_symptoms.get(course.drug)
        if symptoms is None:
            entry = course.entry
            name, drug_class = course.key, str(getattr(entry, "drug_class", "")).lower()
            if name == "lithium":
                key = "lithium"
            elif getattr(entry, "is_antipsychotic", False):
                key = "antipsychotic"
            elif "stimulant" in drug_class:
                key = "stimulant"
            elif "benzodiazepine" in drug_class:
                key = "benzodiazepine"
            elif name.startswith("buprenorphine"):
                key = "opioid"
            elif getattr(entry, "is_antidepressant", False):
                key = "antidepressant"
            else:
                key = "default"
            symptoms = [symptom for symptom in vocabulary.SIDE_EFFECT_SYMPTOMS_BY_CLASS[key]
                        if self.rules.side_effect_flag(course.drug, symptom, "mild") is None]
            symptoms = symptoms or ["fatigue"]
            self._common_symptoms[course.drug] = symptoms
        return self.rng.choice(symptoms)

    def _change_dose(self, chart: Chart, course: Course, slot: VisitSlot, change_type: str, daily_mg: float,
                     reason: str) -> None:
        dose, frequency, times = self._regimen(course.key, course.entry, daily_mg)
        daily = self.rules.daily_dose_mg(dose, course.unit, frequency, times)
        course.change_rows.append({
            "id": self.ids.take("dose_changes"), "prescription_id": course.id, "patient_id": chart.patient_id,
            "changed_at": slot.at + timedelta(minutes=25), "change_type": change_type, "drug": course.drug,
            "old_dose": course.dose if change_type != "start" else None, "new_dose": dose, "unit": course.unit,
            "old_frequency": course.frequency if change_type != "start" else None, "new_frequency": frequency,
            "old_daily_mg": course.daily_mg if change_type != "start" else None, "new_daily_mg": daily,
            "reason": reason, "override_reason": None, "author_id": chart.plan.prescriber.id,
        })
        verb = {"start": "Start", "increase": "Increase", "decrease": "Decrease"}[change_type]
        slot.plan_items.append(f"{verb} {course.drug} {_fmt(dose)} {course.unit} {frequency}.")
        course.dose, course.frequency, course.times_per_day, course.daily_mg = dose, frequency, times, daily

    def _stop(self, chart: Chart, course: Course, slot: VisitSlot | None, reason: str, day: int | None = None) -> None:
        stop_day = slot.day if slot is not None else day
        assert stop_day is not None
        changed_at = slot.at + timedelta(minutes=25) if slot is not None else chart.at(stop_day, 20 * 3600)
        course.change_rows.append({
            "id": self.ids.take("dose_changes"), "prescription_id": course.id, "patient_id": chart.patient_id,
            "changed_at": changed_at, "change_type": "stop", "drug": course.drug, "old_dose": course.dose,
            "new_dose": None, "unit": course.unit, "old_frequency": course.frequency, "new_frequency": None,
            "old_daily_mg": course.daily_mg, "new_daily_mg": None, "reason": reason, "override_reason": None,
            "author_id": chart.plan.prescriber.id,
        })
        course.stop_day, course.stop_reason = stop_day, reason
        if slot is not None:
            slot.plan_items.append(f"Stop {course.drug}: {reason.lower()}.")

    def _report_side_effect(self, chart: Chart, course: Course, slot: VisitSlot, symptom: str, severity: str) -> None:
        report_id = self.ids.take("side_effect_reports")
        reported_at = slot.at + timedelta(minutes=15)
        self.rows["side_effect_reports"].append({
            "id": report_id, "patient_id": chart.patient_id, "prescription_id": course.id, "drug": course.drug,
            "symptom": symptom, "severity": severity, "reported_at": reported_at, "source": "visit",
            "visit_id": slot.id, "note": f"Reports {severity} {symptom} since starting/adjusting {course.drug}.",
        })
        finding = self.rules.side_effect_flag(course.drug, symptom, severity)
        if finding is not None:
            chart.findings.append(PendingFinding(reported_at, finding, "side_effect_reports", report_id,
                                                 raised_by=chart.plan.prescriber.id))

    def _add_outside_medications(self, chart: Chart) -> None:
        rng = self.rng
        if rng.random() >= 0.25:
            return
        drugs = {course.key for course in chart.courses}
        if "lithium" in drugs:
            pool = catalog.OUTSIDE_MEDICATION_BY_DRUG_CLASS["lithium"]
        elif any(c.entry is not None and getattr(c.entry, "is_antipsychotic", False) for c in chart.courses):
            pool = catalog.OUTSIDE_MEDICATION_BY_DRUG_CLASS["antipsychotic"]
        elif any(c.entry is not None and getattr(c.entry, "is_antidepressant", False) for c in chart.courses):
            pool = catalog.OUTSIDE_MEDICATION_BY_DRUG_CLASS["serotonergic"]
        else:
            pool = catalog.OUTSIDE_MEDICATION_BY_DRUG_CLASS["other"]
        chosen = {_weighted(rng, pool) for _ in range(1 if rng.random() < 0.7 else 2)}
        intake = chart.visits[0]
        psychiatric = [course.drug for course in chart.courses]
        for name in sorted(chosen):
            if any(self.rules.contraindicated(name, drug) for drug in psychiatric):
                continue  # a prescriber would not leave that pair in place (e.g. tramadol with naltrexone)
            medication = catalog.OUTSIDE_MEDICATIONS[name]
            times = catalog.TIMES_PER_DAY[medication.frequency]
            frequency = self.rules.allowed_frequency(medication.frequency, times)
            dose, unit = self.rules.allowed_dose_unit(medication.dose, medication.unit)
            daily = self.rules.daily_dose_mg(dose, unit, frequency, times)
            start_day = -rng.randint(60, 1500)  # prescribed by primary care long before the program
            course = Course(
                id=self.ids.take("prescriptions"), key=name, drug=name, rxnorm=medication.rxnorm, entry=None,
                indication=medication.indication, is_psychiatric=False, unit=unit, route="oral",
                formulation="tablet", start_day=start_day, start_date=chart.date_of(start_day),
                dose=dose, frequency=frequency, times_per_day=times, daily_mg=daily,
            )
            course.change_rows.append({
                "id": self.ids.take("dose_changes"), "prescription_id": course.id, "patient_id": chart.patient_id,
                "changed_at": intake.at + timedelta(minutes=40), "change_type": "start", "drug": name,
                "old_dose": None, "new_dose": dose, "unit": unit, "old_frequency": None,
                "new_frequency": frequency, "old_daily_mg": None, "new_daily_mg": daily,
                "reason": "Outside medication (primary care) recorded at intake medication reconciliation",
                "override_reason": None, "author_id": chart.plan.prescriber.id,
            })
            chart.courses.append(course)

    def _stop_at_discharge(self, chart: Chart) -> None:
        discharge_day = chart.enrollment.discharge_day
        assert discharge_day is not None
        last_visit = chart.visits[-1] if chart.visits[-1].day == discharge_day else None
        for course in chart.courses:
            if course.is_psychiatric and course.stop_day is None:
                self._stop(chart, course, last_visit, catalog.STOP_REASON_DISCHARGE, day=discharge_day)

    # ------------------------------------------------------------------------------------- assessments
    def _add_assessments(self, chart: Chart) -> None:
        rng = self.rng
        scores = self.scores
        enrollment = chart.enrollment
        trajectory = chart.trajectory
        assert trajectory is not None
        end_day = enrollment.end_day
        slots = chart.visits
        slot_cursor = 0
        previous: dict[str, int | None] = {"PHQ-9": None, "GAD-7": None}
        visits_stopped_day = slots[-1].day + VISIT_CADENCE_DAYS[slots[-1].phase]
        rows = self.rows["assessments"]
        entered_by = chart.plan.prescriber.id
        mrn = f"IOP-{chart.patient_id:06d}"
        worsening_story = trajectory.kind in ("worsening", "relapse")
        self_harm_now = SELF_HARM_NOW in chart.plan.scenarios
        week_days = list(range(0, end_day + 1, 7))
        if self_harm_now and end_day - week_days[-1] >= 3:
            week_days.append(end_day)  # the storyline's newest score arrived last night
        last_week = len(week_days) - 1
        for week, week_start in enumerate(week_days):
            slot = None
            week_end = week_days[week + 1] if week < last_week else week_start + 7
            while slot_cursor < len(slots) and slots[slot_cursor].day < week_start:
                slot_cursor += 1
            if slot_cursor < len(slots) and slots[slot_cursor].day < week_end and rng.random() < 0.85:
                slot = slots[slot_cursor]
            if week == last_week and self_harm_now:
                slot = None
            if slot is not None:
                day, administered_at, source, visit_id = slot.day, slot.at + timedelta(minutes=10), "visit", slot.id
            else:
                phase = enrollment.phase_on(week_start)
                skip = 0.5 if week_start > visits_stopped_day else SELF_REPORT_SKIP[phase]
                if week > 0 and week != last_week and rng.random() < skip:
                    continue
                day = min(week_start + int(rng.random() * 3), end_day, week_end - 1)
                if week == last_week and self_harm_now:
                    day = end_day
                administered_at = chart.at(day, SECONDS_EVENING + 900 * int(rng.random() * 7))
                source, visit_id = "self-report", None
            weeks_in = day / 7.0
            for instrument, baseline in (("PHQ-9", trajectory.phq_baseline), ("GAD-7", trajectory.gad_baseline)):
                expected = trajectory.expected(baseline, weeks_in)
                total = max(0, round(expected + rng.gauss(0, 1.6)))
                self_harm_item = 0
                if instrument == "PHQ-9":
                    if self_harm_now and week == last_week:
                        self_harm_item = 1 if rng.random() < 0.7 else 2
                        total = max(total, 15)
                    elif (week <= 1 and total >= 12 and rng.random() < 0.06) or (
                        worsening_story and total >= 15 and rng.random() < 0.08
                    ):
                        self_harm_item = 1  # passive death wishes: common at intake and when worsening
                pattern = scores.pick(rng, instrument, total, self_harm_item)
                score = pattern.score
                assessment_id = self.ids.take("assessments")
                rows.append({
                    "id": assessment_id, "patient_id": chart.patient_id, "instrument": instrument,
                    "answers": pattern.answers_json, "total": score.total, "severity": score.severity,
                    "administered_at": administered_at, "source": source, "visit_id": visit_id,
                    "entered_by_id": entered_by if source == "visit" else None,
                    # The patient portal's response id: what a re-import would be deduplicated on.
                    "external_id": f"portal:{mrn}:{assessment_id}" if source == "self-report" else None,
                    "supersedes_id": None,  # the seeded history has no corrected self-reports
                    "retracted_at": None,  # nor reports withdrawn as entered in error
                    "retracted_reason": None,
                    "retracted_by_id": None,
                    "created_at": administered_at + timedelta(minutes=1),
                })
                for finding in scores.flags(pattern, previous[instrument]):
                    chart.findings.append(PendingFinding(
                        administered_at, finding, "assessments", assessment_id,
                        force_open=self_harm_now and week == last_week,
                        raised_by=entered_by if source == "visit" else None,
                    ))
                previous[instrument] = score.total
                if slot is not None:
                    if instrument == "PHQ-9":
                        slot.phq = pattern
                    else:
                        slot.gad = pattern

    # ------------------------------------------------------------------------------------ visit rows
    def _add_visit_rows(self, chart: Chart) -> None:
        rng = self.rng
        rows = self.rows["visits"]
        prescriber_id = chart.plan.prescriber.id
        on_antipsychotic = any(c.entry is not None and getattr(c.entry, "is_antipsychotic", False)
                               for c in chart.courses)
        baseline_phq = None
        for slot in chart.visits:
            phq, gad = slot.phq, slot.gad
            if baseline_phq is None and phq is not None:
                baseline_phq = phq.score.total
            assessment_note = _assessment_note(rng, phq, gad, baseline_phq)
            plan_items = slot.plan_items or ["Continue current medications; adherence reviewed."]
            weeks = (slot.next_due_day - slot.day) // 7 if slot.next_due_day < NEVER else None
            follow_up = (f"Next visit in {weeks} week{'s' if weeks != 1 else ''}." if weeks
                         else "Discharge summary sent to community prescriber.")
            weight = None
            if slot.modality != "phone" and rng.random() < 0.45:
                gain = 0.08 * slot.day / 7 if on_antipsychotic else 0.0
                weight = round(chart.weight_kg + gain + rng.gauss(0, 0.6), 1)
            has_bp = rng.random() < 0.3
            missed_roll = rng.random()
            missed_doses = 0 if missed_roll < 0.8 else 1 if missed_roll < 0.92 else 2 if missed_roll < 0.97 else \
                rng.randint(3, 5)
            if missed_doses:
                finding = self.rules.missed_doses_flag(missed_doses)
                if finding is not None:
                    chart.findings.append(PendingFinding(slot.at, finding, "visits", slot.id,
                                                         raised_by=prescriber_id))
            details = None
            if slot.visit_type == "intake":
                details = {
                    "history": "Referred from primary care for intensive outpatient treatment; "
                               f"{len(chart.conditions)} active diagnoses reviewed.",
                    "reconciliation": [
                        {"drug": c.drug, "dose": c.dose, "unit": c.unit, "frequency": c.frequency,
                         "source": "outside" if not c.is_psychiatric else "program"}
                        for c in chart.courses if c.start_day <= 0
                    ],
                    "plan": "IOP groups 3x weekly; weekly prescriber visits; PHQ-9/GAD-7 weekly.",
                }
            rows.append({
                "id": slot.id, "patient_id": chart.patient_id, "clinician_id": prescriber_id,
                "visit_type": slot.visit_type, "visit_at": slot.at, "modality": slot.modality,
                "duration_minutes": 60 if slot.visit_type == "intake" else (20 if slot.modality == "phone" else 30),
                "missed_doses": missed_doses,
                "weight_kg": weight,
                "bp_systolic": rng.randint(104, 142) if has_bp else None,
                "bp_diastolic": rng.randint(64, 92) if has_bp else None,
                # Height once, at intake (a stable synthetic value: no draw from the generator's sequence).
                "height_cm": 152.0 + (chart.patient_id * 37) % 38 if slot.visit_type == "intake" else None,
                "waist_cm": None,
                # Heart rate with the blood pressure, from the visit id (no draw from the generator's sequence).
                "heart_rate": 58 + (slot.id * 7919) % 40 if has_bp else None,
                "assessment_note": assessment_note, "plan_note": " ".join([*plan_items, follow_up]),
                "details": details,
                "next_visit_due": chart.date_of(slot.next_due_day) if slot.next_due_day < NEVER else None,
                "created_at": slot.at + timedelta(minutes=45),
            })

    # -------------------------------------------------------------------------------------------- labs
    def _add_labs(self, chart: Chart) -> None:
        """Order monitoring labs the way the app does, in time order, and decide what became of each.

        Triggers are medication starts and dose changes (events "start"/"dose_change") and every visit for
        each active medicine ("maintenance", ordered when due within two weeks). As in
        ``db.commands.labs.order_labs``, a test already pending for the patient is not ordered again.
        """
        rng = self.rng
        today = self.today
        grace = timedelta(days=self.lab_grace_days)
        end_date = chart.date_of(chart.enrollment.end_day)
        discharged = chart.enrollment.discharge_day is not None
        triggers: list[tuple[datetime, int, Course, str]] = []
        for position, course in enumerate(chart.courses):
            if not course.is_psychiatric:
                continue
            for change in course.change_rows:
                event = LAB_EVENT_FOR_CHANGE.get(change["change_type"])
                if event is not None:
                    triggers.append((change["changed_at"] + timedelta(minutes=5), position, course, event))
            if self.rules.has_maintenance_labs(course.drug, course.start_date):
                for slot in chart.visits:
                    if course.start_day < slot.day and (course.stop_day is None or slot.day < course.stop_day):
                        triggers.append((slot.at + timedelta(minutes=30), position, course, "maintenance"))
        triggers.sort(key=lambda trigger: (trigger[0], trigger[1]))

        orders: list[dict[str, Any]] = []
        collected: dict[int, date] = {}
        # test -> date the pending order stopped being pending (resulted/cancelled); None = still pending
        pending_until: dict[str, date | None] = {}
        forced_overdue = OVERDUE_LAB in chart.plan.scenarios
        # Labs ordered together are drawn together: one "did the patient get to the lab?" per order day.
        draw_skipped: dict[date, bool] = {}
        for ordered_at, _position, course, event in triggers:
            on = ordered_at.date()
            weeks_on = max(0, (on - course.start_date).days // 7)
            # The patient row records pregnancy status "not pregnant" for women of reproductive age (see above).
            for due in self.rules.monitoring_labs(
                course.drug, event, on, weeks_on, chart.ancestry, sex=chart.sex, age=chart.age_years,
                pregnant=False if chart.sex == "female" and chart.age_years < 51 else None,
            ):
                if event == "maintenance" and due.due_by > on + timedelta(days=14):
                    continue
                if due.test in pending_until:
                    until = pending_until[due.test]
                    if until is None or until > on:
                        continue  # the same test is already on order
                order = {
                    "id": self.ids.take("lab_orders"), "patient_id": chart.patient_id, "test": due.test,
                    "loinc": getattr(due, "loinc", None), "reason": str(due.reason)[:300], "drug": course.drug,
                    "prescription_id": course.id, "ordered_at": ordered_at, "due_by": due.due_by,
                    "status": "pending", "ordered_by_id": chart.plan.prescriber.id, "version": 1,
                }
                orders.append(order)
                due_by: date = due.due_by
                stop_date = chart.date_of(course.stop_day) if course.stop_day is not None else None
                closed_on: date | None = None
                if on not in draw_skipped:
                    draw_skipped[on] = rng.random() < LAB_DRAW_SKIPPED_CHANCE
                days_past_due = (today - due_by).days
                if due_by >= today:
                    pass  # not due yet
                elif stop_date is not None and stop_date < due_by:
                    order["status"], closed_on = "cancelled", stop_date  # the medicine was stopped first
                elif forced_overdue and days_past_due > self.lab_grace_days + 1 and days_past_due <= 60:
                    forced_overdue = False  # the storyline's overdue lab: never drawn
                elif days_past_due > 60 or not draw_skipped[on]:
                    late = rng.random() < 0.15
                    drawn = (due_by + timedelta(days=rng.randint(8, 20)) if late
                             else due_by - timedelta(days=rng.randint(0, 5)))
                    drawn = max(on, min(drawn, end_date, today - timedelta(days=1)))
                    order["status"], closed_on = "resulted", drawn
                    collected[order["id"]] = drawn
                elif not discharged:
                    pass  # still pending: overdue once the grace period has passed
                else:
                    order["status"], closed_on = "cancelled", min(due_by + timedelta(days=7), end_date)
                pending_until[due.test] = closed_on
        if not orders:
            return
        if forced_overdue:
            # No order fell in the recent window: leave the newest past-due order undrawn instead.
            past_due = [o for o in orders if o["due_by"] + grace < today - timedelta(days=1)
                        and o["status"] != "cancelled"]
            if past_due:
                past_due[-1]["status"] = "pending"
                collected.pop(past_due[-1]["id"], None)
        forced_critical_id = None
        if CRITICAL_LITHIUM in chart.plan.scenarios:
            lithium_orders = [o for o in orders if "lithium" in o["test"].lower() and o["due_by"] < today
                              and o["status"] != "cancelled"]
            if lithium_orders:
                chosen = lithium_orders[-1]
                if chosen["status"] != "resulted":
                    chosen["status"] = "resulted"
                    collected[chosen["id"]] = max(chosen["ordered_at"].date(),
                                                  min(chosen["due_by"], today - timedelta(days=1)))
                forced_critical_id = chosen["id"]
        chart.lab_orders = orders
        for order in orders:
            self.rows["lab_orders"].append(order)
            if order["status"] == "resulted":
                collected_on = collected[order["id"]]
                self._add_result(chart, order, collected_on, critical=order["id"] == forced_critical_id)
                if collected_on > order["due_by"] + grace:
                    # It was overdue for a while before it was drawn: that flag was raised, then resolved.
                    self._overdue_finding(chart, order, closes_at=datetime.combine(collected_on, time(15)))
            elif order["status"] == "pending" and order["due_by"] + grace < today:
                self._overdue_finding(chart, order, closes_at=None)

    def _overdue_finding(self, chart: Chart, order: dict[str, Any], closes_at: datetime | None) -> None:
        check_on = closes_at.date() if closes_at is not None else self.today
        finding = clinical.flag_for_overdue_lab(order["test"], order["due_by"], on=check_on,
                                                grace_days=self.lab_grace_days)
        if finding is None:
            return
        raised_at = min(datetime.combine(order["due_by"] + timedelta(days=self.lab_grace_days + 1), time(11)),
                        self.as_of - timedelta(hours=2))
        if closes_at is not None and closes_at <= raised_at:
            return
        chart.findings.append(PendingFinding(raised_at, finding, "lab_orders", order["id"], closes_at=closes_at,
                                             persists=closes_at is None))

    def _add_result(self, chart: Chart, order: dict[str, Any], collected_on: date, *, critical: bool) -> None:
        rng = self.rng
        test = self.labs.get(order["test"])
        if test is None:
            return
        value = 1.6 if critical and "lithium" in test.name.lower() else _lab_value(rng, test, critical=critical)
        verdict = clinical.classify_lab_result(test.name, value, ref_low=test.ref_low, ref_high=test.ref_high)
        result_id = self.ids.take("lab_results")
        entered_at = min(datetime.combine(collected_on + timedelta(days=1), time(15, int(rng.random() * 60))),
                         self.as_of - timedelta(minutes=30))
        self.rows["lab_results"].append({
            "id": result_id, "lab_order_id": order["id"], "patient_id": chart.patient_id, "test": test.name,
            "loinc": test.loinc, "value": value, "unit": test.unit, "ref_low": test.ref_low,
            "ref_high": test.ref_high, "interpretation": verdict.interpretation,
            "is_abnormal": bool(verdict.abnormal), "is_critical": bool(verdict.critical),
            "collected_on": collected_on, "entered_at": entered_at, "entered_by_id": chart.plan.nurse.id,
        })
        if verdict.abnormal or verdict.critical:
            finding = clinical.flag_for_lab_result(test.name, value, ref_low=test.ref_low, ref_high=test.ref_high)
            if finding is not None:
                chart.findings.append(PendingFinding(entered_at, finding, "lab_results", result_id,
                                                     raised_by=chart.plan.nurse.id))

    # ------------------------------------------------------------------------------- fills and refills
    def _add_fills_and_refills(self, chart: Chart) -> None:
        """Monthly fills; each refill after the first comes from an approved request (filled the day it is
        approved, as ``db.commands.refills`` does). The newest cycle may have a pending, held or early request."""
        rng = self.rng
        end_day = chart.enrollment.end_day
        prescriber_id = chart.plan.prescriber.id
        for course in chart.courses:
            if not course.is_psychiatric:
                continue  # filled at the patient's own pharmacy on the outside prescriber's orders
            quantity = course.times_per_day * DAYS_SUPPLY
            last_day = course.stop_day if course.stop_day is not None else end_day
            controlled = course.schedule is not None
            early_story = (EARLY_CONTROLLED_REFILL in chart.plan.scenarios and controlled
                           and course.stop_day is None)
            fill_days = [course.start_day]
            if early_story:
                # Anchor the newest fill 8-13 days ago so that last night's request is clearly early.
                anchor = end_day - rng.randint(8, 13)
                first = anchor - DAYS_SUPPLY * max(0, (anchor - course.start_day - 20) // DAYS_SUPPLY)
                fill_days = sorted({course.start_day, *range(first, anchor + 1, DAYS_SUPPLY)})
            else:
                # Requests arrive in the last days of the supply (not early) and are filled within 0-2 days.
                while True:
                    request_after = DAYS_SUPPLY - REFILL_TOLERANCE_DAYS + rng.randint(0, 3)
                    next_day = fill_days[-1] + request_after + rng.randint(0, 2)
                    if next_day > last_day:
                        break
                    fill_days.append(next_day)
            previous_fill: int | None = None
            for fill_day in fill_days:
                request_id = None
                fill_seconds = 14 * 3600 + 900 * int(rng.random() * 28)
                if previous_fill is not None:
                    request_day = max(previous_fill + DAYS_SUPPLY - REFILL_TOLERANCE_DAYS,
                                      fill_day - rng.randint(0, 2))
                    request_day = min(request_day, fill_day)
                    requested_at = chart.at(request_day, 12 * 3600 + 900 * int(rng.random() * 8))
                    decided_at = max(chart.at(fill_day, fill_seconds), requested_at + timedelta(minutes=30))
                    request_id = self._add_refill_request(
                        chart, course, requested_at, previous_fill, quantity, status="approved",
                        decided_at=decided_at, decided_by=prescriber_id,
                        reason="Refill approved; adherence and response reviewed",
                    )
                    fill_seconds = (decided_at - chart.at(fill_day, 0)).seconds
                self.rows["prescription_fills"].append({
                    "id": self.ids.take("prescription_fills"), "prescription_id": course.id,
                    "refill_request_id": request_id, "filled_on": chart.date_of(fill_day), "quantity": quantity,
                    "days_supply": DAYS_SUPPLY,
                    "recorded_at": min(chart.at(fill_day, fill_seconds + 60), self.as_of - timedelta(minutes=1)),
                })
                previous_fill = fill_day
            last_fill = fill_days[-1]
            course.last_fill_date = chart.date_of(last_fill)
            if course.stop_day is not None:
                continue
            if early_story or (controlled and rng.random() < 0.04):
                request_day = end_day if early_story else max(last_fill, min(last_fill + rng.randint(8, 14), end_day))
                requested_at = chart.at(request_day, 14 * 3600 + 900 * int(rng.random() * 30))
                if early_story or end_day - request_day <= 4:
                    self._add_refill_request(chart, course, requested_at, last_fill, quantity, status="pending")
                else:
                    self._add_refill_request(
                        chart, course, requested_at, last_fill, quantity, status="denied",
                        decided_at=requested_at + timedelta(hours=rng.randint(2, 30)), decided_by=prescriber_id,
                        reason="Early request for a controlled substance; PDMP reviewed; "
                               f"next fill due {chart.date_of(last_fill + DAYS_SUPPLY).isoformat()}",
                    )
            elif end_day - last_fill >= DAYS_SUPPLY - REFILL_TOLERANCE_DAYS and rng.random() < 0.85:
                # The newest cycle's request, not decided yet; now and then a day or two early.
                earliest = DAYS_SUPPLY - REFILL_TOLERANCE_DAYS - (2 if rng.random() < 0.1 else 0)
                request_day = rng.randint(last_fill + earliest, end_day)
                requested_at = chart.at(request_day, 13 * 3600 + 900 * int(rng.random() * 36))
                overdue = self._overdue_labs_for(chart, course.drug, requested_at.date())
                if overdue:
                    # The app refuses to approve while the drug's monitoring lab is overdue: the request waits.
                    lab = overdue[0]
                    self._add_refill_request(
                        chart, course, requested_at, last_fill, quantity, status="on_hold",
                        decided_at=requested_at + timedelta(hours=rng.randint(1, 8)), decided_by=prescriber_id,
                        reason=f"On hold: {lab['test']} was due {lab['due_by'].isoformat()}; "
                               "the refill waits for the result.",
                    )
                elif rng.random() < 0.92:
                    self._add_refill_request(chart, course, requested_at, last_fill, quantity, status="pending")
                else:
                    self._add_refill_request(
                        chart, course, requested_at, last_fill, quantity, status="on_hold",
                        decided_at=requested_at + timedelta(hours=rng.randint(1, 8)), decided_by=prescriber_id,
                        reason="On hold until the follow-up visit is completed",
                    )

    def _overdue_labs_for(self, chart: Chart, drug: str, on: date) -> list[dict[str, Any]]:
        """Monitoring labs for ``drug`` still pending and past due on ``on`` (mirrors overdue_required_labs)."""
        return [order for order in chart.lab_orders
                if order["drug"] == drug and order["status"] == "pending" and order["due_by"] < on]

    def _add_refill_request(self, chart: Chart, course: Course, requested_at: datetime, last_fill_day: int,
                            quantity: int, *, status: str, decided_at: datetime | None = None,
                            decided_by: int | None = None, reason: str | None = None) -> int:
        request_id = self.ids.take("refill_requests")
        last_fill = chart.date_of(last_fill_day)
        requested_on = requested_at.date()
        is_early = bool(clinical.refill_is_early(last_fill, DAYS_SUPPLY, requested_on))
        controlled = course.schedule is not None
        if decided_at is not None:
            decided_at = min(decided_at, self.as_of - timedelta(minutes=5))
        final = status in ("approved", "denied")
        self.rows["refill_requests"].append({
            "id": request_id, "patient_id": chart.patient_id, "prescription_id": course.id,
            "requested_at": requested_at, "source": "pharmacy" if self.rng.random() < 0.7 else "patient",
            "quantity": quantity, "days_supply": DAYS_SUPPLY, "is_early": is_early, "status": status,
            "decision_reason": reason, "approved_quantity": quantity if status == "approved" else None,
            # The prescription-monitoring-program check is attested for controlled substances only.
            "pdmp_checked": (True if controlled and decided_at is not None else None),
            "decided_by_id": decided_by, "decided_at": decided_at,
            "version": 1 if decided_at is None else 2,
        })
        if is_early or not final:
            finding = clinical.flag_for_refill_request(course.drug, last_fill=last_fill, days_supply=DAYS_SUPPLY,
                                                       requested_on=requested_on)
            if finding is not None:
                chart.findings.append(PendingFinding(
                    requested_at, finding, "refill_requests", request_id,
                    closes_at=decided_at if final else None, persists=not final,
                    force_open=EARLY_CONTROLLED_REFILL in chart.plan.scenarios and not final,
                ))
        return request_id

    def _add_course_rows(self, chart: Chart) -> None:
        prescriptions = self.rows["prescriptions"]
        dose_changes = self.rows["dose_changes"]
        for course in chart.courses:
            prescriptions.append({
                "id": course.id, "patient_id": chart.patient_id, "drug": course.drug, "rxnorm": course.rxnorm,
                "dose": course.dose, "unit": course.unit, "frequency": course.frequency, "route": course.route,
                "daily_dose_mg": course.daily_mg, "formulation": course.formulation,
                "indication": course.indication, "quantity": course.times_per_day * DAYS_SUPPLY,
                "days_supply": DAYS_SUPPLY, "status": "stopped" if course.stop_day is not None else "active",
                "is_psychiatric": course.is_psychiatric, "start_date": course.start_date,
                "source": None if course.is_psychiatric else "primary care",
                "stop_date": chart.date_of(course.stop_day) if course.stop_day is not None else None,
                "stop_reason": course.stop_reason,
                "prescriber_id": chart.plan.prescriber.id if course.is_psychiatric else None,
                "last_fill_date": course.last_fill_date,
                "created_at": course.change_rows[0]["changed_at"], "version": 1,
            })
            dose_changes.extend(course.change_rows)

    # ------------------------------------------------------------------------------------------- flags
    def _add_flags(self, chart: Chart) -> None:
        """Flags from the collected findings, with a simulated nurse response and its event history.

        Mirrors ``db.commands.flags``: a cause with an unresolved flag absorbs new findings until that flag
        is resolved; events use the triage actions (take_ownership, acknowledge, escalate, resolve).
        """
        if not chart.findings:
            return
        rng = self.rng
        as_of = self.as_of
        nurse_id = chart.plan.nurse.id
        prescriber = chart.plan.prescriber
        flags = self.rows["flags"]
        events = self.rows["flag_events"]
        open_until: dict[str, datetime | None] = {}
        for pending in sorted(chart.findings, key=lambda p: (p.at, p.source_table, p.source_id)):
            finding = pending.finding
            cause = finding.cause
            if cause in open_until:
                busy_until = open_until[cause]
                if busy_until is None or pending.at < busy_until:
                    continue
            severity = finding.severity
            raised_at = pending.at
            owned_at = ack_at = escalated_at = resolved_at = None
            if not pending.force_open:
                ack_at = raised_at + timedelta(minutes=rng.randint(*ACK_MINUTES[severity]))
                if rng.random() < ESCALATE_CHANCE[severity]:
                    escalated_at = ack_at + timedelta(minutes=rng.randint(5, 60))
                if not pending.persists:
                    after = escalated_at or ack_at
                    resolved_at = max(after, pending.closes_at or after + timedelta(
                        minutes=rng.randint(*RESOLVE_AFTER_ACK_MINUTES[severity])))
            # Only what already happened is visible today.
            if ack_at is not None and ack_at >= as_of:
                if rng.random() < 0.35:
                    owned_at = raised_at + (as_of - raised_at) / 3  # claimed, not yet acknowledged
                ack_at = escalated_at = resolved_at = None
            if escalated_at is not None and escalated_at >= as_of:
                escalated_at = resolved_at = None
            if resolved_at is not None and resolved_at >= as_of:
                resolved_at = None
            state = ("resolved" if resolved_at else "escalated" if escalated_at else
                     "acknowledged" if ack_at else "open")
            open_until[cause] = resolved_at
            flag_id = self.ids.take("flags")
            kind = str(finding.kind)
            summary = str(finding.summary)
            history: list[tuple[datetime, int | None, str, str | None]] = [
                (raised_at, pending.raised_by, "raised", summary),
            ]
            if owned_at:
                history.append((owned_at, nurse_id, "take_ownership", None))
            if ack_at:
                history.append((ack_at, nurse_id, "acknowledge",
                                ACKNOWLEDGE_NOTES.get(kind, ACKNOWLEDGE_NOTES["default"])))
            if escalated_at:
                history.append((escalated_at, nurse_id, "escalate",
                                f"Escalated to {prescriber.full_name} for same-day review"))
            if resolved_at:
                resolver = prescriber.id if escalated_at else nurse_id
                history.append((resolved_at, resolver, "resolve",
                                RESOLUTION_NOTES.get(kind, RESOLUTION_NOTES["default"])))
            last_at, last_actor, _, _ = history[-1]
            flags.append({
                "id": flag_id, "patient_id": chart.patient_id, "kind": kind, "severity": severity,
                "severity_rank": severity_rank(severity), "cause": cause, "summary": summary,
                "source_table": pending.source_table, "source_id": pending.source_id, "state": state,
                # TRUE while unresolved, NULL once resolved: see uq_flags_one_open_per_cause.
                "is_open": None if resolved_at else True,
                # The nurse who first acted owns the flag; nobody owns one that is still untouched.
                "owner_id": nurse_id if len(history) > 1 else None, "raised_at": raised_at,
                "last_finding_at": raised_at, "finding_count": 1,
                "acknowledged_at": ack_at, "escalated_at": escalated_at, "resolved_at": resolved_at,
                "resolution_note": history[-1][3] if resolved_at else None, "updated_at": last_at,
                "updated_by_id": last_actor, "version": len(history),
            })
            for at, actor, action, note in history:
                events.append({"id": self.ids.take("flag_events"), "flag_id": flag_id, "at": at,
                               "actor_id": actor, "action": action, "note": note,
                               "source_table": pending.source_table if action == "raised" else None,
                               "source_id": pending.source_id if action == "raised" else None})


def _demographics(patient_id: int, ancestry: str | None, area_code: str) -> tuple[str, str, str]:
    """Synthetic OMB race and ethnicity codes and a 555 phone number for US Core. A generator of their own
    (seeded by the patient id) so that adding them left every other seeded value unchanged."""
    rng = random.Random(f"demographics-{patient_id}")
    if ancestry is not None:
        race = "2028-9"  # Asian: the ancestries recorded for HLA-B*1502 screening are Asian
    else:
        race = _weighted(rng, (("2106-3", 60), ("2054-5", 14), ("2028-9", 6), ("1002-5", 1), ("2076-8", 1),
                               ("ASKU", 3), ("UNK", 2)))
    ethnicity = _weighted(rng, (("2186-5", 78), ("2135-2", 18), ("ASKU", 2), ("UNK", 2)))
    return race, ethnicity, f"({area_code}) 555-02{rng.randint(0, 99):02d}"


def _storyline_drug(scenarios: frozenset[str]) -> str | None:
    """The medicine a guaranteed storyline needs (its labs, red flags or controlled-substance rules)."""
    if CRITICAL_LITHIUM in scenarios or OVERDUE_LAB in scenarios:
        return "lithium"
    if RED_FLAG_SIDE_EFFECT in scenarios:
        return "lamotrigine"
    if CLOZAPINE in scenarios:
        return "clozapine"
    if EARLY_CONTROLLED_REFILL in scenarios:
        return "buprenorphine/naloxone"
    return None


def _indication(chart: Chart, condition: str) -> str:
    for code in chart.conditions:
        if catalog.DIAGNOSES[code].condition == condition:
            return f"{catalog.DIAGNOSES[code].description} ({code})"
    return condition


def _lab_value(rng: random.Random, test: Any, *, critical: bool) -> float:
    """A plausible value: mostly within the reference range, sometimes just outside, rarely critical."""
    low, high = test.ref_low, test.ref_high
    if low is None and high is None:
        return 0.0  # qualitative tests (genotypes, screens): 0 = not detected
    if low is None:
        low = 0.0
    if high is None:
        high = low * 2 if low else 1.0
    span = (high - low) or 1.0
    if critical and test.critical_high is not None:
        value = test.critical_high + span * 0.05
    elif critical and test.critical_low is not None:
        value = test.critical_low - span * 0.05
    else:
        roll = rng.random()
        if roll < 0.86:
            value = low + span * (0.1 + 0.8 * rng.random())
        elif roll < 0.94 or low <= 0:
            value = high + span * (0.03 + 0.2 * rng.random())
        else:
            value = low - span * (0.03 + 0.2 * rng.random())
        # Only storylines produce critical values; keep random ones short of the critical limits.
        if test.critical_high is not None and value >= test.critical_high:
            value = (high + test.critical_high) / 2
        if test.critical_low is not None and value <= test.critical_low:
            value = (low + test.critical_low) / 2
    digits = 2 if span < 5 else 1 if span < 50 else 0
    return round(max(value, 0.0), digits)


def _years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for a 29 February that did not exist)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _fmt(number: float) -> str:
    return f"{number:g}"


def _assessment_note(rng: random.Random, phq: ScorePattern | None, gad: ScorePattern | None,
                     baseline_phq: int | None) -> str:
    parts = []
    if phq is not None:
        parts.append(f"PHQ-9 {phq.score.total} ({phq.score.severity})")
    if gad is not None:
        parts.append(f"GAD-7 {gad.score.total} ({gad.score.severity})")
    scores = ", ".join(parts) + ". " if parts else "Scores not completed this visit. "
    if phq is not None and baseline_phq is not None and phq.score.total <= baseline_phq - 5:
        phrase = rng.choice(vocabulary.ASSESSMENT_PHRASES_BETTER)
    elif phq is not None and baseline_phq is not None and phq.score.total >= baseline_phq + 3:
        phrase = rng.choice(vocabulary.ASSESSMENT_PHRASES_WORSE)
    else:
        phrase = rng.choice(vocabulary.ASSESSMENT_PHRASES_SAME)
    if phq is not None and phq.answers[8] > 0:
        safety = " Endorses passive death wishes (PHQ-9 item 9); no plan or intent; safety plan reviewed."
    else:
        safety = " Denies suicidal ideation."
    return scores + phrase + safety
