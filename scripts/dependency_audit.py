"""Audit the pinned dependencies (requirements.lock) for known vulnerabilities with pip-audit, and say plainly
how much was actually checked: a dependency the vulnerability service could not be asked about is reported as
NOT checked, never as free of known vulnerabilities.

``python -m scripts.dependency_audit [--lock requirements.lock] [--pip-audit PATH]``: exit 1 if a known
vulnerability is found in an audited dependency, 0 otherwise (including when nothing could be checked, which
is printed as such, with the count).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def summarize(report: dict) -> tuple[list[str], int, int, list[str]]:
    """(vulnerability lines, audited count, not-checked count, not-checked names) from pip-audit's JSON report."""
    found: list[str] = []
    audited = skipped = 0
    not_checked: list[str] = []
    for dependency in report.get("dependencies", []):
        if dependency.get("skip_reason"):
            skipped += 1
            not_checked.append(str(dependency.get("name")))
            continue
        audited += 1
        for vulnerability in dependency.get("vulns", []):
            fixes = ", ".join(vulnerability.get("fix_versions", [])) or "no fix released"
            found.append(
                f"{dependency['name']} {dependency.get('version')}: {vulnerability.get('id')} (fixed in {fixes})"
            )
    return found, audited, skipped, not_checked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lock", default=str(PROJECT_ROOT / "requirements.lock"))
    parser.add_argument("--pip-audit", default=shutil.which("pip-audit") or "pip-audit")
    args = parser.parse_args(argv)
    command = [
        args.pip_audit,
        "-r",
        args.lock,
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "-f",
        "json",
    ]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        report = json.loads(completed.stdout or "{}")
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
        print(f"dependency audit NOT performed: pip-audit could not run ({type(error).__name__}: {error})")
        return 0
    found, audited, skipped, not_checked = summarize(report)
    total = audited + skipped
    if audited == 0:
        print(
            f"dependency audit NOT performed: the vulnerability service could not be reached for any of the {total} "
            "pinned dependencies, so nothing was checked (this is not a clean result)"
        )
    else:
        print(f"dependency audit: {audited} of {total} pinned dependencies checked, {len(found)} known vulnerabilities")
        if not_checked:
            print("  not checked: " + ", ".join(not_checked))
    for line in found:
        print(f"  VULNERABLE {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
