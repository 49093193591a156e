"""Create the first accounts of a new deployment from the command line:
``python -m db.create_admin [--role admin|supervisor] USERNAME "Full Name"``.

The first administrator, and the first person who approves what an administrator creates (a supervisor, or a
second administrator), are made here: accounts an administrator creates in the app wait for a second person's
approval, so someone with access to the server starts the chain. These accounts need no approval and keep the
password given here (no forced change); it is read from the ADMIN_PASSWORD environment variable or asked for at
the prompt, never taken from the command line, where it would show in the process list and shell history.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from db.commands import InvalidInput
from db.commands.users import create_user

BOOTSTRAP_ROLES = ("admin", "supervisor")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m db.create_admin", description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=BOOTSTRAP_ROLES, default="admin")
    parser.add_argument("username")
    parser.add_argument("full_name")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 2 if exit_.code else 0
    label = "administrator" if args.role == "admin" else "supervisor"
    password = os.environ.get("ADMIN_PASSWORD") or getpass.getpass(f"Password for the new {label}: ")
    try:
        user_id = create_user(None, username=args.username, full_name=args.full_name, role=args.role, password=password)
    except InvalidInput as error:
        print(f"not created: {error}", file=sys.stderr)
        return 1
    print(f"{label} {args.username!r} created (id {user_id})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
