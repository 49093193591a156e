"""``make install``: which interpreter, refusing one that does not run, and never reusing a half-made .venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from scripts.ensure_venv import SUPPORTED, Interpreter, Plan, Stamp, plan, supported

PROJECT_ROOT = Path(__file__).resolve().parents[2]
THIS_PYTHON = Interpreter("/opt/python/3.12.1/bin/python3.12", "3.12.1")
OTHER_PYTHON = Interpreter("/opt/python/3.11.7/bin/python3.11", "3.11.7")
PYPROJECT = "a" * 64


def _stamp(
    interpreter: Interpreter = THIS_PYTHON, pyproject: str = PYPROJECT, extras: frozenset[str] = frozenset()
) -> str:
    return Stamp(interpreter, pyproject, extras).dumps()


def _plan(
    stamp_text: str | None, extras: frozenset[str] = frozenset(), *, venv: bool = True, python: bool = True
) -> Plan:
    return plan(stamp_text, THIS_PYTHON, PYPROJECT, extras, venv_exists=venv, venv_python_exists=python)


def test_every_supported_python_is_allowed_by_pyproject() -> None:
    requires = SpecifierSet(tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    for version in ("3.11.7", "3.12.1", "3.13.0"):
        assert version in requires
        assert supported(tuple(int(part) for part in version.split(".")[:2]))  # type: ignore[arg-type]
    for version in ("3.10.13", "3.14.0"):
        assert version not in requires
        assert not supported(tuple(int(part) for part in version.split(".")[:2]))  # type: ignore[arg-type]
    assert SUPPORTED == ((3, 11), (3, 13))
    # The Makefile picks a default interpreter with the same range.
    assert "(3, 11) <= sys.version_info[:2] <= (3, 13)" in (PROJECT_ROOT / "Makefile").read_text()


def test_a_missing_venv_is_created() -> None:
    decision = _plan(None, venv=False, python=False)
    assert (decision.rebuild, decision.install, decision.reason) == (True, True, "creating it")


@pytest.mark.parametrize("python_exists", [True, False])
def test_a_venv_without_a_stamp_is_made_again_not_reused(python_exists: bool) -> None:
    decision = _plan(None, python=python_exists)
    assert decision.rebuild and decision.install
    assert "did not finish" in decision.reason


def test_a_venv_whose_python_is_gone_is_made_again() -> None:
    assert _plan(_stamp(), python=False).rebuild


def test_a_venv_made_with_another_interpreter_is_made_again() -> None:
    decision = _plan(_stamp(OTHER_PYTHON), frozenset({"test"}))
    assert decision.rebuild and decision.extras == {"test"}
    assert "3.11.7" in decision.reason and "3.12.1" in decision.reason


def test_a_stamp_from_the_old_makefile_is_not_trusted() -> None:
    decision = _plan("")  # the old Makefile touched an empty .installed
    assert decision.rebuild and "does not record its interpreter" in decision.reason


def test_changed_pyproject_reinstalls_in_place_and_keeps_the_extras() -> None:
    decision = _plan(_stamp(pyproject="b" * 64, extras=frozenset({"test"})))
    assert (decision.rebuild, decision.install, decision.extras) == (False, True, {"test"})


def test_asking_for_more_extras_installs_them_in_place() -> None:
    decision = _plan(_stamp(), frozenset({"test"}))
    assert (decision.rebuild, decision.install, decision.extras) == (False, True, {"test"})


def test_a_finished_venv_for_the_same_interpreter_is_left_alone() -> None:
    # `make run` after `make install-test`: the test extras stay recorded.
    decision = _plan(_stamp(extras=frozenset({"test"})))
    assert (decision.rebuild, decision.install, decision.extras, decision.reason) == (
        False,
        False,
        {"test"},
        "up to date",
    )


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """What `make install` reads, in a scratch folder: the Makefile, pyproject.toml and the helper."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    (tmp_path / "scripts").mkdir()
    for name in ("Makefile", "pyproject.toml", "scripts/ensure_venv.py"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    return tmp_path


def _make(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    # No package index: nothing is downloaded, so an install that gets as far as pip fails quickly.
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        ["make", "--no-print-directory", *arguments], cwd=project, env=env, capture_output=True, text=True, timeout=240
    )


def test_an_interpreter_that_does_not_run_is_reported_and_nothing_is_built(project_copy: Path) -> None:
    shim = project_copy / "python3.12"
    # What a pyenv shim prints for a version that is not installed.
    shim.write_text('#!/bin/sh\necho "pyenv: python3.12: command not found" >&2\nexit 127\n')
    shim.chmod(0o755)

    result = _make(project_copy, "install", f"PYTHON={shim}")

    assert result.returncode != 0
    assert f"the interpreter PYTHON={shim} does not run" in result.stderr
    assert "pyenv: python3.12: command not found" in result.stderr
    assert not (project_copy / ".venv").exists()


def test_an_unsupported_interpreter_is_refused(project_copy: Path) -> None:
    helper = project_copy / "scripts" / "ensure_venv.py"
    # The interpreter running the tests stands in for a too-old one: the copy's supported range excludes it.
    helper.write_text(helper.read_text().replace("SUPPORTED = ((3, 11), (3, 13))", "SUPPORTED = ((3, 99), (3, 99))"))

    result = _make(project_copy, "install", f"PYTHON={sys.executable}")

    assert result.returncode != 0
    assert "is not supported; this project runs on Python 3.99 to 3.99" in result.stderr
    assert not (project_copy / ".venv").exists()


def test_without_python_make_keeps_the_interpreter_the_venv_was_made_with(project_copy: Path) -> None:
    real_python = os.path.realpath(sys.executable)
    (project_copy / ".venv").mkdir()
    stamp = Stamp(Interpreter(real_python, "3.x"), PYPROJECT, frozenset()).dumps()
    (project_copy / ".venv" / ".installed").write_text(stamp)
    env_without_python = {key: value for key, value in os.environ.items() if key != "PYTHON"}

    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "install"],
        cwd=project_copy,
        env=env_without_python,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert dry_run.returncode == 0, dry_run.stderr
    assert f'"{real_python}" scripts/ensure_venv.py --venv .venv' in dry_run.stdout


@pytest.mark.slow
def test_a_half_made_venv_is_replaced_and_a_failed_install_leaves_no_stamp(project_copy: Path) -> None:
    venv = project_copy / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("left over by an interrupted install\n")
    real_python = os.path.realpath(sys.executable)

    result = _make(project_copy, "install", f"PYTHON={real_python}")

    version = ".".join(map(str, sys.version_info[:3]))
    assert f"make: using Python {version} ({real_python}) for .venv: an earlier install did not finish" in result.stdout
    # Made again from scratch: the left-over file is gone and a real interpreter is in its place.
    assert (venv / "bin" / "python").is_symlink() or (venv / "bin" / "python").stat().st_size > 1000
    # pip cannot reach an index here, so the project install fails: reported, and no stamp is written.
    assert result.returncode != 0
    assert "is left unfinished (no .installed stamp)" in result.stderr
    assert not (venv / ".installed").exists()
