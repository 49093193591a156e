"""Starting, adjusting and stopping medications: safety checks block, history appends, labs are ordered."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from db.commands import EditConflict, InvalidInput, SafetyBlock
from db.commands.medications import (
    MedicationOrder,
    OutsideMedicationInput,
    change_medication,
    record_outside_medication,
    review_medication,
    start_medication,
)
from db.engine import read_session, write_session
from db.models import Allergy, AuditEvent, DoseChange, LabOrder, Patient, Prescription
from tests.factories import make_patient, make_team, make_user


@pytest.fixture
def setup(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team, licensed_states=["NY"])
    nurse = make_user(engine, "nurse", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse, state="NY")
    return dict(prescriber=prescriber, nurse=nurse, patient=patient)


def _version(engine: Engine, patient_id: int) -> int:
    with read_session(engine) as session:
        return session.get(Patient, patient_id).version


def _count(engine: Engine, model: type) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def _start(engine: Engine, setup: dict, **fields: object) -> Prescription:
    values: dict[str, object] = dict(drug="sertraline", dose=50, unit="mg", frequency="once daily", reason="depression")
    values.update(fields)
    return start_medication(
        setup["prescriber"],
        setup["patient"],
        MedicationOrder(**values),  # type: ignore[arg-type]
        expected_patient_version=_version(engine, setup["patient"]),
    )


def test_start_writes_prescription_history_labs_and_audit(engine: Engine, setup: dict) -> None:
    prescription = _start(
        engine, setup, drug="lithium carbonate", dose=300, frequency="twice daily", reason="bipolar II maintenance"
    )
    assert prescription.drug == "lithium" and prescription.daily_dose_mg == 600
    with read_session(engine) as session:
        history = session.scalars(select(DoseChange)).all()
        labs = session.scalars(select(LabOrder.test)).all()
        actions = session.scalars(select(AuditEvent.action)).all()
    assert [(h.change_type, h.new_dose, h.new_daily_mg) for h in history] == [("start", 300, 600)]
    assert any("lithium" in test.lower() for test in labs)
    assert actions.count("start_medication") == 1


def test_dose_above_the_maximum_is_refused_and_nothing_written(engine: Engine, setup: dict) -> None:
    with pytest.raises(SafetyBlock) as blocked:
        _start(engine, setup, dose=250, frequency="once daily")  # sertraline maximum is 200 mg/day
    assert "200" in " ".join(blocked.value.reasons)
    assert _count(engine, Prescription) == _count(engine, DoseChange) == _count(engine, LabOrder) == 0


def test_mcg_entered_as_mg_is_caught(engine: Engine, setup: dict) -> None:
    # 300 mcg-sized number typed with the mg unit: above any clonazepam maximum.
    with pytest.raises(SafetyBlock):
        _start(engine, setup, drug="clonazepam", dose=500, unit="mg", pdmp_checked=True)
    assert _count(engine, Prescription) == 0


def test_contraindicated_combination_needs_an_override_reason(engine: Engine, setup: dict) -> None:
    with write_session(engine) as session:
        session.add(
            Prescription(
                patient_id=setup["patient"],
                drug="phenelzine",
                dose=15,
                unit="mg",
                frequency="three times daily",
                daily_dose_mg=45,
                status="active",
                is_psychiatric=False,
                start_date=session.get(Patient, setup["patient"]).program_start_date,
            )
        )
    with pytest.raises(SafetyBlock) as blocked:
        _start(engine, setup)
    assert "override" in " ".join(blocked.value.reasons).lower()
    assert _count(engine, DoseChange) == 0
    prescription = _start(engine, setup, override_reason="MAOI stopped today, supervised cross-taper by specialist")
    with read_session(engine) as session:
        change = session.scalars(select(DoseChange).where(DoseChange.prescription_id == prescription.id)).one()
    assert change.override_reason.startswith("MAOI stopped")


def test_allergy_match_needs_an_override(engine: Engine, setup: dict) -> None:
    with write_session(engine) as session:
        session.add(Allergy(patient_id=setup["patient"], substance="lamotrigine", reaction="rash"))
    with pytest.raises(SafetyBlock):
        _start(engine, setup, drug="lamotrigine", dose=25, reason="bipolar depression")


def test_controlled_substance_needs_license_and_pdmp(engine: Engine, setup: dict) -> None:
    with pytest.raises(SafetyBlock) as blocked:
        _start(engine, setup, drug="lorazepam", dose=0.5, frequency="twice daily", reason="panic")
    assert "PDMP" in " ".join(blocked.value.reasons)
    _start(engine, setup, drug="lorazepam", dose=0.5, frequency="twice daily", reason="panic", pdmp_checked=True)
    out_of_state = make_patient(engine, prescriber=setup["prescriber"], nurse=setup["nurse"], state="CA")
    with pytest.raises(SafetyBlock) as unlicensed:
        start_medication(
            setup["prescriber"],
            out_of_state,
            MedicationOrder(
                drug="lorazepam", dose=0.5, unit="mg", frequency="twice daily", reason="x", pdmp_checked=True
            ),
            expected_patient_version=_version(engine, out_of_state),
        )
    assert "not licensed in CA" in " ".join(unlicensed.value.reasons)


def test_adjust_appends_history_and_stale_version_is_refused(engine: Engine, setup: dict) -> None:
    prescription = _start(engine, setup)
    change_medication(
        setup["prescriber"], prescription.id, dose=100, reason="partial response", expected_version=prescription.version
    )
    with pytest.raises(EditConflict):
        change_medication(
            setup["prescriber"],
            prescription.id,
            dose=150,
            reason="from a stale form",
            expected_version=prescription.version,
        )
    change_medication(
        setup["prescriber"], prescription.id, reason="remission", stop=True, expected_version=prescription.version + 1
    )
    with read_session(engine) as session:
        history = session.scalars(select(DoseChange).order_by(DoseChange.id)).all()
        current = session.get(Prescription, prescription.id)
    assert [(h.change_type, h.old_dose, h.new_dose) for h in history] == [
        ("start", None, 50),
        ("increase", 50, 100),
        ("stop", 100, None),
    ]
    assert current.status == "stopped" and current.dose == 100


@pytest.mark.parametrize(
    "fields, field",
    [
        (dict(dose=-5), "dose"),
        (dict(dose=float("nan")), "dose"),
        (dict(unit="tablets"), "unit"),
        (dict(drug="unobtainium"), "drug"),
        (dict(reason=""), "reason"),
        (dict(frequency="hourly"), "frequency"),
    ],
)
def test_malformed_orders_name_the_field(engine: Engine, setup: dict, fields: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        _start(engine, setup, **fields)
    assert field in error.value.errors
    assert _count(engine, Prescription) == 0


def test_an_outside_medication_takes_part_in_every_later_review(engine: Engine) -> None:
    """Linezolid from a hospital stay (an MAO inhibitor outside the formulary) is screened when sertraline is
    started afterwards, and the outside course is not held to the program's controlled-substance rules."""
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    patient = make_patient(engine, prescriber=prescriber)
    record_outside_medication(
        prescriber,
        patient,
        OutsideMedicationInput(name="Zyvox", dose=600, unit="mg", frequency="twice daily", source="hospital discharge"),
        expected_patient_version=1,
    )
    review = review_medication(
        prescriber, patient, MedicationOrder(drug="sertraline", dose=50, unit="mg", frequency="once daily", reason="")
    )
    assert any("linezolid" in item and "sertraline" in item for item in review.needs_override)
    with pytest.raises(SafetyBlock):
        start_medication(
            prescriber,
            patient,
            MedicationOrder(drug="sertraline", dose=50, unit="mg", frequency="once daily", reason="MDD"),
            expected_patient_version=2,
        )
