"""Start the app the way the README says: secrets, migrations, demo data on first run, then Streamlit.

``python -m scripts.run_app [--no-seed] [--port 8501]``
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tomllib
from pathlib import Path

from db.settings import PROJECT_ROOT

SECRETS_PATH = PROJECT_ROOT / ".streamlit" / "secrets.toml"


def ensure_local_secrets(path: Path = SECRETS_PATH) -> dict:
    """Create a secrets file with fresh random keys if none exists (never overwrite an operator's)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# Generated on first run with random values; keep it private (it is git-ignored).\n"
            f'cookie_secret = "{secrets.token_urlsafe(48)}"\n\n[auth]\n'
            f'cookie_key = "{secrets.token_urlsafe(48)}"\n'
        )
        path.chmod(0o600)
        print(f"wrote {path} with fresh random keys")
    values = tomllib.loads(path.read_text())
    if "AUDIT_HMAC_KEY" not in os.environ and not values.get("audit", {}).get("hmac_key"):
        # A file from before the audit log was sealed: add the key (a new table at the end; nothing is rewritten).
        with path.open("a") as handle:
            handle.write(
                "\n# Seals the audit log (db.audit_keys). Keep a copy outside the database and its backups: rows\n"
                "# sealed with it cannot be verified without it. To rotate, move it to previous_keys.\n"
                f'[audit]\nhmac_key = "{secrets.token_urlsafe(48)}"\nprevious_keys = []\n'
            )
        print(f"added an audit HMAC key to {path}")
        values = tomllib.loads(path.read_text())
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-seed", action="store_true", help="do not load demo data into an empty database")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8501")))
    parser.add_argument("--address", default=os.environ.get("ADDRESS", "localhost"))
    args = parser.parse_args(argv)

    values = ensure_local_secrets()
    env = dict(os.environ)
    if "STREAMLIT_SERVER_COOKIE_SECRET" not in env and values.get("cookie_secret"):
        env["STREAMLIT_SERVER_COOKIE_SECRET"] = str(values["cookie_secret"])
    # `make run` is the demo: its accounts have no authenticator, so MFA is not required unless asked for.
    env.setdefault("MFA_REQUIRED", "off")
    print(
        f"MFA_REQUIRED={env['MFA_REQUIRED']}: "
        + (
            "prescribers and administrators must enrol an authenticator app at their next login."
            if env["MFA_REQUIRED"].strip().lower() in ("on", "true", "1", "yes")
            else "two-factor authentication is optional in this demo (any user may enrol on its page; "
            "MFA_REQUIRED=on makes it mandatory for prescribers and administrators)."
        ),
        flush=True,
    )
    if "AUDIT_HMAC_KEY" not in env and values.get("audit", {}).get("hmac_key"):
        env["AUDIT_HMAC_KEY"] = str(values["audit"]["hmac_key"])  # for migrations, the seed and the app

    python = sys.executable
    subprocess.run([python, "-m", "db.migrate", "upgrade"], check=True, cwd=PROJECT_ROOT, env=env)
    if not args.no_seed:
        subprocess.run([python, "-m", "seed", "--if-empty"], check=True, cwd=PROJECT_ROOT, env=env)
    print(f"\nStarting the dashboard on http://{args.address}:{args.port}\n", flush=True)
    command = [
        python,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
    ]
    os.chdir(PROJECT_ROOT)
    os.execvpe(python, command, env)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
