"""The patient's recorded clinical status reaches every rule that depends on it: kidney function and pregnancy in
the prescribing review, benign ethnic neutropenia in the clozapine ANC, weight gain at a visit; and a PDMP
attestation cannot be replaced by acknowledging other findings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from db.commands import SafetyBlock
from db.commands.labs import LabResultInput, enter_lab_result
from db.commands.medications import MedicationOrder, review_medication, start_medication
from db.commands.patient_status import ClinicalStatus, update_clinical_status
from db.commands.visits import VisitInput, log_visit
from db.engine import read_session, utcnow, write_session
from db.models import Flag, LabOrder, Patient, Prescription
from db.queries.caseload import program_today
from tests.factories import make_patient, make_team, make_user


@pytest.fixture
def setup(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    nurse = make_user(engine, "nurse", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse)
    return {"prescriber": prescriber, "nurse": nurse, "patient": patient}


def _version(patient_id: int) -> int:
    with read_session() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        return patient.version


def _status(setup: dict, **fields: object) -> None:
    update_clinical_status(
        setup["prescriber"],
        setup["patient"],
        ClinicalStatus(**fields),
        expected_patient_version=_version(setup["patient"]),  # type: ignore[arg-type]
    )


def _order(drug: str, dose: float, frequency: str = "once daily", **fields: object) -> MedicationOrder:
    return MedicationOrder(drug=drug, dose=dose, unit="mg", frequency=frequency, reason="indicated", **fields)  # type: ignore[arg-type]


def test_acamprosate_is_refused_at_a_creatinine_clearance_of_25(engine: Engine, setup: dict) -> None:
    """Acamprosate label: contraindicated in severe renal impairment (CrCl <= 30 mL/min)."""
    assert (
        review_medication(
            setup["prescriber"], setup["patient"], _order("acamprosate", 666, "three times daily")
        ).blocking
        == []
    )
    _status(setup, crcl_ml_min=25.0)
    review = review_medication(setup["prescriber"], setup["patient"], _order("acamprosate", 666, "three times daily"))
    assert review.blocking and review.dose_check is not None and review.dose_check.status == "contraindicated"
    with pytest.raises(SafetyBlock):
        start_medication(
            setup["prescriber"],
            setup["patient"],
            _order("acamprosate", 666, "three times daily"),
            expected_patient_version=_version(setup["patient"]),
        )


def test_valproate_in_a_recorded_pregnancy_needs_a_documented_reason(engine: Engine, setup: dict) -> None:
    unknown = review_medication(setup["prescriber"], setup["patient"], _order("valproate", 500, "twice daily"))
    assert not any("Reproductive safety" in item for item in unknown.needs_override)
    assert any("Reproductive safety" in warning for warning in unknown.warnings)
    assert any(lab.test.lower().startswith("pregnancy") for lab in unknown.labs_to_order)
    _status(setup, pregnancy_status="pregnant")
    review = review_medication(setup["prescriber"], setup["patient"], _order("valproate", 500, "twice daily"))
    assert any("Reproductive safety" in item for item in review.needs_override)
    with pytest.raises(SafetyBlock):
        start_medication(
            setup["prescriber"],
            setup["patient"],
            _order("valproate", 500, "twice daily"),
            expected_patient_version=_version(setup["patient"]),
        )


def test_acknowledging_findings_does_not_replace_the_pdmp_attestation(engine: Engine, setup: dict) -> None:
    with pytest.raises(SafetyBlock) as refused:
        start_medication(
            setup["prescriber"],
            setup["patient"],
            _order("lorazepam", 0.5, "twice daily", acknowledge_major=True),
            expected_patient_version=_version(setup["patient"]),
        )
    assert any("PDMP" in reason for reason in refused.value.reasons)


@pytest.mark.parametrize(
    ("neutropenia", "expected"), [(False, [("critical_lab", "urgent")]), (True, [("abnormal_lab", "high")])]
)
def test_clozapine_anc_800_is_read_against_benign_ethnic_neutropenia(
    engine: Engine, setup: dict, neutropenia: bool, expected: list[tuple[str, str]]
) -> None:
    if neutropenia:
        _status(setup, benign_ethnic_neutropenia=True)
    with write_session(engine) as session:
        order = LabOrder(
            patient_id=setup["patient"], test="ANC", reason="clozapine", due_by=program_today(), status="pending"
        )
        session.add(order)
        session.flush()
        order_id = order.id
    enter_lab_result(
        setup["nurse"],
        order_id,
        LabResultInput(value=0.8, unit="10*3/uL", collected_on=program_today()),
        expected_version=1,
    )
    with read_session(engine) as session:
        flags = [(flag.kind, flag.severity) for flag in session.scalars(select(Flag))]
    assert flags == expected


def test_a_five_percent_weight_gain_on_an_antipsychotic_raises_a_flag_at_the_visit(engine: Engine, setup: dict) -> None:
    with write_session(engine) as session:
        session.add(
            Prescription(
                patient_id=setup["patient"],
                drug="olanzapine",
                dose=10,
                unit="mg",
                frequency="once daily",
                daily_dose_mg=10,
                start_date=date.today() - timedelta(days=60),
            )
        )
    for days_ago, weight in ((20, 70.0), (0.01, 74.0)):
        result = log_visit(
            setup["prescriber"],
            setup["patient"],
            VisitInput(
                visit_at=utcnow() - timedelta(days=days_ago), modality="video", duration_minutes=20, weight_kg=weight
            ),
            expected_patient_version=_version(setup["patient"]),
        )
    assert [kind for _, kind, _ in result.flags_raised] == ["weight_gain"]
