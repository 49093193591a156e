"""Fast loading: preassigned primary keys and bulk writes inside the caller's single transaction.

ORM objects cost tens of microseconds each; even Core ``insert(table)`` with a list of dicts spends most of
its time in per-row parameter processing. Because every id is assigned here, child rows can point at
parents without a round trip, and each table is written in one bulk call per chunk, in foreign-key order:

- SQLite: ``executemany`` on the driver with values pre-converted exactly as SQLAlchemy stores them
  (``YYYY-MM-DD HH:MM:SS.ffffff`` datetimes, ISO dates, JSON text, 0/1 booleans);
- PostgreSQL: ``COPY ... FROM STDIN`` through psycopg, then the id sequences are moved past our ids;
- anything else: Core ``insert(table)`` executemany.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Date, DateTime, Table, func, insert, select, text

from db.models import (
    Allergy,
    Assessment,
    Diagnosis,
    DoseChange,
    Flag,
    FlagEvent,
    LabOrder,
    LabResult,
    Patient,
    Prescription,
    PrescriptionFill,
    RefillRequest,
    SideEffectReport,
    Team,
    User,
    Visit,
)

# Parents before children, so foreign keys hold at every statement (SQLite checks them immediately).
LOAD_ORDER: tuple[Table, ...] = tuple(
    model.__table__  # type: ignore[misc]
    for model in (
        Team, User, Patient, Allergy, Diagnosis, Prescription, DoseChange, Visit, Assessment, SideEffectReport,
        LabOrder, LabResult, RefillRequest, PrescriptionFill, Flag, FlagEvent,
    )
)
TABLE_NAMES: tuple[str, ...] = tuple(table.name for table in LOAD_ORDER)
CHUNK_ROWS = 20_000


class EncodedJSON(str):
    """A value already serialized to JSON text (for example a shared answer pattern), written as is."""


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is EncodedJSON:
        return str(value)
    return json.dumps(value)


class IdAllocator:
    """Hands out primary keys per table, continuing after whatever ids the table already holds."""

    def __init__(self, connection: Connection) -> None:
        self._next: dict[str, int] = {}
        for table in LOAD_ORDER:
            current = connection.execute(select(func.max(table.c.id))).scalar()
            self._next[table.name] = int(current or 0) + 1

    def take(self, table_name: str) -> int:
        value = self._next[table_name]
        self._next[table_name] = value + 1
        return value


class _TableWriter:
    """Writes row dicts of one table with the fastest path the connection's driver offers."""

    def __init__(self, table: Table, dialect: str, quote: Callable[[str], str]) -> None:
        self.table = table
        self.dialect = dialect
        self.columns = [column.name for column in table.columns]
        self.getter = itemgetter(*self.columns)
        self.json_positions = [i for i, c in enumerate(table.columns) if isinstance(c.type, JSON)]
        self.datetime_positions = [i for i, c in enumerate(table.columns) if isinstance(c.type, DateTime)]
        self.date_positions = [i for i, c in enumerate(table.columns) if isinstance(c.type, Date)
                               and not isinstance(c.type, DateTime)]
        column_list = ", ".join(quote(name) for name in self.columns)
        self.sqlite_insert = (f"INSERT INTO {quote(table.name)} ({column_list}) "
                              f"VALUES ({', '.join('?' for _ in self.columns)})")
        self.copy_statement = f"COPY {quote(table.name)} ({column_list}) FROM STDIN"

    def write(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        if self.dialect == "sqlite":
            connection.exec_driver_sql(self.sqlite_insert, [self._sqlite_values(row) for row in rows])
        elif self.dialect == "postgresql":
            self._copy(connection, rows)
        else:
            connection.execute(insert(self.table), [self._core_values(row) for row in rows])

    def _core_values(self, row: dict[str, Any]) -> dict[str, Any]:
        # The JSON type serializes by itself here, so pre-encoded values are decoded back first.
        for position in self.json_positions:
            name = self.columns[position]
            if type(row[name]) is EncodedJSON:
                row = {**row, name: json.loads(row[name])}
        return row

    def _sqlite_values(self, row: dict[str, Any]) -> tuple[Any, ...]:
        values = list(self.getter(row))
        for position in self.datetime_positions:
            value = values[position]
            if value is not None:
                # SQLAlchemy's SQLite storage format, so string comparisons in SQL keep working.
                values[position] = value.isoformat(" ", "microseconds")
        for position in self.date_positions:
            value = values[position]
            if value is not None:
                values[position] = value.isoformat()
        for position in self.json_positions:
            values[position] = _json_text(values[position])
        return tuple(values)

    def _copy(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        driver_connection = connection.connection.driver_connection
        assert driver_connection is not None
        json_positions = self.json_positions
        with driver_connection.cursor() as cursor, cursor.copy(self.copy_statement) as copy:  # type: ignore[attr-defined]
            for row in rows:
                values = self.getter(row)
                if json_positions:
                    values = list(values)
                    for position in json_positions:
                        values[position] = _json_text(values[position])
                copy.write_row(values)


class RowBuffer:
    """Rows waiting to be written, per table; ``flush`` writes them in load order and counts them."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLE_NAMES}
        self.written: dict[str, int] = dict.fromkeys(TABLE_NAMES, 0)
        self._writers: dict[str, _TableWriter] = {}

    def flush(self, connection: Connection) -> None:
        dialect = connection.dialect.name
        quote = connection.dialect.identifier_preparer.quote
        for table in LOAD_ORDER:
            rows = self.rows[table.name]
            if not rows:
                continue
            writer = self._writers.get(table.name)
            if writer is None:
                writer = self._writers[table.name] = _TableWriter(table, dialect, quote)
            for start in range(0, len(rows), CHUNK_ROWS):
                writer.write(connection, rows[start : start + CHUNK_ROWS])
            self.written[table.name] += len(rows)
            rows.clear()  # in place, so lists the chart builder holds stay the buffer's lists


def reset_postgres_sequences(connection: Connection, table_names: Iterable[str]) -> None:
    """Move each id sequence past the explicit ids we inserted, so later app inserts do not collide."""
    if connection.dialect.name != "postgresql":
        return
    for name in table_names:
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
            )
        )
