"""Importing a whole bulk export into an empty database (``python -m db.fhir import-bulk``), and the round trip
export -> import -> export that keeps every measure, vital and medication (issue 17)."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from clinical import interop
from clinical._data import load
from db.commands.bulk_import import import_bulk
from db.engine import make_engine, read_session
from db.fhir.__main__ import main
from db.fhir.bulk import export_ndjson
from db.models import Assessment, AuditEvent, Flag, Patient, Prescription, Visit
from db.permissions import PermissionDenied
from seed.generator import generate
from tests.factories import make_team, make_user

VITAL_CODES = {"29463-7", "8302-2", "8280-0", "8867-4", "85354-9", "39156-5"}


def _resources(directory: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(directory.glob("*.ndjson")):
        found += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return found


def _codes(concept: Any, system: str) -> tuple[str, ...]:
    return tuple(sorted(c["code"] for c in (concept or {}).get("coding", []) if c.get("system") == system))


def _quantity(holder: dict[str, Any]) -> tuple | None:
    quantity = holder.get("valueQuantity")
    return (round(float(quantity["value"]), 2), quantity.get("code") or quantity.get("unit")) if quantity else None


def _projection(directory: Path) -> dict[str, dict[str, list]]:
    """The clinical content of an export by MRN, without ids: measures (instrument, date, total, items, where
    taken), vitals, medications (kind, RxNorm, dose, unit, frequency, dates, status), visits, diagnoses."""
    resources = _resources(directory)
    instrument_codes = {
        str(entry[key])
        for entry in load("instruments")["instruments"].values()
        for key in ("loinc_total", "loinc_panel")
        if entry.get(key)
    }
    mrn_of = {
        f"Patient/{r['id']}": next(i["value"] for i in r["identifier"] if i["system"] == interop.MRN_SYSTEM)
        for r in resources
        if r["resourceType"] == "Patient"
    }
    encounter_start = {
        f"Encounter/{r['id']}": r["period"]["start"] for r in resources if r["resourceType"] == "Encounter"
    }
    charts: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in resources:
        owner = (r.get("subject") or r.get("patient") or {}).get("reference")
        if owner not in mrn_of:
            continue
        chart = charts[mrn_of[owner]]
        kind = r["resourceType"]
        codes = _codes(r.get("code"), interop.LOINC_SYSTEM)
        if kind == "Observation" and set(codes) & instrument_codes:
            chart["measures"].append(
                (
                    codes,
                    r["effectiveDateTime"],
                    r.get("valueInteger"),
                    [c.get("valueInteger", c.get("valueBoolean")) for c in r.get("component", [])],
                    encounter_start.get((r.get("encounter") or {}).get("reference"))
                    or [i["value"] for i in r.get("identifier", [])],
                )
            )
        elif kind == "Observation" and set(codes) & VITAL_CODES:
            chart["vitals"].append(
                (
                    codes,
                    r["effectiveDateTime"],
                    _quantity(r),
                    sorted((_codes(c["code"], interop.LOINC_SYSTEM), _quantity(c)) for c in r.get("component", [])),
                )
            )
        elif kind in ("MedicationRequest", "MedicationStatement"):
            dosage = (r.get("dosageInstruction") or r.get("dosage"))[0]
            dose = dosage["doseAndRate"][0]["doseQuantity"]
            outside = kind == "MedicationStatement" or r.get("reportedBoolean") is True
            period = r.get("effectivePeriod") or {}
            chart["medications"].append(
                (
                    "outside" if outside else "program",
                    _codes(r["medicationCodeableConcept"], interop.RXNORM_SYSTEM),
                    dose["value"],
                    dose.get("code") or dose.get("unit"),
                    dosage["timing"]["code"]["text"],
                    r.get("authoredOn") or period.get("start"),
                    period.get("end"),
                    r["status"],
                )
            )
        elif kind == "Encounter":
            chart["visits"].append((r["period"]["start"], r["period"].get("end")))
        elif kind == "Condition":
            chart["diagnoses"].append(_codes(r["code"], interop.ICD10CM_SYSTEM))
        elif kind == "AllergyIntolerance":
            chart["allergies"].append(r["code"].get("text"))
    return {
        mrn: {key: sorted(values, key=repr) for key, values in chart.items()} for mrn, chart in sorted(charts.items())
    }


@pytest.fixture
def source_export(sqlite_template_path: Path, tmp_path: Path) -> Path:
    """A 20-patient seeded program exported to a directory (from its own SQLite database)."""
    source_path = tmp_path / "source.db"
    shutil.copy(sqlite_template_path, source_path)
    source = make_engine(f"sqlite:///{source_path}")
    generate(source, seed=11, patients=20)
    export_ndjson(None, tmp_path / "first", engine=source)
    source.dispose()
    return tmp_path / "first"


def test_export_import_export_keeps_every_measure_vital_and_medication(
    engine: Engine, source_export: Path, tmp_path: Path
) -> None:
    admin = make_user(engine, "admin")

    results = import_bulk(admin, source_export)

    assert [r.status for r in results] == ["imported"] * 20, [r.detail for r in results if r.status != "imported"]
    export_ndjson(None, tmp_path / "second", engine=engine)
    before, after = _projection(source_export), _projection(tmp_path / "second")
    assert after == before
    assert len(after) == 20
    assert sum(len(chart["measures"]) for chart in after.values()) > 100
    assert sum(len(chart["medications"]) for chart in after.values()) > 20
    assert {m[0] for chart in after.values() for m in chart["medications"]} == {"program", "outside"}
    assert {m[-1] for chart in after.values() for m in chart["medications"]} >= {"active", "completed"}
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 20
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("import_bulk%"))).all()
    assert events.count("import_bulk_patient") == 20 and events.count("import_bulk") == 1

    # Again: every patient is already here, and nothing is written twice.
    again = import_bulk(admin, source_export)
    assert {r.status for r in again} == {"duplicate"}
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 20


def _tiny_export(directory: Path, *, resources: list[dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[dict]] = defaultdict(list)
    for resource in resources:
        by_type[resource["resourceType"]].append(resource)
    for kind, items in by_type.items():
        (directory / f"{kind}.ndjson").write_text("".join(json.dumps(r) + "\n" for r in items))
    return directory


def _patient(pid: str, mrn: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": interop.MRN_SYSTEM, "value": mrn}],
        "name": [{"family": "Rivera", "given": ["Ana"]}],
        "gender": "female",
        "birthDate": "1990-04-02",
        "address": [{"state": "NY"}],
    }


def _vital(oid: str, pid: str, code: str, value: float | None, unit: str, components: list | None = None) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"system": interop.OBSERVATION_CATEGORY_SYSTEM, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": interop.LOINC_SYSTEM, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": "Encounter/e1"},
        "effectiveDateTime": "2026-10-01T14:00:00Z",
    }
    if value is not None:
        resource["valueQuantity"] = {"value": value, "unit": unit, "system": interop.UCUM_SYSTEM, "code": unit}
    if components:
        resource["component"] = components
    return resource


def _medication_request(pid: str, rid: str, rxnorm: str, mg: float, *, reported: bool = False) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "plan" if reported else "order",
        "reportedBoolean": reported,
        "medicationCodeableConcept": {"coding": [{"system": interop.RXNORM_SYSTEM, "code": rxnorm}]},
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": "2026-09-01T10:00:00Z",
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [
                    {"doseQuantity": {"value": mg, "unit": "mg", "system": interop.UCUM_SYSTEM, "code": "mg"}}
                ],
            }
        ],
    }


def test_us_core_vitals_outside_requests_and_the_safety_checks_on_import(engine: Engine, tmp_path: Path) -> None:
    admin = make_user(engine, "admin")
    make_user(engine, "prescriber", team_id=make_team(engine), username="dr_bulk")
    mm_hg = "mm[Hg]"
    bp = [
        {"code": {"coding": [{"system": interop.LOINC_SYSTEM, "code": "8480-6"}]},
         "valueQuantity": {"value": 128, "unit": mm_hg, "system": interop.UCUM_SYSTEM, "code": mm_hg}},
        {"code": {"coding": [{"system": interop.LOINC_SYSTEM, "code": "8462-4"}]},
         "valueQuantity": {"value": 84, "unit": mm_hg, "system": interop.UCUM_SYSTEM, "code": mm_hg}},
    ]
    phq9_items = load("instruments")["instruments"]["PHQ-9"]["item_loinc"]
    latest_phq9 = {
        "resourceType": "Observation",
        "id": "s1",
        "status": "final",
        "code": {"coding": [{"system": interop.LOINC_SYSTEM, "code": "44261-6"}]},
        "subject": {"reference": "Patient/p1"},
        "performer": [{"reference": "Patient/p1"}],
        "identifier": [{"system": interop.SELF_REPORT_ID_SYSTEM, "value": "portal-77"}],
        "effectiveDateTime": "2026-10-02T09:00:00Z",
        "valueInteger": 10,
        "component": [
            {"code": {"coding": [{"system": interop.LOINC_SYSTEM, "code": code}]}, "valueInteger": value}
            for code, value in zip(phq9_items, [1, 1, 1, 1, 1, 1, 1, 1, 2], strict=True)
        ],
    }
    export = _tiny_export(
        tmp_path / "tiny",
        resources=[
            _patient("p1", "MRN-B1"),
            _patient("p2", "MRN-B2"),
            {
                "resourceType": "Encounter",
                "id": "e1",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"},
                "type": [{"text": "follow-up (phone)"}],
                "subject": {"reference": "Patient/p1"},
                "period": {"start": "2026-10-01T14:00:00Z", "end": "2026-10-01T14:20:00Z"},
            },
            _vital("v1", "p1", "29463-7", 154.0, "[lb_av]"),
            _vital("v2", "p1", "85354-9", None, mm_hg, bp),
            _vital("v3", "p1", "8867-4", 72, "/min") | {"encounter": None},  # matched by the visit's time
            _vital("v4", "p1", "39156-5", 24.1, "kg/m2"),  # BMI: derived, not stored
            latest_phq9,
            # Sertraline prescribed here and tramadol reported from outside: a major serotonergic pair.
            _medication_request("p1", "m1", "36437", 100),
            _medication_request("p1", "m2", "10689", 50, reported=True),
            # p2's weight names no encounter: p2 is refused whole, with the reason.
            _vital("v5", "p2", "29463-7", 70, "kg") | {"encounter": None},
        ],
    )

    results = import_bulk(admin, export, prescriber_username="dr_bulk")

    by_mrn = {r.mrn: r for r in results}
    assert by_mrn["MRN-B1"].status == "imported"
    assert by_mrn["MRN-B2"].status == "rejected" and "vitals are recorded at visits" in by_mrn["MRN-B2"].detail
    with read_session(engine) as session:
        (patient,) = session.scalars(select(Patient)).all()
        (visit,) = session.scalars(select(Visit)).all()
        prescriptions = session.scalars(select(Prescription).order_by(Prescription.id)).all()
        (assessment,) = session.scalars(select(Assessment)).all()
        flags = session.scalars(select(Flag).order_by(Flag.id)).all()
    assert patient.mrn == "MRN-B1" and patient.prescriber_id is not None
    assert (visit.modality, visit.duration_minutes, visit.weight_kg, visit.bp_systolic, visit.bp_diastolic) == (
        "phone", 20, 69.85, 128, 84,
    )
    assert visit.heart_rate == 72
    assert [(p.drug, p.rxnorm, p.is_psychiatric, p.status) for p in prescriptions] == [
        ("sertraline", "36437", True, "active"),
        ("tramadol", "10689", False, "active"),
    ]
    assert (assessment.source, assessment.external_id, assessment.total) == ("self-report", "portal-77", 10)
    kinds = {(f.kind, f.severity) for f in flags}
    assert ("self_harm", "urgent") in kinds  # the newest PHQ-9 goes through the flag rules
    assert ("imported_medication_review", "high") in kinds  # the review's finding waits for a prescriber
    review = next(f for f in flags if f.kind == "imported_medication_review")
    assert "No prescriber has reviewed this yet" in review.summary


def test_bulk_import_is_for_administrators_and_the_command_line(engine: Engine, tmp_path: Path) -> None:
    nurse = make_user(engine, "nurse", team_id=make_team(engine))
    export = _tiny_export(tmp_path / "one", resources=[_patient("p1", "MRN-C1")])
    with pytest.raises(PermissionDenied):
        import_bulk(nurse, export)
    assert main(["import-bulk", str(export)]) == 0
    assert main(["import-bulk", str(export)]) == 0  # a duplicate is not an error
    with read_session(engine) as session:
        assert session.scalars(select(Patient.mrn)).all() == ["MRN-C1"]
