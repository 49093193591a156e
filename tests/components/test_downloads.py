"""CSV formula injection (OWASP): every text cell a spreadsheet would run as a formula is neutralised."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from components.downloads import csv_bytes, neutralise_cell


@pytest.mark.parametrize(
    "hostile",
    ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"],
)
def test_a_cell_starting_a_formula_is_prefixed_with_a_quote(hostile: str) -> None:
    table = pd.DataFrame({"Patient": [hostile], "MRN": ["IOP-1"]})
    [row] = list(csv.DictReader(io.StringIO(csv_bytes(table).decode())))
    assert row["Patient"] == "'" + hostile
    assert row["MRN"] == "IOP-1"


def test_numbers_and_ordinary_text_are_left_alone() -> None:
    table = pd.DataFrame({"PHQ-9 Δ prev": [-3, 2], "Patient": ["Rivera, Ana", "O'Neil - Bo"], "Overdue": [True, False]})
    rows = list(csv.DictReader(io.StringIO(csv_bytes(table).decode())))
    assert [(r["PHQ-9 Δ prev"], r["Patient"], r["Overdue"]) for r in rows] == [
        ("-3", "Rivera, Ana", "True"),
        ("2", "O'Neil - Bo", "False"),
    ]


def test_a_hostile_column_header_is_neutralised_too() -> None:
    assert csv_bytes(pd.DataFrame({"=cmd": ["a"]})).decode().splitlines()[0] == '"\'=cmd"'
    assert neutralise_cell(None) is None and neutralise_cell(5) == 5
