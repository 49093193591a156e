"""The browser timings' section of bench/RESULTS.md: replaced in place (or added before the notes), the rest of the
file left as it was."""

from __future__ import annotations

from bench.__main__ import browser_section, replace_browser_section
from bench.browser import BrowserResult, BrowserRunInfo

REPORT = "# Page benchmarks\n\n| table |\n\n## Runs\n\nrow\n\n## Reading these figures (issue 16)\n\nnotes\n"


def _section(median: float) -> list[str]:
    results = [
        BrowserResult("sqlite", "login to caseload", median, median + 100, 5, 1500),
        BrowserResult("postgresql", "login to caseload", median + 10, median + 200, 5, 1500),
        BrowserResult("sqlite", "answering the 16 PHQ-9/GAD-7 items", 3000, 3300, 5, None),
    ]
    info = BrowserRunInfo("sqlite", 10_000, (1.0, 2.0, 3.0), (1.5, 2.0, 3.0), {"prescriber": [1, 1]}, [2, 2], 0)
    return browser_section(results, [info])


def test_the_section_shows_each_database_as_a_column_with_median_max_and_target() -> None:
    lines = _section(900)
    assert lines[0] == "## In the browser (Chromium) at 10,000 patients"
    assert "| login to caseload | 900 (1000) | 910 (1100) | 1500 |" in lines
    assert "| answering the 16 PHQ-9/GAD-7 items | 3000 (3300) | – | – |" in lines
    assert "| sqlite | 10,000 | 1.00/2.00/3.00 | 1.50/2.00/3.00 | prescriber 1, 1 | 2, 2 | 0 |" in lines


def test_the_section_goes_before_the_notes_and_is_later_replaced_leaving_the_rest_as_it_was() -> None:
    added = replace_browser_section(REPORT, _section(900))
    assert added.index("## In the browser") < added.index("## Reading these figures")
    assert added.startswith("# Page benchmarks\n\n| table |\n\n## Runs\n\nrow\n\n")
    replaced = replace_browser_section(added, _section(800))
    assert "| login to caseload | 800 (900) |" in replaced
    assert "900 (1000)" not in replaced
    assert replaced.count("## In the browser") == 1
    assert replaced.replace("800 (900) | 810 (1000)", "900 (1000) | 910 (1100)") == added
