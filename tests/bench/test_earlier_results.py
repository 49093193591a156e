"""--append: a run that measures some sizes keeps the earlier results of the others, and the earlier browser and
write timings (a 100,000-patient run with other weeks of history once dropped the 10,000 run's browser timings)."""

from __future__ import annotations

import json
from dataclasses import asdict

from bench.__main__ import PageResult, RunInfo, earlier_results
from bench.browser import BrowserResult, BrowserRunInfo
from bench.throughput import ThroughputResult


def _page(backend: str, patients: int) -> PageResult:
    return PageResult(backend, patients, "overview", 60.0, 61.0, 80.0, 60.0, 4, 1.7, 300.0, 500)


def _run(backend: str, patients: int) -> RunInfo:
    return RunInfo(backend, patients, 104, None, (1.0, 2.0, 3.0), (1.5, 2.0, 3.0), {"supervisor": 600.0}, 145.0)


def test_append_keeps_the_sizes_not_measured_again_and_every_browser_and_write_timing() -> None:
    browser = BrowserResult("sqlite", "login to caseload", 1200, 1226, 3, 1500)
    browser_run = BrowserRunInfo("sqlite", 10_000, (0.5, 1.0, 2.0), (1.0, 1.0, 2.0), {"prescriber": [1]}, [1], 0)
    writes = ThroughputResult("postgresql", 20, 20.0, 3000, 150.0, 120.0, 190.0, 0, 0, 5.5, 0.0)
    # Through JSON, as results.json stores it (tuples come back as lists).
    report = json.loads(
        json.dumps(
            {
                "results": [asdict(_page("sqlite", 10_000)), asdict(_page("sqlite", 100_000))],
                "runs": [asdict(_run("sqlite", 10_000)), asdict(_run("sqlite", 100_000))],
                "browser": [asdict(browser)],
                "browser_runs": [asdict(browser_run)],
                "writes": [asdict(writes)],
            }
        )
    )
    kept = earlier_results(report, {("sqlite", 100_000)})
    assert kept.results == [_page("sqlite", 10_000)]
    assert kept.runs == [_run("sqlite", 10_000)]
    assert kept.browser == [browser] and kept.browser_runs == [browser_run] and kept.writes == [writes]
