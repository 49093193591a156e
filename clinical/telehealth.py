"""Telehealth prescribing rules for controlled substances, dated so that a rule change is a data change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from clinical._data import load
from clinical.formulary import drug_schedule, resolve_drug

MODALITIES = ("video", "audio-only")


@dataclass(frozen=True)
class PrescribingRule:
    permitted: bool
    requirements: list[str] = field(default_factory=list)
    reason: str = ""


def telehealth_prescribing(drug: str, *, modality: str, on: date, prior_in_person: bool = False) -> PrescribingRule:
    """May ``drug`` be prescribed after a telehealth visit of ``modality`` on date ``on``, and with what duties?"""
    if modality == "phone":
        modality = "audio-only"
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
    canonical = resolve_drug(drug)
    if canonical is None:
        raise ValueError(f"{drug!r} is not in the formulary")
    schedule = drug_schedule(canonical)
    if schedule is None:
        return PrescribingRule(True, [], f"{canonical} is not a controlled substance; state licensure rules apply.")
    rules = load("telehealth_rules")
    requirements = list(rules["controlled_requirements"])
    bup = rules["buprenorphine_rule"]
    if canonical in bup["drugs"] and on >= date.fromisoformat(bup["effective"]):
        return PrescribingRule(
            True,
            requirements + bup["requirements"],
            f"{bup['name']} allows {modality} prescribing of buprenorphine for opioid use disorder.",
        )
    for period in rules["periods"]:
        if date.fromisoformat(period["from"]) <= on <= date.fromisoformat(period["to"]):
            if modality == "video" and schedule in period["video_schedules_without_in_person"]:
                return PrescribingRule(
                    True,
                    requirements,
                    f"{period['name']} (through {period['to']}) allows schedule "
                    f"{schedule} over audio-video without an in-person visit.",
                )
            if (
                modality == "audio-only"
                and schedule in period["audio_only_schedules"]
                and not period["audio_only_oud_only"]
            ):
                return PrescribingRule(True, requirements, f"{period['name']} allows audio-only prescribing.")
    if prior_in_person:
        return PrescribingRule(True, requirements, "A prior in-person evaluation satisfies the Ryan Haight Act.")
    if modality == "audio-only":
        reason = (
            f"Schedule {schedule} {canonical} cannot be prescribed after an audio-only visit: only buprenorphine "
            "for opioid use disorder may be. Use video or see the patient in person."
        )
    else:
        reason = (
            f"Schedule {schedule} {canonical} needs an in-person evaluation ({rules['default_rule']['name']}): "
            "the telemedicine flexibilities do not cover this date."
        )
    return PrescribingRule(False, requirements, reason)
