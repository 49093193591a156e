"""Create the first administrator on a new deployment: ``python -m db.create_admin USERNAME "Full Name"``.

The password is read from the ADMIN_PASSWORD environment variable or asked for at the prompt; it is never
taken from the command line, where it would show in the process list and shell history.
"""

from __future__ import annotations

import getpass
import os
import sys

from db.commands import InvalidInput
from db.commands.users import create_user


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    username, full_name = argv
    password = os.environ.get("ADMIN_PASSWORD") or getpass.getpass("Password for the new administrator: ")
    try:
        user_id = create_user(None, username=username, full_name=full_name, role="admin", password=password)
    except InvalidInput as error:
        print(f"not created: {error}", file=sys.stderr)
        return 1
    print(f"administrator {username!r} created (id {user_id})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
