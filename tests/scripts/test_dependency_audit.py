"""The dependency audit never reports "no known vulnerabilities" for dependencies it could not check."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from scripts.dependency_audit import main, summarize

REPORT = {
    "dependencies": [
        {"name": "streamlit", "version": "1.67.0", "vulns": []},
        {
            "name": "oldlib",
            "version": "0.1",
            "vulns": [{"id": "PYSEC-2099-1", "fix_versions": ["0.2"]}],
        },
        {"name": "alembic", "skip_reason": "Dependency not found on PyPI and could not be audited: alembic (1.20.1)"},
    ]
}


def test_summary_counts_audited_and_not_checked_dependencies_separately() -> None:
    found, audited, skipped, not_checked = summarize(REPORT)
    assert found == ["oldlib 0.1: PYSEC-2099-1 (fixed in 0.2)"]
    assert (audited, skipped, not_checked) == (2, 1, ["alembic"])


def _fake_pip_audit(tmp_path: Path, report: dict) -> str:
    script = tmp_path / "pip-audit"
    script.write_text(f"#!/bin/sh\ncat <<'JSON'\n{json.dumps(report)}\nJSON\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_nothing_reachable_is_reported_as_not_performed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unreachable = {"dependencies": [REPORT["dependencies"][2]]}
    assert main(["--lock", "requirements.lock", "--pip-audit", _fake_pip_audit(tmp_path, unreachable)]) == 0
    out = capsys.readouterr().out
    assert "NOT performed" in out and "nothing was checked" in out
    assert "0 known vulnerabilities" not in out


def test_a_known_vulnerability_fails_the_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lock", "requirements.lock", "--pip-audit", _fake_pip_audit(tmp_path, REPORT)]) == 1
    out = capsys.readouterr().out
    assert "2 of 3 pinned dependencies checked, 1 known vulnerabilities" in out
    assert "VULNERABLE oldlib 0.1: PYSEC-2099-1" in out and "not checked: alembic" in out
