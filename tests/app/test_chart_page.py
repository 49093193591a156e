"""The patient chart page: deep links, permission refusals, the timeline, and the log-a-visit form."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from db.engine import read_session, utcnow, write_session
from db.models import Assessment, AuditEvent, DoseChange, Flag, Patient, Prescription
from tests.app.conftest import PROJECT_ROOT, log_in, new_app
from tests.factories import make_patient, make_team, make_user

CHART = str(PROJECT_ROOT / "pages/clinical/patient_chart.py")


@pytest.fixture
def chart_setup(engine: Engine) -> dict:
    team = make_team(engine)
    mine = make_user(engine, "prescriber", team_id=team, username="dr_mine")
    make_user(engine, "prescriber", team_id=team, username="dr_other")
    nurse = make_user(engine, "nurse", team_id=team, username="rn_team")
    own = make_patient(
        engine,
        prescriber=mine,
        nurse=nurse,
        given_name="Ada",
        family_name="Own",
        mrn="MRN-OWN",
        crisis_plan="<script>alert('x')</script> call 988",
    )
    with write_session(engine) as session:
        other_prescriber = session.scalar(select(Patient.prescriber_id).where(Patient.id == own))
        rx = Prescription(
            patient_id=own,
            drug="sertraline",
            dose=50,
            unit="mg",
            frequency="once daily",
            daily_dose_mg=50,
            start_date=date.today() - timedelta(days=30),
            prescriber_id=mine.user_id,
        )
        session.add(rx)
        session.flush()
        session.add(
            DoseChange(
                prescription_id=rx.id,
                patient_id=own,
                change_type="start",
                drug="sertraline",
                new_dose=50,
                unit="mg",
                new_frequency="once daily",
                new_daily_mg=50,
                reason="MDD",
                changed_at=utcnow() - timedelta(days=30),
            )
        )
    assert other_prescriber == mine.user_id
    theirs_prescriber = make_user(engine, "prescriber", team_id=make_team(engine), username="dr_far")
    theirs = make_patient(
        engine, prescriber=theirs_prescriber, given_name="Bea", family_name="Theirs", mrn="MRN-THEIRS"
    )
    return dict(mine=mine, own=own, theirs=theirs)


def _open_chart(username: str, mrn: str):  # type: ignore[no-untyped-def]
    app = log_in(new_app(), username)
    app.query_params["patient"] = mrn
    return app.switch_page(CHART).run()


def test_own_patient_chart_shows_header_timeline_and_audits_the_view(engine: Engine, chart_setup: dict) -> None:
    app = _open_chart("dr_mine", "MRN-OWN")
    assert not app.exception, app.exception
    assert "Own, Ada" in [title.value for title in app.title]
    # Free text is shown as text, exactly as typed.
    assert any("<script>alert('x')</script> call 988" in text.value for text in app.text)
    assert app.get("arrow_vega_lite_chart") or app.get("vega_lite_chart")
    with read_session(engine) as session:
        views = session.scalars(select(AuditEvent).where(AuditEvent.action == "view_chart")).all()
    assert [(v.patient_id, v.outcome) for v in views] == [(chart_setup["own"], "success")]


@pytest.mark.parametrize("mrn", ["MRN-THEIRS", "MRN-DOES-NOT-EXIST"])
def test_deep_link_outside_the_caseload_is_refused_and_audited(engine: Engine, chart_setup: dict, mrn: str) -> None:
    app = _open_chart("dr_mine", mrn)
    assert not app.exception
    assert next(error.value for error in app.error).startswith("Not permitted")
    assert "Theirs, Bea" not in [title.value for title in app.title]
    assert not app.get("arrow_vega_lite_chart")
    with read_session(engine) as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert len(denied) == 1 and denied[0].user_id == chart_setup["mine"].user_id
    assert denied[0].patient_id == (chart_setup["theirs"] if mrn == "MRN-THEIRS" else None)


def test_logging_a_visit_with_a_positive_self_harm_item_raises_an_urgent_flag(
    engine: Engine, chart_setup: dict
) -> None:
    app = _open_chart("dr_mine", "MRN-OWN")
    key = f"visit_{chart_setup['own']}"
    # A patient without visits opens on the intake form; the visit form is drawn only once it is picked.
    assert not [radio for radio in app.radio if radio.key and radio.key.startswith(key)]
    app.segmented_control(key=f"chart_form_{chart_setup['own']}").set_value("Log a visit").run()
    for item, value in enumerate([2, 2, 1, 1, 1, 1, 1, 0, 2], start=1):
        app.radio(key=f"{key}_PHQ-9_{item}").set_value(value)
    for item in range(1, 8):
        app.radio(key=f"{key}_GAD-7_{item}").set_value(1)
    app.text_area(key=f"{key}_plan").input("safety plan reviewed")
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    with read_session(engine) as session:
        flags = session.scalars(select(Flag)).all()
    assert [(f.kind, f.severity, f.state) for f in flags] == [("self_harm", "urgent", "open")]
    assert any("URGENT self harm" in error.value for error in app.error)


def test_visit_summary_shows_medications_latest_scores_and_open_flags(engine: Engine, chart_setup: dict) -> None:
    own = chart_setup["own"]
    now = utcnow()
    with write_session(engine) as session:
        for days_ago, total, severity in ((60, 20, "severe"), (30, 14, "moderate"), (2, 9, "mild")):
            session.add(
                Assessment(
                    patient_id=own,
                    instrument="PHQ-9",
                    answers=[1] * 9,
                    total=total,
                    severity=severity,
                    administered_at=now - timedelta(days=days_ago),
                    source="visit",
                )
            )
        session.add(
            Prescription(
                patient_id=own,
                drug="lisinopril",
                dose=10,
                unit="mg",
                frequency="once daily",
                daily_dose_mg=10,
                start_date=date.today() - timedelta(days=400),
                is_psychiatric=False,
                source="Dr Primary (PCP)",
            )
        )
        session.add_all(
            [
                Flag(
                    patient_id=own,
                    kind="worsening_score",
                    severity="high",
                    severity_rank=1,
                    cause="phq9",
                    summary="PHQ-9 rose by 5",
                ),
                Flag(
                    patient_id=own,
                    kind="self_harm",
                    severity="urgent",
                    severity_rank=0,
                    cause="item9",
                    summary="PHQ-9 item 9 answered 2",
                    owner_id=chart_setup["mine"].user_id,
                ),
            ]
        )
    app = _open_chart("dr_mine", "MRN-OWN")
    assert not app.exception, app.exception
    # One line per active medication, program ones first: drug and dose, since when, who prescribes an outside one.
    medications = next(text.value for text in app.text if "· since " in text.value).splitlines()
    assert medications[0].startswith("sertraline 50 mg once daily · since ")
    assert medications[1].endswith(" · outside: Dr Primary (PCP)")
    phq9 = next(metric for metric in app.metric if metric.label.startswith("PHQ-9"))
    assert (phq9.value, phq9.delta, phq9.label) == ("9", "-5 since last", "PHQ-9 · mild")
    assert any(
        caption.value.endswith(" · baseline 20 · change from baseline -11") and caption.value.startswith("on ")
        for caption in app.caption
    )
    # Open flags, urgent first, each with a badge (icon and word) and its owner; the database text is escaped.
    urgent_line, high_line = [block.value.replace("\\", "") for block in app.markdown if "owner" in block.value]
    assert urgent_line.startswith(":red-badge[:material/emergency: URGENT] self harm · open · owner: ")
    assert high_line.startswith(":orange-badge[:material/warning: HIGH] worsening score · open · owner: none")
    # The urgent banner above the title stays.
    assert any("URGENT self harm" in error.value for error in app.error)


def test_chart_tables_use_human_labels_and_hide_internal_columns(engine: Engine, chart_setup: dict) -> None:
    app = _open_chart("dr_mine", "MRN-OWN")
    assert not app.exception, app.exception
    medications = next(frame for frame in app.dataframe if list(frame.proto.column_order[:2]) == ["drug", "dose_text"])
    assert "id" not in medications.proto.column_order and "version" not in medications.proto.column_order
    assert (
        '"label": "Daily dose"' in medications.proto.columns and '"label": "Psychiatric"' in medications.proto.columns
    )
    # The dose reads with its unit and frequency, in one column.
    assert medications.value["dose_text"].iloc[0] == "50 mg once daily"
