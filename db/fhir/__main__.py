"""Command line for FHIR R4 exchange (synthetic data only).

    python -m db.fhir export --out DIR [--base-url URL] [--user USERNAME] [--database-url URL] [--batch-size N]
    python -m db.fhir import-reports FILE [--user USERNAME] [--database-url URL]
    python -m db.fhir onboard FILE [--prescriber USERNAME] [--user USERNAME] [--database-url URL]
    python -m db.fhir import-bulk DIR [--prescriber USERNAME] [--user USERNAME] [--database-url URL]

Without ``--user`` the command acts as the system (an operator on the server, like ``python -m db.sweep``):
it sees the whole program and its audit events carry no user. With ``--user`` it acts as that active
account, with that role's permissions and scope, exactly as in the app. FILE is a Bundle (JSON) or NDJSON;
DIR is a bulk export (its manifest.json and NDJSON files).
Global options (``--user``, ``--database-url``) come before the command.
Exit status: 0 done, 1 input rejected (unreadable, too large or too deeply nested, invalid, or refused by the
safety review), 3 permission refused, 4 some resources (import-bulk: some patients) of an import were rejected.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, select

from db.auth import actor_for
from db.commands import InvalidInput, SafetyBlock
from db.commands.bulk_import import BULK_STATUSES, import_bulk
from db.commands.fhir import STATUSES, import_self_reports, onboard_patient
from db.engine import get_engine, make_engine, read_session
from db.fhir.bulk import export_ndjson
from db.fhir.parsing import FhirInputError, check_input_size
from db.models import User
from db.permissions import Actor, PermissionDenied


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m db.fhir", description="FHIR R4 export and import.")
    parser.add_argument("--database-url", default=None, help="database URL (default: DATABASE_URL or data/iop.db)")
    parser.add_argument("--user", default=None, help="act as this user (default: the system)")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="bulk export as NDJSON, one file per resource type")
    export.add_argument("--out", type=Path, required=True, help="output directory")
    export.add_argument("--batch-size", type=int, default=250, help="patients read per batch")
    export.add_argument(
        "--base-url",
        default=None,
        help="where the files will be served from (default: FHIR_EXPORT_BASE_URL or file://)",
    )
    reports = commands.add_parser("import-reports", help="import self-reported PHQ-9 / GAD-7")
    reports.add_argument("file", type=Path)
    onboard = commands.add_parser("onboard", help="create a patient from a Bundle")
    onboard.add_argument("file", type=Path)
    onboard.add_argument("--prescriber", default=None, help="username of the prescriber to assign (default none)")
    bulk = commands.add_parser("import-bulk", help="import a whole bulk export (into an empty database)")
    bulk.add_argument("directory", type=Path)
    bulk.add_argument("--prescriber", default=None, help="username of the prescriber to assign (default none)")
    return parser


def _actor(username: str | None, engine: Engine) -> Actor | None:
    if username is None:
        return None
    with read_session(engine) as session:
        user = session.scalar(select(User).where(User.username == username.strip().lower(), User.is_active))
        if user is None:
            raise SystemExit(f"no active user {username!r}")
        return actor_for(user)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    engine = make_engine(args.database_url) if args.database_url else get_engine()
    actor = _actor(args.user, engine)
    started = time.perf_counter()
    try:
        if args.command == "export":
            counts = export_ndjson(actor, args.out, batch_size=args.batch_size, base_url=args.base_url, engine=engine)
            for name, count in counts.items():
                print(f"{name + '.ndjson':<28}{count:>10,}")
            print(f"{sum(counts.values()):,} resources written to {args.out} in {time.perf_counter() - started:.1f} s")
            return 0
        if args.command == "import-bulk":
            return _run_bulk_import(args, actor, engine)
        return _run_import(args, actor, engine)
    except PermissionDenied as denied:
        print(f"refused: {denied}", file=sys.stderr)
        return 3
    except InvalidInput as error:
        print(f"rejected: {error}", file=sys.stderr)
        return 1
    except SafetyBlock as block:
        print("refused by the safety review:", file=sys.stderr)
        for reason in block.reasons:
            print(f"  - {reason}", file=sys.stderr)
        return 1


def _run_bulk_import(args: argparse.Namespace, actor: Actor | None, engine: Engine) -> int:
    results = import_bulk(actor, args.directory, prescriber_username=args.prescriber, engine=engine)
    for result in results:
        print(
            f"{result.status:<10}{result.mrn:<14}{result.detail}"
            + (f" [flags: {result.flags}]" if result.flags else "")
        )
    statuses = [result.status for result in results]
    print(", ".join(f"{statuses.count(name)} {name}" for name in BULK_STATUSES) + " patients")
    return 0 if "rejected" not in statuses else 4


def _run_import(args: argparse.Namespace, actor: Actor | None, engine: Engine) -> int:
    try:
        check_input_size(args.file.stat().st_size)  # before reading it into memory
        payload = args.file.read_bytes()
    except FhirInputError as error:
        raise InvalidInput({"file": str(error)}) from error
    except OSError as error:
        raise InvalidInput({"file": f"cannot be read ({error.strerror})"}) from error
    if args.command == "onboard":
        result = onboard_patient(actor, payload, prescriber_username=args.prescriber, engine=engine)
        print(
            f"patient {result.mrn} created (id {result.patient_id}): {result.diagnoses} conditions, "
            f"{result.allergies} allergies, {result.medications} medications; {result.ignored} resources ignored"
        )
        return 0
    results = import_self_reports(actor, payload, engine=engine)
    for result in results:
        print(
            f"{result.status:<10}{result.resource:<40}{result.mrn:<14}{result.detail}"
            + (f" [flags: {result.flags}]" if result.flags else "")
        )
    statuses = [result.status for result in results]
    print(", ".join(f"{statuses.count(name)} {name}" for name in STATUSES))
    return 0 if "rejected" not in statuses else 4


if __name__ == "__main__":
    raise SystemExit(main())
