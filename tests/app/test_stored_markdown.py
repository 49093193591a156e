"""Names stored in the database are shown as typed, never rendered as Markdown (no links, no external images).

Streamlit renders titles, button labels, captions, expander labels and sidebar text as Markdown. A stored name
reaches them escaped: the element's value is the escaped text (every Markdown character preceded by a
backslash), so the browser shows the characters and builds no link and fetches no image.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine, update

from db.engine import write_session
from db.models import User
from tests.app.conftest import PROJECT_ROOT, log_in, new_app
from tests.factories import make_patient, make_team, make_user

HOSTILE = "[x](http://evil)![i](http://evil/i.png)"
CHART = str(PROJECT_ROOT / "pages/clinical/patient_chart.py")


def _renders_markdown(value: str) -> bool:
    """True if ``value`` holds an unescaped Markdown link or image (``](`` with no backslash before them)."""
    return re.search(r"(?<!\\)\]\(", value) is not None or re.search(r"(?<!\\)!(?<!\\)\[", value) is not None


def _shown(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


@pytest.fixture
def hostile_names(engine: Engine) -> None:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team, username="dr_md")
    with write_session(engine) as session:
        session.execute(update(User).where(User.id == prescriber.user_id).values(full_name=HOSTILE))
    make_patient(engine, prescriber=prescriber, mrn="MRN-MD", given_name="Ann", family_name=HOSTILE)


def test_a_patient_name_in_the_chart_title_is_plain_text(hostile_names: None) -> None:
    app = log_in(new_app(), "dr_md")
    app.query_params["patient"] = "MRN-MD"
    app = app.switch_page(CHART).run()
    assert not app.exception, app.exception
    [title] = [title.value for title in app.title]
    assert HOSTILE in _shown(title) and not _renders_markdown(title), title


def test_a_patient_name_on_the_picker_button_is_plain_text(hostile_names: None) -> None:
    app = log_in(new_app(), "dr_md").switch_page(CHART).run()
    app.text_input(key="chart_search").input("Ann").run()
    assert not app.exception, app.exception
    [label] = [button.label for button in app.button if "MRN-MD" in _shown(button.label)]
    assert HOSTILE in _shown(label) and not _renders_markdown(label), label


def test_the_user_name_in_the_sidebar_is_plain_text(hostile_names: None) -> None:
    app = log_in(new_app(), "dr_md")
    assert not app.exception, app.exception
    names = [element.value for element in app.sidebar.markdown if HOSTILE in _shown(element.value)]
    assert names and not any(_renders_markdown(value) for value in names), names
