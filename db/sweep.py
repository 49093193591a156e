"""Raise the flags that time alone triggers (labs overdue past the grace period): ``python -m db.sweep``.

Safe to run as often as you like (for example every 15 minutes from cron): a cause never gets a second
open flag. Each app server also runs it in the background every ``SWEEP_INTERVAL_MINUTES`` (0 turns that off,
for deployments that schedule it with cron), so that reading a page never writes.

The audit sealer (db.audit_seal) runs beside it, in its own thread, every ``AUDIT_SEAL_INTERVAL_SECONDS``, and so
does the refresh of the supervisor overview's snapshot (db.program_snapshot), every ``OVERVIEW_REFRESH_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from db.commands.flags import raise_overdue_lab_flags

log = logging.getLogger(__name__)
_started_lock = threading.Lock()
_started: dict[str, threading.Thread] = {}


def _sweep_once() -> None:
    raised = raise_overdue_lab_flags()
    if raised:
        log.info("%s overdue-lab flag(s) raised", raised)


def _seal_once() -> None:
    from db.audit_seal import seal_pending  # late import: the sealer is only needed where it runs

    result = seal_pending()
    if result.problem:
        log.error("audit sealer stopped at row %s: %s", result.blocked_id, result.problem)


def _refresh_overview_once() -> None:
    from db.program_snapshot import refresh_in_background  # late import: only where the loop runs

    refresh_in_background()


def _loop(
    task: Callable[[], None], what: str, interval_seconds: float, stop: threading.Event, first_now: bool
) -> None:
    # Unless ``first_now``, the first run is one interval after start: a server that restarts in a loop does not
    # sweep in a loop.
    if first_now:
        _run(task, what)
    while not stop.wait(interval_seconds):
        _run(task, what)


def _run(task: Callable[[], None], what: str) -> None:
    try:
        task()
    except Exception:  # a failed run (database away) must not end the loop; the next one retries
        log.exception("%s failed", what)


def _start_once(
    name: str,
    task: Callable[[], None],
    interval_seconds: float,
    stop: threading.Event | None,
    *,
    first_now: bool = False,
) -> threading.Thread | None:
    if interval_seconds <= 0:
        return None
    with _started_lock:
        running = _started.get(name)
        if running is None or not running.is_alive():
            running = threading.Thread(
                target=_loop,
                args=(task, name, interval_seconds, stop or threading.Event(), first_now),
                name=name,
                daemon=True,
            )
            running.start()
            _started[name] = running
        return running


def start_background_sweep(interval_seconds: float, *, stop: threading.Event | None = None) -> threading.Thread | None:
    """Start the sweep loop once per process (later calls return the running thread); None when disabled."""
    return _start_once("overdue-lab-sweep", _sweep_once, interval_seconds, stop)


def start_background_sealer(interval_seconds: float, *, stop: threading.Event | None = None) -> threading.Thread | None:
    """Start the audit sealer loop once per process (later calls return the running thread); None when disabled."""
    return _start_once("audit-sealer", _seal_once, interval_seconds, stop)


def start_background_overview_refresh(
    interval_seconds: float, *, stop: threading.Event | None = None
) -> threading.Thread | None:
    """Start the overview snapshot's refresh loop once per process; None when disabled (db.program_snapshot)."""
    # First run at once (a skipped refresh costs one statement): the first supervisor after a start need not wait.
    return _start_once("overview-refresh", _refresh_overview_once, interval_seconds, stop, first_now=True)


def main() -> int:
    print(f"{raise_overdue_lab_flags()} overdue-lab flag(s) raised")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
