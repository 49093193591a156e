"""The chart's forms, filled and submitted through the UI as a prescriber would: log a visit, intake, start,
adjust and stop a medication. Each test checks the row written exactly once, its audit event, the message shown
where the form stood, that the form closed, and that replaying the same submission (a second click) writes
nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from db.commands.flags import act_on_flag
from db.commands.visits import VisitInput, log_visit
from db.engine import read_session, utcnow, write_session
from db.models import Assessment, AuditEvent, DoseChange, Flag, FlagEvent, FormSubmission, Patient, Prescription, Visit
from tests.app.conftest import PROJECT_ROOT, log_in, new_app
from tests.factories import make_patient, make_team, make_user

CHART = str(PROJECT_ROOT / "pages/clinical/patient_chart.py")


@pytest.fixture
def team(engine: Engine) -> dict:
    team_id = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team_id, username="dr_forms")
    nurse = make_user(engine, "nurse", team_id=team_id, username="rn_forms")
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse, mrn="MRN-FORMS", given_name="Fay")
    return {"prescriber": prescriber, "nurse": nurse, "patient": patient}


def _with_prescription(engine: Engine, team: dict, drug: str = "sertraline", dose: float = 50) -> int:
    with write_session(engine) as session:
        prescription = Prescription(
            patient_id=team["patient"],
            drug=drug,
            dose=dose,
            unit="mg",
            frequency="once daily",
            daily_dose_mg=dose,
            start_date=date.today() - timedelta(days=30),
            prescriber_id=team["prescriber"].user_id,
        )
        session.add(prescription)
        session.flush()
        session.add(
            DoseChange(
                prescription_id=prescription.id,
                patient_id=team["patient"],
                change_type="start",
                drug=drug,
                new_dose=dose,
                unit="mg",
                new_frequency="once daily",
                new_daily_mg=dose,
                reason="MDD",
            )
        )
        return prescription.id


def _with_visit(engine: Engine, team: dict) -> None:
    """A first visit, so the chart opens with no form chosen (a patient without visits opens on intake)."""
    with write_session(engine) as session:
        session.add(
            Visit(
                patient_id=team["patient"],
                clinician_id=team["prescriber"].user_id,
                visit_type="intake",
                visit_at=utcnow() - timedelta(days=7),
                modality="video",
                duration_minutes=60,
            )
        )


def _chart(username: str = "dr_forms") -> AppTest:
    app = log_in(new_app(), username)
    app.query_params["patient"] = "MRN-FORMS"
    app = app.switch_page(CHART).run()
    assert not app.exception, app.exception
    return app


def _pick(app: AppTest, team: dict, form: str) -> AppTest:
    app.segmented_control(key=f"chart_form_{team['patient']}").set_value(form).run()
    assert not app.exception, app.exception
    return app


def _count(engine: Engine, model: type, *conditions: object) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def _audit(engine: Engine, action: str) -> list[AuditEvent]:
    with read_session(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _plain(text: str) -> str:
    """Messages are markdown with every special character escaped; compare the text the user reads."""
    return re.sub(r"\\(.)", r"\1", text)


def _successes(app: AppTest) -> list[str]:
    return [_plain(element.value) for element in app.success]


def _infos(app: AppTest) -> list[str]:
    return [_plain(element.value) for element in app.info]


def _fill_visit(app: AppTest, key: str, phq9: list[int], gad7: list[int]) -> None:
    for item, value in enumerate(phq9, start=1):
        app.radio(key=f"{key}_PHQ-9_{item}").set_value(value)
    for item, value in enumerate(gad7, start=1):
        app.radio(key=f"{key}_GAD-7_{item}").set_value(value)
    app.text_area(key=f"{key}_plan").input("continue; review in a week")


def _negative_screen(app: AppTest, key: str) -> None:
    """The C-SSRS screen answered No (each question needs an answer: none is preset)."""
    for question in ("q1", "q2", "q6"):
        app.radio(key=f"{key}_{question}").set_value(False)


def _replay(app: AppTest, key: str, token: str) -> None:
    """Put the first submission's token back, as a second click on the same, still-drawn form would carry it."""
    app.session_state[f"{key}__token"] = token


