"""Reading a page never writes: opening the triage queue raises no overdue-lab flag (the background sweep or
cron does, tests/db/test_sweep.py)."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.app.conftest import PROJECT_ROOT, log_in, new_app
from tests.db.test_sweep import _counts, _overdue_lithium


def test_opening_the_triage_queue_writes_nothing(engine: Engine) -> None:
    _overdue_lithium(engine)
    app = log_in(new_app(), "rn_sweep")
    before = _counts()
    app.switch_page(str(PROJECT_ROOT / "pages/nurse/triage.py")).run()
    assert not app.exception, app.exception
    assert _counts() == before
