"""Issue 17: every resource of a seeded 300-patient export declares and meets its US Core 6.1.0 profile, checked
offline against the profile requirements in tests/data/us_core_6_1 (tests/fhir_profile_validator.py)."""

from __future__ import annotations

import time
from collections import Counter

from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import Engine

from db.auth import actor_for
from db.engine import read_session
from db.models import Patient, User
from db.queries.fhir import patient_bundle, program_resources
from seed.generator import generate
from tests.fhir_profile_validator import check_all, profiles

EXPECTED_PROFILES = {data["id"] for data in profiles().values()}


def test_a_300_patient_export_meets_us_core_6_1(engine: Engine) -> None:
    started = time.perf_counter()
    generate(engine, seed=17, patients=300)
    seeded = time.perf_counter()
    resources = [resource for _, batch in program_resources(None, engine=engine) for resource in batch]
    exported = time.perf_counter()

    report = check_all(resources)
    checked = time.perf_counter()

    print(  # the figures the README quotes (pytest -s)
        f"\n{len(resources)} resources; seed {seeded - started:.1f} s, export {exported - seeded:.1f} s, "
        f"check {checked - exported:.1f} s\n" + "\n".join(f"  {name}: {n}" for name, n in sorted(report.counts.items()))
    )
    assert report.errors == []
    assert sum(report.counts.values()) == len(resources) == len({(r["resourceType"], r["id"]) for r in resources})
    assert set(report.counts) == EXPECTED_PROFILES, "every profile is exercised by the seeded export"
    # Extensible RxNorm binding: reported, not failed; only medications with a clinical drug in the table pass.
    assert {issue.rule for issue in report.warnings} <= {"extensible-rxnorm-clinical-drug"}
    # Must-support elements the program has data for are sent every time.
    always = {
        "us-core-patient": ["extension:us-core-race", "extension:us-core-ethnicity", "Patient.telecom"],
        "us-core-encounter": ["Encounter.type", "Encounter.participant.individual", "Encounter.identifier"],
        "us-core-medicationrequest": ["MedicationRequest.category", "MedicationRequest.reported[x]"],
        "us-core-servicerequest": ["ServiceRequest.category", "ServiceRequest.requester"],
        "us-core-provenance": ["Provenance.agent.who"],
    }
    for profile, paths in always.items():
        for path in paths:
            assert report.must_support[profile][path] == report.counts[profile], (profile, path)
    # A sample of every resource type still validates against the base R4 models (the whole export is
    # checked with them by tests/db/test_fhir_export.py on a smaller seed).
    first_of_each: dict[str, dict] = {}
    for resource in resources:
        first_of_each.setdefault(resource["resourceType"], resource)
    for resource in first_of_each.values():
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_a_patients_bundle_meets_us_core_6_1_with_references_resolved_inside_it(engine: Engine) -> None:
    generate(engine, seed=17, patients=8)
    _, first = next(iter(program_resources(None, engine=engine)))
    patient_id = int(first[0]["id"])
    with read_session(engine) as session:
        patient = session.get(Patient, patient_id)
        prescriber = actor_for(session.get(User, patient.prescriber_id))
    bundle = patient_bundle(prescriber, patient_id, engine=engine)
    kinds = {entry["fullUrl"]: entry["resource"]["resourceType"] for entry in bundle["entry"]}

    report = check_all([entry["resource"] for entry in bundle["entry"]], resolve=kinds)

    assert report.errors == []
    assert Counter(kinds.values())["Practitioner"] >= 1
