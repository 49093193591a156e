"""Bulk export in the layout of FHIR Bulk Data: one ``<ResourceType>.ndjson`` per type plus a manifest.

The manifest follows the Bulk Data Access IG's complete-status response: ``transactionTime`` (the instant just
before the export's snapshot was taken: every change committed before it is in the files, none after it),
``request``, ``requiresAccessToken``, ``output`` (``type``, absolute ``url``, ``count``) and ``error``. The URLs
are absolute, from ``FHIR_EXPORT_BASE_URL`` (or ``--base-url``): where the files will be served from; without
one, the ``file://`` URL of the output directory. The published Questionnaires (PHQ-9, GAD-7) are written as
``Questionnaire.ndjson``, so a sender can build self-reports the import accepts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from db.commands.exports import record_export
from db.engine import utcnow
from db.fhir.questionnaires import published_questionnaires
from db.fhir.resources import instant
from db.permissions import Actor
from db.queries.fhir import BULK_RESOURCE_TYPES, DEFAULT_BATCH_SIZE, program_resources
from db.settings import get_settings

MANIFEST_NAME = "manifest.json"
QUESTIONNAIRE = "Questionnaire"


def export_base_url(out_dir: Path, configured: str | None = None) -> str:
    """Where the files will be fetched from, ending in ``/``: ``configured`` (``--base-url``), else the setting
    ``FHIR_EXPORT_BASE_URL``, else the ``file://`` URL of ``out_dir``."""
    base = configured or get_settings().fhir_export_base_url or out_dir.resolve().as_uri()
    return base.rstrip("/") + "/"


def export_ndjson(
    actor: Actor | None,
    out_dir: Path,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    base_url: str | None = None,
    engine: Engine | None = None,
) -> dict[str, int]:
    """Write every patient in the actor's scope (the whole program for the system) as NDJSON files in
    ``out_dir``, the published Questionnaires, and the manifest, and audit the disclosure; returns the number of
    resources written per type."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = export_base_url(out_dir, base_url)
    started = utcnow()  # taken before the snapshot's first read (see program_resources)
    counts = dict.fromkeys(BULK_RESOURCE_TYPES, 0)
    patients = 0
    files: dict[str, IO[str]] = {}
    try:
        for resource_type in BULK_RESOURCE_TYPES:
            files[resource_type] = (out_dir / f"{resource_type}.ndjson").open("w", encoding="utf-8")
        for _patient_id, resources in program_resources(actor, batch_size=batch_size, engine=engine):
            patients += 1
            for resource in resources:
                files[resource["resourceType"]].write(json.dumps(resource, separators=(",", ":")) + "\n")
                counts[resource["resourceType"]] += 1
    finally:
        for handle in files.values():
            handle.close()
    questionnaires = published_questionnaires()
    (out_dir / f"{QUESTIONNAIRE}.ndjson").write_text(
        "".join(json.dumps(q, separators=(",", ":")) + "\n" for q in questionnaires), encoding="utf-8"
    )
    counts[QUESTIONNAIRE] = len(questionnaires)
    manifest = {
        "transactionTime": instant(started),
        # There is no HTTP kick-off (Streamlit serves no FHIR API): the request this export stands for.
        "request": f"{base}$export",
        "requiresAccessToken": False,
        "output": [
            {"type": name, "url": f"{base}{name}.ndjson", "count": count} for name, count in counts.items()
        ],
        "error": [],
    }
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    record_export(
        actor,
        "fhir_bulk_ndjson",
        rows=sum(counts.values()),
        detail=f"{patients} patients; " + ", ".join(f"{name} {count}" for name, count in counts.items() if count),
        engine=engine,
    )
    return counts
