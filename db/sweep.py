"""Raise the flags that time alone triggers (labs overdue past the grace period): ``python -m db.sweep``.

Safe to run as often as you like (for example every 15 minutes from cron): a cause never gets a second
open flag.
"""

from __future__ import annotations

from db.commands.flags import raise_overdue_lab_flags


def main() -> int:
    print(f"{raise_overdue_lab_flags()} overdue-lab flag(s) raised")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
