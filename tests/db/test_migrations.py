"""Alembic migrations build the schema on both databases, and go down and up again cleanly."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import inspect

from db.engine import make_engine
from db.migrate import downgrade, upgrade
from db.models import Base


def test_upgrade_downgrade_upgrade_builds_the_models_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    expected = set(Base.metadata.tables)
    assert expected <= set(inspect(engine).get_table_names())

    downgrade(database_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    upgrade(database_url, "head")
    tables = set(inspect(engine).get_table_names())
    assert expected <= tables
    # The migrated schema has every column the models declare, so the ORM and the migrations agree.
    for table in Base.metadata.sorted_tables:
        migrated = {column["name"] for column in inspect(engine).get_columns(table.name)}
        assert migrated == {column.name for column in table.columns}, table.name
    engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'pragmas.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    engine.dispose()


def test_downgrading_below_corrected_self_reports_is_refused_rather_than_merging_their_versions(
    database_url: str,
) -> None:
    import pytest
    from sqlalchemy import select

    from db.engine import write_session
    from db.models import Assessment
    from tests.factories import make_patient

    engine = make_engine(database_url)
    patient_id = make_patient(engine)
    with write_session(engine) as session:
        first = Assessment(
            patient_id=patient_id,
            instrument="PHQ-9",
            answers=[0] * 9,
            total=0,
            source="self-report",
            administered_at=datetime(2026, 1, 5),
            external_id="r-1",
        )
        session.add(first)
        session.flush()
        session.add(
            Assessment(
                patient_id=patient_id,
                instrument="PHQ-9",
                answers=[0] * 8 + [2],
                total=2,
                source="self-report",
                administered_at=datetime(2026, 1, 5),
                external_id="r-1",
                supersedes_id=first.id,
            )
        )

    with pytest.raises(RuntimeError, match="corrected self-reports exist"):
        downgrade(database_url, "0004")

    with engine.connect() as connection:  # nothing changed: both versions and their link are still there
        rows = connection.execute(select(Assessment.external_id, Assessment.supersedes_id)).all()
    assert sorted(rows, key=str) == sorted([("r-1", None), ("r-1", first.id)], key=str)
    engine.dispose()


def test_downgrading_below_retracted_self_reports_is_refused_rather_than_counting_them_again(
    database_url: str,
) -> None:
    import pytest
    from sqlalchemy import select

    from db.engine import write_session
    from db.models import Assessment
    from tests.factories import make_patient

    engine = make_engine(database_url)
    patient_id = make_patient(engine)
    with write_session(engine) as session:
        session.add(
            Assessment(
                patient_id=patient_id, instrument="PHQ-9", answers=[0] * 9, total=0, source="self-report",
                administered_at=datetime(2026, 1, 5), external_id="r-1", retracted_at=datetime(2026, 1, 6),
                retracted_reason="entered in error",
            )
        )

    with pytest.raises(RuntimeError, match="retracted self-reports exist"):
        downgrade(database_url, "0009")

    with engine.connect() as connection:  # the mark is still there
        assert connection.execute(select(Assessment.retracted_reason)).scalars().all() == ["entered in error"]
    engine.dispose()


def test_audit_rows_from_before_0013_are_sealed_and_verify_after_the_upgrade(database_url: str) -> None:
    """Rows the old code chained in the row itself (``prev_hash``) stay verifiable after 0013, and the sealer
    links them into the new chain together with the rows written after the upgrade."""
    from db.audit import verify_chain
    from db.audit_seal import seal_pending
    from db.engine import read_session
    from tests.db.audit_attacks import write_events, write_legacy_rows

    downgrade(database_url, "0009")
    engine = make_engine(database_url)
    # The old code's rows, written while audit_seals does not exist yet (0013 leaves audit_events' columns alone).
    legacy = write_legacy_rows(engine, 3, keyed=True)
    engine.dispose()
    upgrade(database_url, "head")
    engine = make_engine(database_url)
    current = write_events(engine, 2)
    assert seal_pending(engine).sealed == 5
    with read_session(engine) as session:
        result = verify_chain(session)
    assert result.intact, result.problem
    assert (result.rows_checked, result.sealed_rows, result.head_id) == (5, 5, current[-1])
    assert legacy[0] < legacy[-1] < current[0]
    engine.dispose()
