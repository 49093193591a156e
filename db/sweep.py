"""Raise the flags that time alone triggers (labs overdue past the grace period): ``python -m db.sweep``.

Safe to run as often as you like (for example every 15 minutes from cron): a cause never gets a second
open flag. Each app server also runs it in the background every ``SWEEP_INTERVAL_MINUTES`` (0 turns that off,
for deployments that schedule it with cron), so that reading a page never writes.
"""

from __future__ import annotations

import logging
import threading

from db.commands.flags import raise_overdue_lab_flags

log = logging.getLogger(__name__)
_started_lock = threading.Lock()
_started: threading.Thread | None = None


def _loop(interval_seconds: float, stop: threading.Event) -> None:
    # First sweep one interval after start: a server that restarts in a loop does not sweep in a loop.
    while not stop.wait(interval_seconds):
        try:
            raised = raise_overdue_lab_flags()
            if raised:
                log.info("%s overdue-lab flag(s) raised", raised)
        except Exception:  # a failed sweep (database away) must not end the loop; the next one retries
            log.exception("overdue-lab sweep failed")


def start_background_sweep(interval_seconds: float, *, stop: threading.Event | None = None) -> threading.Thread | None:
    """Start the sweep loop once per process (later calls return the running thread); None when disabled."""
    global _started
    if interval_seconds <= 0:
        return None
    with _started_lock:
        if _started is None or not _started.is_alive():
            _started = threading.Thread(
                target=_loop, args=(interval_seconds, stop or threading.Event()), name="overdue-lab-sweep", daemon=True
            )
            _started.start()
        return _started


def main() -> int:
    print(f"{raise_overdue_lab_flags()} overdue-lab flag(s) raised")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
