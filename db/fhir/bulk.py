"""Bulk export in the layout of FHIR Bulk Data: one ``<ResourceType>.ndjson`` per type plus a manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from db.commands.exports import record_export
from db.engine import utcnow
from db.fhir.resources import instant
from db.permissions import Actor
from db.queries.fhir import BULK_RESOURCE_TYPES, DEFAULT_BATCH_SIZE, program_resources

MANIFEST_NAME = "manifest.json"


def export_ndjson(
    actor: Actor | None, out_dir: Path, *, batch_size: int = DEFAULT_BATCH_SIZE, engine: Engine | None = None
) -> dict[str, int]:
    """Write every patient in the actor's scope (the whole program for the system) as NDJSON files in
    ``out_dir`` and audit the disclosure; returns the number of resources written per type."""
    out_dir.mkdir(parents=True, exist_ok=True)
    started = utcnow()
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
    manifest = {
        "transactionTime": instant(started),
        "request": "python -m db.fhir export",
        "requiresAccessToken": False,
        "output": [{"type": name, "url": f"{name}.ndjson", "count": count} for name, count in counts.items()],
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
