"""The upload limit is enforced by the server (server.maxUploadSize), not only after Streamlit took 200 MB."""

from __future__ import annotations

import tomllib

from sqlalchemy import Engine

from components.fhir_import import MAX_UPLOAD_BYTES, MAX_UPLOAD_MB
from tests.app.conftest import PROJECT_ROOT, log_in, new_app
from tests.factories import make_team, make_user


def test_the_server_upload_limit_matches_the_page_limit() -> None:
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB == MAX_UPLOAD_BYTES // (1024 * 1024) == 5


def test_the_upload_widget_tells_the_browser_the_same_limit(engine: Engine) -> None:
    make_user(engine, "nurse", team_id=make_team(engine), username="rn_upload")
    app = log_in(new_app(), "rn_upload").switch_page(str(PROJECT_ROOT / "pages/nurse/fhir_import.py")).run()
    assert not app.exception, app.exception
    [uploader] = app.get("file_uploader")
    assert uploader.proto.max_upload_size_mb == 5
