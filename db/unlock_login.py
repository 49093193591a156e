"""Let a user whose logins are being delayed log in at once: ``python -m db.unlock_login USERNAME``.

Repeated failed logins make each further attempt for that name wait a doubling delay (at most
``LOGIN_DELAY_CAP_SECONDS``); nothing ever locks an account for good. This command, run by an operator on the
server (it needs the database, not an app login, so it works when every administrator is being delayed), makes
the failures so far stop counting, and is audited. Address throttling is not changed: it ends by itself.
"""

from __future__ import annotations

import sys

from db.auth import clear_login_delays


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    if not clear_login_delays(argv[0]):
        print(f"no user named {argv[0]!r}", file=sys.stderr)
        return 1
    print(f"{argv[0]!r} may log in again now")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
