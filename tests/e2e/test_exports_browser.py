"""A CSV download in a real browser and server: nothing is served before the click, the click downloads the
file built then (deferred data) and writes one export audit row."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.engine import make_engine, read_session
from db.models import AuditEvent
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.browser


def _exports(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with read_session(engine) as session:
            return int(
                session.scalar(
                    select(func.count()).where(AuditEvent.action == "export", AuditEvent.record_type == "caseload")
                )
                or 0
            )
    finally:
        engine.dispose()


def test_the_caseload_csv_is_built_and_audited_only_when_downloaded(  # type: ignore[no-untyped-def]
    app_url: str, e2e_database_url: str, new_page
) -> None:
    page = new_page()
    log_in(page, app_url, "prescriber")
    page.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
    button = page.get_by_role("button", name="Download CSV").filter(visible=True).first
    button.wait_for()
    before = _exports(e2e_database_url)
    assert page.locator("a[href*='/media/']").count() == 0, "no file URL may exist before the click"

    with page.expect_download() as download_info:
        button.click()
    path = download_info.value.path()
    header = Path(path).read_text(encoding="utf-8").splitlines()[0]
    assert '"Patient"' in header and '"MRN"' in header
    assert _exports(e2e_database_url) == before + 1
