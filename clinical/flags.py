"""Which findings raise a nurse-triage flag, and at which severity: functions of plain values."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from clinical._data import load
from clinical.formulary import drug_schedule, formulary_entry, resolve_drug
from clinical.medications import classify_medication
from clinical.monitoring import classify_lab_result
from clinical.scales import InstrumentScore, instrument_info

SEVERITY_ORDER: tuple[str, ...] = ("urgent", "high", "moderate", "low")
SIDE_EFFECT_SEVERITIES = ("mild", "moderate", "severe")
ANSWER_TEXT = {0: "not at all", 1: "several days", 2: "more than half the days", 3: "nearly every day"}


@dataclass(frozen=True)
class FlagFinding:
    kind: str
    severity: str
    cause: str  # stable key: at most one open flag per patient and cause
    summary: str


def _severity(kind: str) -> str:
    return str(load("flag_rules")[kind]["severity"])


def flags_for_score(score: InstrumentScore, previous_total: int | None = None) -> list[FlagFinding]:
    """Self-harm (PHQ-9 item 9 > 0), C-SSRS risk, and a rise of at least the MCID since the previous score."""
    findings: list[FlagFinding] = []
    if "self_harm" in score.flags:
        answer = score.item9 if score.item9 is not None else 1
        findings.append(
            FlagFinding(
                "self_harm",
                _severity("self_harm"),
                "self_harm",
                f"PHQ-9 item 9 (thoughts of self-harm) answered {answer} "
                f"({ANSWER_TEXT.get(answer, answer)}); PHQ-9 total {score.total}",
            )
        )
    if "suicide_risk_high" in score.flags:
        findings.append(
            FlagFinding(
                "suicide_risk",
                _severity("suicide_risk_high"),
                "suicide_risk",
                "C-SSRS screener: high risk (immediate safety precautions)",
            )
        )
    elif "suicide_risk_moderate" in score.flags:
        findings.append(
            FlagFinding(
                "suicide_risk", _severity("suicide_risk_moderate"), "suicide_risk", "C-SSRS screener: moderate risk"
            )
        )
    if previous_total is not None and score.total is not None and score.instrument in ("PHQ-9", "GAD-7"):
        mcid = instrument_info(score.instrument).mcid
        rise = score.total - previous_total
        if mcid is not None and rise >= mcid:
            findings.append(
                FlagFinding(
                    "worsening_score",
                    _severity("worsening_score"),
                    f"worsening:{score.instrument}",
                    f"{score.instrument} rose {previous_total} -> {score.total} (+{rise}; "
                    f"clinically important change is {mcid})",
                )
            )
    return findings


def _matches(symptom: str, keyword: str) -> bool:
    return re.search(rf"\b{re.escape(keyword.lower())}", symptom.lower()) is not None


def flag_for_side_effect(drug: str, symptom: str, severity: str) -> FlagFinding | None:
    """A red-flag symptom for that drug (urgent), or any severe side effect (high); otherwise None."""
    if severity not in SIDE_EFFECT_SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SIDE_EFFECT_SEVERITIES)}, got {severity!r}")
    canonical = resolve_drug(drug)
    text = (symptom or "").strip()
    if canonical is not None:
        for keyword in formulary_entry(canonical).red_flag_side_effects:
            if _matches(text, keyword):
                return FlagFinding(
                    "red_flag_side_effect",
                    _severity("red_flag_side_effect"),
                    f"side_effect:{canonical}:{keyword}",
                    f"{text} ({severity}) on {canonical}: red-flag symptom ({keyword})",
                )
    if severity == "severe":
        name = canonical or drug
        return FlagFinding(
            "severe_side_effect",
            _severity("severe_side_effect"),
            f"side_effect:{name}:{text.lower()[:60]}",
            f"Severe side effect on {name}: {text}",
        )
    return None


def flag_for_lab_result(
    test: str,
    value: float,
    *,
    ref_low: float | None = None,
    ref_high: float | None = None,
    benign_ethnic_neutropenia: bool = False,
) -> FlagFinding | None:
    """An abnormal result (high), or a critical or toxic one (urgent); None when normal.

    An ANC of 500-999/uL is critical (the clozapine label interrupts therapy) unless the patient has benign ethnic
    neutropenia, whose thresholds are lower (``benign_ethnic_neutropenia``; see classify_lab_result)."""
    result = classify_lab_result(
        test, value, ref_low=ref_low, ref_high=ref_high, benign_ethnic_neutropenia=benign_ethnic_neutropenia
    )
    if not result.abnormal:
        return None
    range_text = f" (range {ref_low if ref_low is not None else '—'}-{ref_high if ref_high is not None else '—'})"
    kind = "critical_lab" if result.critical else "abnormal_lab"
    return FlagFinding(
        kind,
        _severity(kind),
        f"lab:{test.lower()}",
        f"{test} {value:g}: {result.interpretation}"
        f"{range_text if (ref_low is not None or ref_high is not None) else ''}. {result.message}",
    )


def flag_for_overdue_lab(test: str, due_by: date, *, on: date, grace_days: int = 7) -> FlagFinding | None:
    """A required lab overdue by more than ``grace_days`` (moderate)."""
    overdue = (on - due_by).days
    if overdue <= grace_days:
        return None
    return FlagFinding(
        "overdue_lab",
        _severity("overdue_lab"),
        f"overdue_lab:{test.lower()}",
        f"{test} was due {due_by.isoformat()} and is {overdue} days overdue",
    )


def flag_for_missed_doses(missed_doses: int, *, period_days: int = 7, threshold: int = 3) -> FlagFinding | None:
    """Missed doses at or above ``threshold`` in the period (moderate)."""
    if isinstance(missed_doses, bool) or not isinstance(missed_doses, int) or missed_doses < 0:
        raise ValueError(f"missed doses must be a whole number >= 0, got {missed_doses!r}")
    if missed_doses < threshold:
        return None
    return FlagFinding(
        "missed_doses",
        _severity("missed_doses"),
        "missed_doses",
        f"{missed_doses} missed doses in the past {period_days} days",
    )


def refill_is_early(
    last_fill: date, days_supply: int, requested_on: date, *, tolerance_days: int | None = None
) -> bool:
    """True if requested more than ``tolerance_days`` (default from the rules: 2) before the supply runs out."""
    if isinstance(days_supply, bool) or not isinstance(days_supply, int) or days_supply <= 0:
        raise ValueError(f"days supply must be a whole number > 0, got {days_supply!r}")
    tolerance = load("flag_rules")["early_refill"]["tolerance_days"] if tolerance_days is None else tolerance_days
    runs_out = last_fill + timedelta(days=days_supply)
    return requested_on < runs_out - timedelta(days=tolerance)


def flag_for_refill_request(
    drug: str, *, last_fill: date | None, days_supply: int, requested_on: date
) -> FlagFinding | None:
    """An early refill request for a controlled substance (high)."""
    schedule = drug_schedule(drug)
    if schedule is None or last_fill is None or not refill_is_early(last_fill, days_supply, requested_on):
        return None
    runs_out = last_fill + timedelta(days=days_supply)
    early = (runs_out - requested_on).days
    canonical = resolve_drug(drug)
    return FlagFinding(
        "early_refill",
        _severity("early_refill"),
        f"early_refill:{canonical}",
        f"Early refill request for schedule {schedule} {canonical}: filled {last_fill.isoformat()} "
        f"for {days_supply} days, requested {requested_on.isoformat()} ({early} days early)",
    )


def _weight(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a number of kilograms greater than 0, got {value!r}")
    return float(value)


def flag_for_weight_gain(
    drug_or_drugs: str | Iterable[str], baseline_kg: float, current_kg: float
) -> FlagFinding | None:
    """Weight gain of 5 % or more from baseline on an antipsychotic or mood stabilizer (moderate); None otherwise.

    ``drug_or_drugs`` is one medication name or several (the patient's current list); only antipsychotics and
    mood stabilizers count, in or outside the formulary. ADA/APA 2004: consider switching at >= 5 % gain."""
    rule = load("flag_rules")["weight_gain"]
    baseline = _weight(baseline_kg, "baseline weight")
    current = _weight(current_kg, "current weight")
    names = [drug_or_drugs] if isinstance(drug_or_drugs, str) else list(drug_or_drugs)
    groups = set(rule["applies_to_classes"])
    relevant: list[str] = []
    for name in names:
        profile = classify_medication(name) if isinstance(name, str) else None
        if profile is not None and groups & set(profile.classes) and profile.name not in relevant:
            relevant.append(profile.name)
    gain = (current - baseline) / baseline * 100
    if not relevant or gain < rule["threshold_percent"]:
        return None
    return FlagFinding(
        "weight_gain",
        rule["severity"],
        "weight_gain",
        f"Weight {current:g} kg is {gain:.1f}% above the baseline {baseline:g} kg on {', '.join(relevant)} "
        f"({rule['threshold_percent']:g}% or more: review the regimen, consider switching; ADA/APA 2004)",
    )


def flag_for_emergency_access(grant_id: int, who: str, category_label: str, *, care_actions: bool) -> FlagFinding:
    """Someone outside the care team opened this chart in an emergency: the team and supervisors review it."""
    scope = "with care actions" if care_actions else "read-only"
    return FlagFinding(
        "emergency_access",
        _severity("emergency_access"),
        f"emergency_access:{grant_id}",  # one flag per grant: each access is reviewed on its own
        f"Emergency access ({scope}) by {who}: {category_label}. Review the reason in the audit trail.",
    )
