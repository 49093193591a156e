"""The supervisor's reassign-patients form, driven through its page as a user would."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from db.engine import read_session
from db.models import Patient, ProgramSnapshot
from db.program_snapshot import refresh_program_snapshot
from db.queries.caseload import program_today
from tests.app.conftest import PROJECT_ROOT, audit_rows, log_in, new_app, rows, shown
from tests.factories import make_patient, make_team, make_user

REASSIGN = str(PROJECT_ROOT / "pages/supervisor/reassign.py")
REASON = "dr_from is on leave for a month"


@pytest.fixture
def caseloads(engine: Engine) -> dict:
    team = make_team(engine)
    other_team = make_team(engine)
    supervisor = make_user(engine, "supervisor", username="sup_reassign")
    from_prescriber = make_user(engine, "prescriber", team_id=team, username="dr_from", licensed_states=["NY"])
    to_prescriber = make_user(engine, "prescriber", team_id=team, username="dr_to", licensed_states=["NY", "NJ"])
    nj_only = make_user(engine, "prescriber", team_id=team, username="dr_nj", licensed_states=["NJ"])
    nurse = make_user(engine, "nurse", team_id=team, username="rn_from")
    other_nurse = make_user(engine, "nurse", team_id=other_team, username="rn_to")
    moved = make_patient(engine, prescriber=from_prescriber, nurse=nurse, state="NY", mrn="MRN-MOVE")
    stays = make_patient(engine, prescriber=from_prescriber, nurse=nurse, state="NY", mrn="MRN-STAY")
    return dict(
        supervisor=supervisor,
        from_prescriber=from_prescriber,
        to_prescriber=to_prescriber,
        nj_only=nj_only,
        nurse=nurse,
        other_nurse=other_nurse,
        other_team=other_team,
        moved=moved,
        stays=stays,
    )


def _fill(caseloads: dict, kind: str, target_id: int) -> AppTest:
    """Open the page and fill the form up to (not including) the click, one step at a time as a user would."""
    app = log_in(new_app(), "sup_reassign").switch_page(REASSIGN).run()
    assert not app.exception, app.exception
    app.selectbox(key="reassign_source").set_value(caseloads["from_prescriber"].full_name).run()
    app.multiselect(key="reassign_patients").set_value([caseloads["moved"]])
    app.radio(key="reassign_kind").set_value(kind).run()
    app.selectbox(key="reassign_target").set_value(target_id)
    app.text_input(key="reassign_reason").input(REASON)
    app.run()
    assert not app.exception, app.exception
    return app


def _assignments(engine: Engine) -> dict[int, tuple[int | None, int | None, int | None]]:
    return {p.id: (p.prescriber_id, p.nurse_id, p.team_id) for p in rows(engine, Patient)}


def test_reassigning_a_patient_to_a_licensed_prescriber_moves_it_once_with_its_audit_event(
    engine: Engine, caseloads: dict
) -> None:
    before = _assignments(engine)
    app = _fill(caseloads, "prescriber", caseloads["to_prescriber"].user_id)
    # Only prescribers licensed in the patient's state are offered.
    offered = app.selectbox(key="reassign_target").options
    assert caseloads["nj_only"].full_name not in " ".join(offered)
    assert any(caseloads["to_prescriber"].full_name in option for option in offered)
    app.button(key="reassign_save").click().run()

    assert not app.exception, app.exception
    assert not app.error
    assert shown(app.success) == ["Moved 1 patient(s). Caseload sizes before and after:"]
    after = _assignments(engine)
    assert after[caseloads["moved"]] == (caseloads["to_prescriber"].user_id, *before[caseloads["moved"]][1:])
    assert after[caseloads["stays"]] == before[caseloads["stays"]]
    events = audit_rows(engine, "reassign_patient")
    assert [(e.patient_id, e.outcome, e.user_id) for e in events] == [
        (caseloads["moved"], "success", caseloads["supervisor"].user_id)
    ]
    assert REASON in (events[0].detail or "")
    # The caseload sizes before and after are shown.
    sizes = app.dataframe[0].value.set_index("clinician")
    assert sizes.loc[caseloads["from_prescriber"].full_name].tolist() == [2, 1]
    assert sizes.loc[caseloads["to_prescriber"].full_name].tolist() == [0, 1]

    # The form was cleared: nothing is chosen, so a second click cannot move anyone again.
    assert app.multiselect(key="reassign_patients").value == []
    assert app.button(key="reassign_save").disabled
    assert len(audit_rows(engine, "reassign_patient")) == 1
    assert _assignments(engine) == after


def test_reassigning_a_patient_to_a_nurse_moves_it_and_its_team_once_with_its_audit_event(
    engine: Engine, caseloads: dict
) -> None:
    before = _assignments(engine)
    app = _fill(caseloads, "nurse", caseloads["other_nurse"].user_id)
    app.button(key="reassign_save").click().run()

    assert not app.exception, app.exception
    assert not app.error
    assert shown(app.success) == ["Moved 1 patient(s). Caseload sizes before and after:"]
    after = _assignments(engine)
    assert after[caseloads["moved"]] == (
        caseloads["from_prescriber"].user_id,
        caseloads["other_nurse"].user_id,
        caseloads["other_team"],
    )
    assert after[caseloads["stays"]] == before[caseloads["stays"]]
    events = audit_rows(engine, "reassign_patient")
    assert [(e.patient_id, e.outcome, e.user_id) for e in events] == [
        (caseloads["moved"], "success", caseloads["supervisor"].user_id)
    ]


def test_a_second_click_on_reassign_to_a_nurse_writes_nothing_more(engine: Engine, caseloads: dict) -> None:
    app = _fill(caseloads, "nurse", caseloads["other_nurse"].user_id)
    app.button(key="reassign_save").click().run()
    assert len(audit_rows(engine, "reassign_patient")) == 1
    if not app.button(key="reassign_save").disabled:
        app.button(key="reassign_save").click().run()  # the impatient second click, after the first save
    assert not app.exception, app.exception
    assert len(audit_rows(engine, "reassign_patient")) == 1


def test_reassigning_without_a_reason_moves_nobody_and_names_the_field(engine: Engine, caseloads: dict) -> None:
    before = _assignments(engine)
    app = _fill(caseloads, "prescriber", caseloads["to_prescriber"].user_id)
    app.text_input(key="reassign_reason").input("   ")
    app.button(key="reassign_save").click().run()
    assert not app.exception, app.exception
    assert len(app.error) == 1 and "Nothing was saved" in app.error[0].value and "reason" in app.error[0].value
    assert not app.success
    assert _assignments(engine) == before
    assert audit_rows(engine, "reassign_patient") == []


def test_the_overview_counts_from_the_summaries_and_drills_down_to_one_caseload(
    engine: Engine, caseloads: dict
) -> None:
    yesterday = program_today() - timedelta(days=1)
    make_patient(engine, prescriber=caseloads["to_prescriber"], mrn="MRN-LATE", next_visit_due=yesterday)
    app = log_in(new_app(), "sup_reassign")  # the supervisor lands on the overview
    assert not app.exception, app.exception
    tables = [frame.value for frame in app.dataframe]
    by_prescriber = next(t for t in tables if "prescriber" in t.columns).set_index("prescriber")
    assert by_prescriber.loc[caseloads["from_prescriber"].full_name, "Active patients"] == 2
    assert by_prescriber.loc[caseloads["to_prescriber"].full_name, "Overdue visits"] == 1
    # Nothing is drilled into until a caseload is chosen.
    assert not any("mrn" in t.columns for t in tables)
    app.selectbox(key="drill_name").set_value(caseloads["to_prescriber"].user_id)
    app.selectbox(key="drill_metric").set_value("overdue_visits").run()
    assert not app.exception, app.exception
    drilled = next(frame.value for frame in app.dataframe if "mrn" in frame.value.columns)
    assert list(drilled["mrn"]) == ["MRN-LATE"]


def test_the_overview_opens_on_its_snapshot_and_recompute_now_refreshes_it(engine: Engine, caseloads: dict) -> None:
    refresh_program_snapshot(engine=engine)
    taken_at = _snapshot_time(engine)
    # A patient admitted after the snapshot: not counted until the next refresh.
    make_patient(engine, prescriber=caseloads["to_prescriber"], mrn="MRN-NEW")
    app = log_in(new_app(), "sup_reassign")
    assert not app.exception, app.exception
    assert any("Figures as of" in caption.value for caption in app.caption)
    assert _active_patients(app, caseloads["to_prescriber"].full_name) is None  # no patients when the snapshot ran

    app.button(key="overview_recompute").click().run()
    assert not app.exception, app.exception
    assert _snapshot_time(engine) > taken_at
    assert _active_patients(app, caseloads["to_prescriber"].full_name) == 1
    assert any("Figures as of" in caption.value for caption in app.caption)

    # Another filter is computed for this view; only the refill turnaround, which no filter changes, is the
    # snapshot's, and the page says so.
    app.multiselect(key="overview_phases").set_value(["intensive"]).run()
    assert not app.exception, app.exception
    notes = [caption.value for caption in app.caption]
    assert not any("Figures as of" in note for note in notes)
    assert any("Figures computed now" in note and "median refill turnaround" in note for note in notes)
    assert not any(button.key == "overview_recompute" for button in app.button)


def _snapshot_time(engine: Engine) -> datetime:
    with read_session(engine) as session:
        return session.scalars(select(ProgramSnapshot.computed_at)).one()


def _active_patients(app: AppTest, prescriber: str) -> int | None:
    table = next(frame.value for frame in app.dataframe if "prescriber" in frame.value.columns)
    matching = table[table["prescriber"] == prescriber]
    return None if matching.empty else int(matching["Active patients"].iloc[0])
