"""Telehealth prescribing rules for controlled substances, dated so that a rule change is a data change.

The rule sets run from the COVID-19 public health emergency (2020) through the DEA/HHS temporary extensions to
the last one known (telehealth_rules.json "last_known_date"); the buprenorphine telemedicine rule (90 FR 6504)
runs from 2025-12-31 with no end. A date outside every rule set falls back to the Ryan Haight Act, and a date
after the last known rule set says so in the reason.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from clinical._data import load
from clinical.formulary import drug_schedule, resolve_drug

MODALITIES = ("video", "audio-only")


@dataclass(frozen=True)
class PrescribingRule:
    permitted: bool
    requirements: list[str] = field(default_factory=list)
    reason: str = ""
    rule_set: str = ""  # the rule in force that decided ("" when no controlled-substance rule applies)
    source: str = ""  # its citation


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (the month's last day when it has no such day)."""
    year, month_index = divmod(day.month - 1 + months, 12)
    year += day.year
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _period_on(rules: dict[str, Any], on: date) -> dict[str, Any] | None:
    return next(
        (p for p in rules["periods"] if date.fromisoformat(p["from"]) <= on <= date.fromisoformat(p["to"])), None
    )


def _flexibility_allows(period: dict[str, Any], schedule: str, modality: str, oud_drug: bool) -> bool:
    if modality == "video":
        return schedule in period["video_schedules_without_in_person"]
    return schedule in period["audio_only_schedules"] and (oud_drug or not period["audio_only_oud_only"])


def telehealth_prescribing(
    drug: str,
    *,
    modality: str,
    on: date,
    prior_in_person: bool = False,
    first_telemedicine_rx: date | None = None,
) -> PrescribingRule:
    """May ``drug`` be prescribed after a telehealth visit of ``modality`` on date ``on``, and with what duties?

    Video schedule II-V and audio-only buprenorphine for opioid use disorder were allowed without an in-person
    evaluation from 2020-03-16 (PHE) through the DEA/HHS extensions; the buprenorphine rule (90 FR 6504, from
    2025-12-31) allows either modality for six calendar months in total from ``first_telemedicine_rx`` (the
    patient's first buprenorphine prescription by telemedicine; unknown counts as within the six months, with the
    duty to record it). ValueError for an unknown drug or modality, or a first prescription after ``on``."""
    if modality == "phone":
        modality = "audio-only"
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
    canonical = resolve_drug(drug)
    if canonical is None:
        raise ValueError(f"{drug!r} is not in the formulary")
    if first_telemedicine_rx is not None and first_telemedicine_rx > on:
        raise ValueError(f"first_telemedicine_rx ({first_telemedicine_rx}) is after the prescribing date ({on})")
    schedule = drug_schedule(canonical)
    if schedule is None:
        return PrescribingRule(True, [], f"{canonical} is not a controlled substance; state licensure rules apply.")
    rules = load("telehealth_rules")
    last_known = date.fromisoformat(rules["meta"]["last_known_date"])
    note = " " + rules["meta"]["after_last_known"].format(last=last_known.isoformat()) if on > last_known else ""
    requirements = list(rules["controlled_requirements"])
    bup = rules["buprenorphine_rule"]
    oud_drug = canonical in bup["drugs"]
    period = _period_on(rules, on)
    flexibility = period is not None and _flexibility_allows(period, schedule, modality, oud_drug)
    ended = ""
    if oud_drug and on >= date.fromisoformat(bup["effective"]):
        ends = add_months(first_telemedicine_rx, bup["supply_months"]) if first_telemedicine_rx else None
        if ends is None or on < ends:
            window = (
                f" The six months run from the first telemedicine prescription on {first_telemedicine_rx} to {ends}."
                if ends
                else " Record the date of the first telemedicine prescription: the six months count from it."
            )
            return PrescribingRule(
                True,
                requirements + bup["requirements"],
                f"{bup['name']} allows {modality} prescribing of buprenorphine for opioid use disorder without an "
                f"in-person evaluation, for six calendar months in total.{window}{note}",
                bup["name"],
                bup["source"],
            )
        ended = f"The six months under {bup['name']} ended on {ends}, but "
        if not flexibility and not prior_in_person:
            return PrescribingRule(
                False,
                requirements + bup["requirements"],
                f"The six months of buprenorphine by telemedicine allowed by {bup['name']} ended on {ends} (first "
                f"telemedicine prescription {first_telemedicine_rx}): an in-person evaluation is needed.{note}",
                bup["name"],
                bup["source"],
            )
    if period is not None and flexibility:
        if modality == "video":
            reason = (
                f"{period['name']} (through {period['to']}) allows schedule {schedule} over audio-video without an "
                "in-person visit."
            )
        else:
            reason = (
                f"{period['name']} (through {period['to']}) allows audio-only prescribing of buprenorphine for "
                "opioid use disorder."
            )
        if ended:
            reason = ended + reason[0].lower() + reason[1:]
        return PrescribingRule(True, requirements, reason, period["name"], period["source"])
    default = rules["default_rule"]
    if prior_in_person:
        return PrescribingRule(
            True,
            requirements,
            f"A prior in-person evaluation satisfies the Ryan Haight Act.{note}",
            default["name"],
            default["source"],
        )
    if modality == "audio-only":
        reason = (
            f"Schedule {schedule} {canonical} cannot be prescribed after an audio-only visit: only buprenorphine "
            "for opioid use disorder may be. Use video or see the patient in person."
        )
    else:
        reason = (
            f"Schedule {schedule} {canonical} needs an in-person evaluation ({default['name']}): "
            "the telemedicine flexibilities do not cover this date."
        )
    return PrescribingRule(False, requirements, reason + note, default["name"], default["source"])