def test_log_a_visit_saves_once_closes_the_form_and_reports_where_the_form_stood(engine: Engine, team: dict) -> None:
    _with_visit(engine, team)
    app = _pick(_chart(), team, "Log a visit")
    key = f"visit_{team['patient']}"
    token = app.session_state[f"{key}__token"]
    _fill_visit(app, key, [1, 1, 1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 0])
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception

    assert _count(engine, Visit, Visit.visit_type == "follow-up") == 1
    assert [event.patient_id for event in _audit(engine, "log_visit")] == [team["patient"]]
    assert any(message.startswith("Visit saved: PHQ-9 8 (mild), GAD-7 6 (mild)") for message in _successes(app))
    # The form closed: none of its widgets is drawn, and its state (answers, token) is gone.
    assert app.segmented_control(key=f"chart_form_{team['patient']}").value is None
    assert not [radio for radio in app.radio if radio.key and radio.key.startswith(key)]
    assert f"{key}__token" not in app.session_state

    # A second click of the same submission (same token) writes nothing and says so.
    app = _pick(app, team, "Log a visit")
    _replay(app, key, token)
    _fill_visit(app, key, [1, 1, 1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 0])
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    assert _count(engine, Visit, Visit.visit_type == "follow-up") == 1
    assert len(_audit(engine, "log_visit")) == 1
    assert any("already saved" in element and "nothing was saved twice" in element for element in _infos(app))
    with read_session(engine) as session:
        claim = session.get(FormSubmission, token)
    assert claim is not None and claim.action == "log_visit" and claim.record_type == "visit"


def test_a_repeated_self_harm_answer_reopens_the_acknowledged_flag_and_says_so(engine: Engine, team: dict) -> None:
    first = log_visit(
        team["prescriber"],
        team["patient"],
        VisitInput(visit_at=utcnow() - timedelta(days=2), modality="video", duration_minutes=30, phq9=[1] * 8 + [1]),
        expected_patient_version=1,
    )
    assert [kind for _, kind, _ in first.flags_raised] == ["self_harm"]
    with read_session(engine) as session:
        flag = session.scalars(select(Flag).where(Flag.kind == "self_harm")).one()
    act_on_flag(team["nurse"], flag.id, "acknowledge", expected_version=flag.version, note="safety plan reviewed")

    app = _pick(_chart(), team, "Log a visit")
    key = f"visit_{team['patient']}"
    _fill_visit(app, key, [2, 2, 1, 1, 1, 1, 1, 1, 1], [1] * 7)
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception

    with read_session(engine) as session:
        flags = session.scalars(select(Flag).where(Flag.kind == "self_harm")).all()
        events = session.scalars(select(FlagEvent).where(FlagEvent.flag_id == flag.id).order_by(FlagEvent.id)).all()
        newest = session.scalar(
            select(func.max(Visit.id)).where(Visit.patient_id == team["patient"], Visit.visit_type == "follow-up")
        )
    # Still one flag, back to open, with the new answer on it and in its history, naming the new record.
    assert len(flags) == 1
    assert (flags[0].state, flags[0].finding_count) == ("open", 2)
    assert "total 11" in flags[0].summary
    assert [event.action for event in events] == ["raised", "acknowledge", "new_finding"]
    assert events[-1].source_table == "assessments" and events[-1].source_id is not None
    assert "reopened" in (events[-1].note or "")
    assert newest is not None
    assert len(_audit(engine, "flag_new_finding")) == 1
    # The user is told the truth, in red where the form stood: the score, the positive item 9 that calls for a
    # same-day safety review, and that the finding went onto the open flag.
    urgent_outcomes = [_plain(element.value) for element in app.error if "Visit saved" in element.value]
    assert len(urgent_outcomes) == 1 and not _successes(app)
    assert "PHQ-9 11 (moderate) up 2 from 9 with item 9 positive" in urgent_outcomes[0]
    assert "Added to the open urgent self harm flag" in urgent_outcomes[0]
    assert any("URGENT self harm (open)" in _plain(element.value) for element in app.error)


