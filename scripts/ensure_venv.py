"""Make ``.venv`` match the interpreter that runs this script (``make install`` / ``make install-test``).

``python3.12 scripts/ensure_venv.py [--venv .venv] [--extras test]``

It says which interpreter it uses, then:

- refuses an interpreter outside the supported versions (the same range as pyproject.toml's requires-python);
- rebuilds ``.venv`` from scratch when it was made with another interpreter or when an earlier install did
  not finish (no stamp), so a half-made environment is never reused;
- reinstalls the project into it when pyproject.toml changed or more extras are asked for;
- writes the stamp ``.venv/.installed`` only after every step succeeded.

It runs on the bare interpreter before any dependency is installed, so it uses the standard library only and
parses on older Pythons (to be able to say that they are too old).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED = ((3, 11), (3, 13))  # oldest and newest minor version, inclusive; tests compare with pyproject.toml
PROJECT_ROOT = Path(__file__).resolve().parents[1]
STAMP_NAME = ".installed"


@dataclass(frozen=True)
class Interpreter:
    executable: str  # the real file, so a shim, a symlink and a venv's python all name the same interpreter
    version: str

    @classmethod
    def running(cls) -> Interpreter:
        return cls(os.path.realpath(sys.executable), platform.python_version())

    def describe(self) -> str:
        return f"Python {self.version} ({self.executable})"


@dataclass(frozen=True)
class Stamp:
    """What a finished install recorded: the interpreter, the pyproject.toml it installed, and the extras."""

    interpreter: Interpreter
    pyproject_sha256: str
    extras: frozenset[str] = field(default_factory=frozenset)

    def dumps(self) -> str:
        return (
            f"executable={self.interpreter.executable}\nversion={self.interpreter.version}\n"
            f"pyproject_sha256={self.pyproject_sha256}\nextras={','.join(sorted(self.extras))}\n"
        )

    @classmethod
    def loads(cls, text: str) -> Stamp | None:
        values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        try:
            interpreter = Interpreter(values["executable"], values["version"])
            return cls(interpreter, values["pyproject_sha256"], frozenset(filter(None, values["extras"].split(","))))
        except KeyError:
            return None


@dataclass(frozen=True)
class Plan:
    rebuild: bool  # delete .venv and create it again
    install: bool  # pip-install the project (always true when rebuilding)
    reason: str
    extras: frozenset[str] = field(default_factory=frozenset)


def supported(version_info: tuple[int, int]) -> bool:
    return SUPPORTED[0] <= version_info <= SUPPORTED[1]


def plan(
    stamp_text: str | None,
    wanted: Interpreter,
    pyproject_sha256: str,
    extras: frozenset[str],
    *,
    venv_exists: bool,
    venv_python_exists: bool,
) -> Plan:
    """Decide what to do with the virtual environment; pure, so the tests can cover every case.

    ``stamp_text`` is the content of ``.venv/.installed``, or None when there is none.
    """
    stamp = Stamp.loads(stamp_text) if stamp_text is not None else None
    if not venv_exists:
        return Plan(True, True, "creating it", extras)
    if stamp_text is None or not venv_python_exists:
        return Plan(True, True, "an earlier install did not finish; making it again from scratch", extras)
    if stamp is None:
        reason = "it does not record its interpreter (an older Makefile made it); making it again"
        return Plan(True, True, reason, extras)
    if stamp.interpreter != wanted:
        return Plan(
            True,
            True,
            f"it was made with {stamp.interpreter.describe()}, not {wanted.describe()}; making it again",
            extras,
        )
    if stamp.pyproject_sha256 != pyproject_sha256:
        return Plan(False, True, "pyproject.toml changed; installing again", stamp.extras | extras)
    if not extras <= stamp.extras:
        added = ", ".join(sorted(extras - stamp.extras))
        return Plan(False, True, f"adding the extras: {added}", stamp.extras | extras)
    return Plan(False, False, "up to date", stamp.extras)


def _run(command: list[str]) -> None:
    print("  $ " + " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=PROJECT_ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", default=".venv", help="the virtual environment's folder (default .venv)")
    parser.add_argument("--extras", default="", help="comma-separated optional dependencies, e.g. test")
    args = parser.parse_args(argv)

    wanted = Interpreter.running()
    lowest, highest = (".".join(map(str, version)) for version in SUPPORTED)
    if not supported(sys.version_info[:2]):
        print(
            f"make: {wanted.describe()} is not supported; this project runs on Python {lowest} to {highest}.\n"
            f"Choose one with PYTHON=..., e.g. make install PYTHON=python{highest}",
            file=sys.stderr,
        )
        return 1
    venv = (PROJECT_ROOT / args.venv).resolve()
    stamp_path = venv / STAMP_NAME
    venv_python = venv / "bin" / "python"
    pyproject_sha256 = hashlib.sha256((PROJECT_ROOT / "pyproject.toml").read_bytes()).hexdigest()
    extras = frozenset(filter(None, (extra.strip() for extra in args.extras.split(","))))
    stamp_text = stamp_path.read_text() if stamp_path.is_file() else None
    decision = plan(
        stamp_text,
        wanted,
        pyproject_sha256,
        extras,
        venv_exists=venv.exists(),
        venv_python_exists=venv_python.is_file(),
    )
    print(f"make: using {wanted.describe()} for {args.venv}: {decision.reason}", flush=True)
    if not decision.install:
        return 0
    # From here on .venv is unfinished until the stamp is written again.
    stamp_path.unlink(missing_ok=True)
    try:
        if decision.rebuild:
            if venv.exists():
                shutil.rmtree(venv)
            # The real interpreter file, not sys.executable: that may be the very .venv being replaced.
            _run([wanted.executable, "-m", "venv", str(venv)])
            _run([str(venv_python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        target = f".[{','.join(sorted(decision.extras))}]" if decision.extras else "."
        _run([str(venv_python), "-m", "pip", "install", "--quiet", "-e", target])
    except (subprocess.CalledProcessError, OSError) as error:
        print(
            f"make: installing into {args.venv} failed ({error}).\n"
            f"{args.venv} is left unfinished (no {STAMP_NAME} stamp), so the next make builds it again.",
            file=sys.stderr,
        )
        return 1
    temporary = stamp_path.with_suffix(".tmp")
    temporary.write_text(Stamp(wanted, pyproject_sha256, decision.extras).dumps())
    temporary.replace(stamp_path)
    print(f"make: {args.venv} is ready ({wanted.describe()})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