HIGH_RISK_ANSWERS = {"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False}


def test_a_follow_up_visit_with_phq9_gad7_and_a_positive_cssrs_screen_saves_once_and_raises_the_urgent_flag(
    engine: Engine, team: dict
) -> None:
    log_visit(
        team["prescriber"],
        team["patient"],
        VisitInput(
            visit_at=utcnow() - timedelta(days=7),
            modality="video",
            duration_minutes=30,
            phq9=[2] * 8 + [0],
            gad7=[1] * 7,
        ),
        expected_patient_version=1,
    )
    app = _pick(_chart(), team, "Log a visit")
    key = f"visit_{team['patient']}"
    token = app.session_state[f"{key}__token"]
    # The screen is optional at a follow-up: ticking it (outside the form) draws its questions in the form.
    assert not [radio for radio in app.radio if radio.key == f"{key}_q1"]
    app.checkbox(key=f"{key}_give_cssrs").check().run()
    _fill_visit(app, key, [1, 1, 1, 1, 1, 1, 1, 1, 0], [2, 2, 1, 1, 1, 1, 1])
    for question, answer in HIGH_RISK_ANSWERS.items():
        app.radio(key=f"{key}_{question}").set_value(answer)

    # Answers stay in the browser until the form is submitted: a run without the submit sees none of them.
    app.run()
    assert not app.exception, app.exception
    assert app.session_state[f"{key}_PHQ-9_1"] is None and app.session_state[f"{key}_q4"] is None
    assert _count(engine, Visit) == 1

    # (A browser keeps the unsent answers on screen; AppTest rebuilds its widgets from the run, so set them again.)
    _fill_visit(app, key, [1, 1, 1, 1, 1, 1, 1, 1, 0], [2, 2, 1, 1, 1, 1, 1])
    for question, answer in HIGH_RISK_ANSWERS.items():
        app.radio(key=f"{key}_{question}").set_value(answer)
    # A high-risk screen needs the level-of-care decision: refused by name, nothing written, answers kept.
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    assert any("higher level of care" in _plain(element.value) for element in app.error)
    assert _count(engine, Visit) == 1 and len(_audit(engine, "log_visit")) == 1
    assert app.radio(key=f"{key}_q4").value is True

    app.checkbox(key=f"{key}_loc").check()
    app.text_input(key=f"{key}_loc_note").input("Offered PHP, declined; safety plan, daily nurse calls")
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception

    with read_session(engine) as session:
        visit = session.scalars(select(Visit).order_by(Visit.id.desc()).limit(1)).one()
        scores = session.scalars(select(Assessment).where(Assessment.visit_id == visit.id)).all()
        flags = session.scalars(select(Flag).where(Flag.kind == "suicide_risk")).all()
    assert _count(engine, Visit) == 2 and visit.visit_type == "follow-up"
    assert sorted((a.instrument, a.total, a.severity) for a in scores) == [
        ("C-SSRS screener", None, "high"),
        ("GAD-7", 9, "mild"),
        ("PHQ-9", 8, "mild"),
    ]
    assert visit.details is not None and visit.details["cssrs_risk"] == "high"
    assert visit.details["higher_level_of_care_considered"] is True
    assert [(flag.severity, flag.state) for flag in flags] == [("urgent", "open")]
    audits = _audit(engine, "log_visit")
    assert len(audits) == 2 and "C-SSRS high risk, higher level of care considered" in (audits[-1].detail or "")
    # The scored result is the outcome, in red where the form stood: totals, bands, changes, the new flag.
    outcomes = [_plain(element.value) for element in app.error if "Visit saved" in element.value]
    assert outcomes == [
        "Visit saved: PHQ-9 8 (mild) down 8 from 16, GAD-7 9 (mild) up 2 from 7, C-SSRS screener high risk. "
        "New urgent flag: suicide risk."
    ]
    assert app.segmented_control(key=f"chart_form_{team['patient']}").value is None
    assert f"{key}__token" not in app.session_state

    # The same submission again (a second click) writes nothing.
    app = _pick(app, team, "Log a visit")
    _replay(app, key, token)
    _fill_visit(app, key, [1, 1, 1, 1, 1, 1, 1, 1, 0], [2, 2, 1, 1, 1, 1, 1])
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    assert _count(engine, Visit) == 2 and len(_audit(engine, "log_visit")) == 2
    assert _count(engine, Assessment, Assessment.instrument == "C-SSRS screener") == 1
    assert any("already saved" in element for element in _infos(app))


def test_an_unanswered_cssrs_question_saves_nothing_and_names_it(engine: Engine, team: dict) -> None:
    _with_visit(engine, team)
    app = _pick(_chart(), team, "Log a visit")
    key = f"visit_{team['patient']}"
    app.checkbox(key=f"{key}_give_cssrs").check().run()
    _fill_visit(app, key, [0] * 9, [0] * 7)
    app.radio(key=f"{key}_q1").set_value(False)
    app.radio(key=f"{key}_q2").set_value(False)
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    assert any("Answer every item of C-SSRS (question 6)" in _plain(element.value) for element in app.error)
    assert _count(engine, Visit, Visit.visit_type == "follow-up") == 0 and _audit(engine, "log_visit") == []


def test_intake_saves_once_and_closes(engine: Engine, team: dict) -> None:
    app = _chart()
    key = f"intake_{team['patient']}"
    # A patient without visits opens on the intake form.
    assert app.segmented_control(key=f"chart_form_{team['patient']}").value == "Intake evaluation"
    token = app.session_state[f"{key}__token"]
    app.text_area(key=f"{key}_psychiatric").input("Two prior depressive episodes.")
    app.text_area(key=f"{key}_plan").input("Start IOP; weekly PHQ-9.")
    _negative_screen(app, key)
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception

    assert _count(engine, Visit, Visit.visit_type == "intake") == 1
    assert [event.patient_id for event in _audit(engine, "record_intake")] == [team["patient"]]
    assert any(message.startswith("Intake saved") for message in _successes(app))
    assert app.segmented_control(key=f"chart_form_{team['patient']}").value is None

    app = _pick(app, team, "Intake evaluation")
    _replay(app, key, token)
    app.text_area(key=f"{key}_plan").input("Start IOP; weekly PHQ-9.")
    _negative_screen(app, key)
    app.button(key=f"{key}_save").click().run()
    assert _count(engine, Visit, Visit.visit_type == "intake") == 1
    assert len(_audit(engine, "record_intake")) == 1
    assert any("already saved" in element for element in _infos(app))


def test_start_a_medication_saves_once_and_a_second_click_writes_nothing(engine: Engine, team: dict) -> None:
    _with_visit(engine, team)
    app = _pick(_chart(), team, "Start a medication")
    key = f"start_med_{team['patient']}"
    token = app.session_state[f"{key}__token"]
    app.selectbox(key=f"{key}_drug").set_value("trazodone").run()
    app.number_input(key=f"{key}_dose_trazodone").set_value(50.0)
    app.text_input(key=f"{key}_reason").input("insomnia")
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception

    active = (Prescription.drug == "trazodone", Prescription.status == "active")
    assert _count(engine, Prescription, *active) == 1
    assert _count(engine, DoseChange, DoseChange.drug == "trazodone", DoseChange.change_type == "start") == 1
    assert [event.detail for event in _audit(engine, "start_medication")] == ["trazodone 50 mg once daily"]
    assert "Started trazodone 50 mg once daily." in _successes(app)
    assert app.segmented_control(key=f"chart_form_{team['patient']}").value is None

    app = _pick(app, team, "Start a medication")
    _replay(app, key, token)
    app.selectbox(key=f"{key}_drug").set_value("trazodone").run()
    app.text_input(key=f"{key}_reason").input("insomnia")
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    assert _count(engine, Prescription, *active) == 1
    assert len(_audit(engine, "start_medication")) == 1
    assert any("already saved" in element and "Started trazodone" in element for element in _infos(app))


def test_starting_a_drug_with_a_major_interaction_needs_the_acknowledgement_in_the_form(
    engine: Engine, team: dict
) -> None:
    """Choosing the drug (outside the form) shows its review at once; the acknowledgement it asks for is a box in
    the form; a submit without it is refused and writes nothing; with it the medication is started once."""
    _with_visit(engine, team)
    _with_prescription(engine, team)
    app = _pick(_chart(), team, "Start a medication")
    key = f"start_med_{team['patient']}"
    app.selectbox(key=f"{key}_drug").set_value("duloxetine").run()
    assert not app.exception, app.exception
    warnings = [_plain(element.value) for element in app.warning]
    assert any("Major interaction" in message and "requires acknowledgement" in message for message in warnings)
    app.number_input(key=f"{key}_dose_duloxetine").set_value(30.0)
    app.text_input(key=f"{key}_reason").input("MDD with chronic pain")
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    assert any("The safety checks block this change" in _plain(element.value) for element in app.error)
    started = (Prescription.drug == "duloxetine",)
    assert _count(engine, Prescription, *started) == 0 and _audit(engine, "start_medication") == []

    app.checkbox(key=f"{key}_acknowledge").check()
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    assert _count(engine, Prescription, *started) == 1
    assert [event.patient_id for event in _audit(engine, "start_medication")] == [team["patient"]]
    assert "Started duloxetine 30 mg once daily." in _successes(app)


def test_adjust_a_dose_through_the_form_appends_history_once(engine: Engine, team: dict) -> None:
    _with_visit(engine, team)
    prescription_id = _with_prescription(engine, team)
    app = _pick(_chart(), team, "Adjust or stop a medication")
    key = f"change_med_{prescription_id}"
    token = app.session_state[f"{key}__token"]
    app.number_input(key=f"{key}_dose").set_value(100.0)
    app.text_input(key=f"{key}_reason").input("partial response at 4 weeks")
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception

    with read_session(engine) as session:
        prescription = session.get(Prescription, prescription_id)
        changes = session.scalars(select(DoseChange).where(DoseChange.prescription_id == prescription_id)).all()
    assert prescription is not None and prescription.dose == 100
    assert [(c.change_type, c.old_dose, c.new_dose) for c in changes] == [("start", None, 50), ("increase", 50, 100)]
    assert [event.detail for event in _audit(engine, "adjust_medication")] == ["increase: 50.0 -> 100.0 mg"]
    assert "Adjusted sertraline: now 100 mg once daily." in _successes(app)

    app = _pick(app, team, "Adjust or stop a medication")
    _replay(app, key, token)
    app.number_input(key=f"{key}_dose").set_value(150.0)
    app.text_input(key=f"{key}_reason").input("partial response at 4 weeks")
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    assert _count(engine, DoseChange, DoseChange.prescription_id == prescription_id) == 2
    assert len(_audit(engine, "adjust_medication")) == 1
    assert any("already saved" in element for element in _infos(app))


def test_stop_a_medication_through_the_form(engine: Engine, team: dict) -> None:
    _with_visit(engine, team)
    prescription_id = _with_prescription(engine, team)
    app = _pick(_chart(), team, "Adjust or stop a medication")
    key = f"change_med_{prescription_id}"
    app.radio(key=f"{key}_action").set_value("Stop").run()
    app.text_input(key=f"{key}_reason").input("sexual side effects")
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception

    with read_session(engine) as session:
        prescription = session.get(Prescription, prescription_id)
    assert prescription is not None and prescription.status == "stopped"
    stops = (DoseChange.prescription_id == prescription_id, DoseChange.change_type == "stop")
    assert _count(engine, DoseChange, *stops) == 1
    assert len(_audit(engine, "stop_medication")) == 1
    assert "Stopped sertraline." in _successes(app)


def test_intake_reconciliation_runs_the_safety_review_and_needs_an_override(engine: Engine, team: dict) -> None:
    """Continuing an outside MAOI while on sertraline: the review is shown, the save is refused until an override
    reason is documented, then the intake is saved once with the override in its audit event."""
    _with_prescription(engine, team)
    app = _chart()
    key = f"intake_{team['patient']}"
    app.text_area(key=f"{key}_plan").input("Start IOP; weekly PHQ-9.")
    # The outside-medications grid, as the browser sends a row typed into it.
    app.session_state[f"{key}_outside"] = {
        "edited_rows": {},
        "added_rows": [{"Drug": "phenelzine", "Dose": "15 mg three times daily", "Decision": "continue"}],
        "deleted_rows": [],
    }
    _negative_screen(app, key)
    # The first submit makes the review of what was entered and shows it above the button; nothing is saved.
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    errors = [_plain(element.value) for element in app.error]
    assert any("Contraindicated interaction: phenelzine + sertraline" in message for message in errors)
    assert any("The safety review changed with what you entered" in _plain(w.value) for w in app.warning)
    assert _count(engine, Visit) == 0 and _audit(engine, "record_intake") == []

    app.button(key=f"{key}_save").click().run()
    assert any("The safety checks block this change" in _plain(element.value) for element in app.error)
    assert _count(engine, Visit) == 0 and _audit(engine, "record_intake") == []

    app.text_area(key=f"{key}_override").input("Outside psychiatrist's MAOI; sertraline stopped today")
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    assert _count(engine, Visit, Visit.visit_type == "intake") == 1
    [audit] = _audit(engine, "record_intake")
    assert "reconciliation override: Outside psychiatrist's MAOI" in (audit.detail or "")
    assert any(message.startswith("Intake saved") for message in _successes(app))


def test_a_nurse_records_an_outside_medication_screened_against_the_active_ones(engine: Engine, team: dict) -> None:
    """Tramadol from primary care while on sertraline: a major serotonergic interaction needs an acknowledgement;
    then it is kept as an outside course that later reviews screen."""
    _with_visit(engine, team)
    _with_prescription(engine, team)
    app = _pick(_chart("rn_forms"), team, "Add an outside medication")
    key = f"outside_med_{team['patient']}"
    app.text_input(key=f"{key}_name").input("Ultram 50 mg tablet")
    app.number_input(key=f"{key}_dose").set_value(50.0)
    app.selectbox(key=f"{key}_frequency").set_value("as needed")
    app.text_input(key=f"{key}_source").input("primary care (Dr Ortiz)")
    # The first submit shows the review of what was entered and saves nothing: the user had not seen it.
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    warnings = [_plain(element.value) for element in app.warning]
    assert any("Major interaction" in message and "tramadol" in message for message in warnings)
    assert any("The safety review changed with what you entered: nothing was saved" in m for m in warnings)
    assert _count(engine, Prescription, Prescription.is_psychiatric.is_(False)) == 0

    # Submitting again without the acknowledgement it asks for is refused by the safety checks.
    app.button(key=f"{key}_save").click().run()
    assert any("The safety checks block this change" in _plain(element.value) for element in app.error)
    assert _count(engine, Prescription, Prescription.is_psychiatric.is_(False)) == 0

    app.checkbox(key=f"{key}_acknowledge").check()
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    with read_session(engine) as session:
        outside = session.scalars(select(Prescription).where(Prescription.is_psychiatric.is_(False))).all()
    assert [(p.drug, p.dose, p.frequency, p.source, p.status) for p in outside] == [
        ("tramadol", 50.0, "as needed", "primary care (Dr Ortiz)", "active")
    ]
    assert _count(engine, DoseChange, DoseChange.prescription_id == outside[0].id) == 1
    [audit] = _audit(engine, "record_outside_medication")
    assert audit.user_id == team["nurse"].user_id and audit.patient_id == team["patient"]
    assert any(message.startswith("Recorded tramadol 50 mg as needed") for message in _successes(app))


def test_clinical_status_is_recorded_and_audited_with_old_and_new_values(engine: Engine, team: dict) -> None:
    _with_visit(engine, team)
    app = _pick(_chart(), team, "Clinical status")
    key = f"status_{team['patient']}"
    app.selectbox(key=f"{key}_pregnancy").set_value("pregnant")
    app.number_input(key=f"{key}_crcl").set_value(25.0)
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    with read_session(engine) as session:
        patient = session.get(Patient, team["patient"])
    assert patient is not None and (patient.pregnancy_status, patient.crcl_ml_min) == ("pregnant", 25.0)
    [audit] = _audit(engine, "update_clinical_status")
    assert audit.detail == "pregnancy status: not recorded -> pregnant; crcl ml min: not recorded -> 25.0"
    assert any("pregnancy: pregnant" in element.value for element in app.text)
