"""The account forms, filled and submitted through the UI: change password (on its page, and forced at first
login), approve an account, enrol TOTP, the login's second step, and the step-up code on a controlled-substance
prescription. Each checks the database row (written once), its audit event and the message shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from db.auth import password_matches
from db.engine import read_session, utcnow, write_session
from db.mfa import new_totp_secret, totp_code
from db.models import AuthSession, Prescription, RecoveryCode, User, Visit
from db.settings import get_settings
from tests.app.conftest import PROJECT_ROOT, audit_rows, log_in, new_app, rows, shown
from tests.factories import TEST_PASSWORD, make_patient, make_team, make_user

PASSWORD_PAGE = str(PROJECT_ROOT / "pages/account/password.py")
APPROVALS_PAGE = str(PROJECT_ROOT / "pages/supervisor/approvals.py")
CHART = str(PROJECT_ROOT / "pages/clinical/patient_chart.py")
OWN_PASSWORD = "my own quiet harbour 7"


def _user(engine: Engine, user_id: int) -> User:
    return rows(engine, User, User.id == user_id)[0]


def _fill_change_password(app: AppTest, current: str = TEST_PASSWORD, new: str = OWN_PASSWORD) -> AppTest:
    app.text_input(key="change_password_current").input(current)
    app.text_input(key="change_password_new").input(new)
    app.text_input(key="change_password_again").input(new)
    return next(button for button in app.button if button.label == "Change password").click().run()


def test_a_user_changes_their_password_on_its_page_once_and_other_sessions_end(engine: Engine) -> None:
    nurse = make_user(engine, "nurse", username="rn_kim")
    other = log_in(new_app(), "rn_kim").session_state["auth_session_id"]
    app = log_in(new_app(), "rn_kim").switch_page(PASSWORD_PAGE).run()
    assert not app.exception, app.exception
    assert [title.value for title in app.title] == ["Change password"]

    app = _fill_change_password(app)
    assert not app.exception, app.exception
    assert not app.error
    assert shown(app.success) == ["Password changed. 1 other session(s) ended."]
    assert password_matches(OWN_PASSWORD, _user(engine, nurse.user_id).password_hash)
    assert rows(engine, AuthSession, AuthSession.id == other)[0].revoked_reason == "password changed"
    assert rows(engine, AuthSession, AuthSession.id == app.session_state["auth_session_id"])[0].revoked_at is None
    assert [(e.user_id, e.outcome) for e in audit_rows(engine, "change_password")] == [(nurse.user_id, "success")]

    # A second click on the cleared form changes nothing more (the empty current password is refused).
    app = next(button for button in app.button if button.label == "Change password").click().run()
    assert not app.exception, app.exception
    assert password_matches(OWN_PASSWORD, _user(engine, nurse.user_id).password_hash)
    assert [e.outcome for e in audit_rows(engine, "change_password")] == ["success", "denied"]


def test_a_weak_new_password_is_refused_by_name(engine: Engine) -> None:
    make_user(engine, "nurse", username="rn_kim")
    app = _fill_change_password(log_in(new_app(), "rn_kim").switch_page(PASSWORD_PAGE).run(), new="password1234")
    assert not app.exception, app.exception
    assert len(app.error) == 1 and "new password" in app.error[0].value and "commonly used" in app.error[0].value
    assert audit_rows(engine, "change_password") == []


def test_an_admin_set_password_shows_only_the_change_page_until_changed(engine: Engine) -> None:
    nurse = make_user(engine, "nurse", username="rn_new")
    with write_session(engine) as session:
        session.get(User, nurse.user_id).must_change_password = True
    app = log_in(new_app(), "rn_new")
    assert not app.exception, app.exception
    assert [title.value for title in app.title] == ["Change your password"]
    assert not app.sidebar.get("page_link")  # no way around it
    app.switch_page(str(PROJECT_ROOT / "pages/nurse/triage.py")).run()
    assert [title.value for title in app.title] == ["Change your password"]

    app = _fill_change_password(app)
    assert not app.exception, app.exception
    assert _user(engine, nurse.user_id).must_change_password is False
    assert len(audit_rows(engine, "change_password")) == 1
    assert "Triage queue" in [title.value for title in app.title]
    assert shown(app.success)[0] == "Password changed. 0 other session(s) ended."


def test_a_supervisor_approves_a_pending_account_once(engine: Engine) -> None:
    from db.commands.users import create_user

    admin = make_user(engine, "admin", username="admin_one")
    supervisor = make_user(engine, "supervisor", username="sup_one")
    pending_id = create_user(
        admin, username="dana.ruiz", full_name="Dana Ruiz", role="prescriber", password="admin chose this one 42"
    )
    app = log_in(new_app(), "sup_one").switch_page(APPROVALS_PAGE).run()
    assert not app.exception, app.exception
    assert app.selectbox(key="approve_user").value == pending_id
    app.button(key="approve_account").click().run()
    assert not app.exception, app.exception
    assert shown(app.success) == ["Approved dana.ruiz; the account can now log in."]
    approved = _user(engine, pending_id)
    assert (approved.pending_approval, approved.approved_by_id) == (False, supervisor.user_id)
    assert [(e.user_id, e.record_id) for e in audit_rows(engine, "approve_account")] == [
        (supervisor.user_id, str(pending_id))
    ]
    assert any("No account is waiting" in info.value for info in app.info)


def test_the_creating_admin_cannot_approve_in_the_ui(engine: Engine) -> None:
    from db.commands.users import create_user

    admin = make_user(engine, "admin", username="admin_forms")
    pending_id = create_user(
        admin,
        username="dana.ruiz",
        full_name="Dana Ruiz",
        role="nurse",
        password="admin chose this one 42",
    )
    app = log_in(new_app(), "admin_forms")
    app.selectbox(key="approve_user").set_value(pending_id)
    app.button(key="approve_account").click().run()
    assert not app.exception, app.exception
    assert any("second person must approve" in error.value for error in app.error)
    assert _user(engine, pending_id).pending_approval is True
    assert [e.outcome for e in audit_rows(engine, "approve_accounts")] == ["denied"]


@pytest.fixture
def mfa_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFA_REQUIRED", "on")
    get_settings.cache_clear()


def test_a_prescriber_must_enrol_totp_and_sees_the_recovery_codes_once(engine: Engine, mfa_on: None) -> None:
    prescriber = make_user(engine, "prescriber", username="dr_mfa")
    app = log_in(new_app(), "dr_mfa")
    assert not app.exception, app.exception
    assert [title.value for title in app.title] == ["Set up two-factor authentication"]
    assert len(app.get("image")) == 1  # the QR code, drawn as an image (PNG bytes, no HTML)
    secret = app.session_state["_totp_enrolment_secret"]
    assert secret.replace(" ", "")[:4] in app.code[0].value  # and the key as text

    app.text_input(key="enrol_totp_code").input(totp_code(secret, utcnow()))
    app = next(b for b in app.button if b.label == "Turn on two-factor authentication").click().run()
    assert not app.exception, app.exception
    enrolled = _user(engine, prescriber.user_id)
    assert enrolled.totp_secret == secret and enrolled.totp_enrolled_at is not None
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(RecoveryCode)) == 10
    assert [e.detail for e in audit_rows(engine, "enrol_totp")] == ["10 recovery codes issued"]
    codes = app.code[0].value.splitlines()
    assert len(codes) == 10 and all(len(code) == 11 for code in codes)
    assert shown(app.success) == ["Authenticator enrolled. Your recovery codes are below."]

    app.button(key="recovery_codes_saved").click().run()
    assert "Caseload" in [title.value for title in app.title]
    assert not any(code in element.value for element in app.code for code in codes)  # never shown again


def test_the_login_asks_an_enrolled_user_for_a_code(engine: Engine) -> None:
    prescriber = make_user(engine, "prescriber", username="dr_mfa")
    secret = new_totp_secret()
    with write_session(engine) as session:
        user = session.get(User, prescriber.user_id)
        user.totp_secret, user.totp_enrolled_at = secret, utcnow()
    app = log_in(new_app(), "dr_mfa")
    assert not app.exception, app.exception
    assert "auth_session_id" not in app.session_state
    assert [widget.label for widget in app.text_input] == ["Authentication code or recovery code"]

    app.text_input(key="login_code").input("000000" if totp_code(secret, utcnow()) != "000000" else "111111")
    app = next(b for b in app.button if b.label == "Verify").click().run()
    assert [e.value for e in app.error] == [
        "That code is not valid (a code works once). Try the next code, or a recovery code."
    ]

    app.text_input(key="login_code").input(totp_code(secret, utcnow()))
    app = next(b for b in app.button if b.label == "Verify").click().run()
    assert not app.exception, app.exception
    assert "Caseload" in [title.value for title in app.title]
    assert [e.user_id for e in audit_rows(engine, "login")] == [prescriber.user_id]
    assert len(audit_rows(engine, "login_second_factor_failed")) == 1


def test_signing_a_controlled_substance_in_the_chart_asks_for_a_fresh_code(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team, username="dr_forms", licensed_states=["NY"])
    patient = make_patient(engine, prescriber=prescriber, mrn="MRN-FORMS", state="NY")
    with write_session(engine) as session:
        session.add(
            Visit(
                patient_id=patient,
                clinician_id=prescriber.user_id,
                visit_type="intake",
                visit_at=utcnow() - timedelta(days=7),
                modality="video",
                duration_minutes=60,
            )
        )
    app = log_in(new_app(), "dr_forms")
    secret = new_totp_secret()
    with write_session(engine) as session:  # enrolled after the login, so the login asked no code
        user = session.get(User, prescriber.user_id)
        user.totp_secret, user.totp_enrolled_at = secret, utcnow()
    app.query_params["patient"] = "MRN-FORMS"
    app = app.switch_page(CHART).run()
    app.segmented_control(key=f"chart_form_{patient}").set_value("Start a medication").run()
    key = f"start_med_{patient}"
    app.selectbox(key=f"{key}_drug").set_value("lorazepam").run()
    app.number_input(key=f"{key}_dose_lorazepam").set_value(0.5)
    app.selectbox(key=f"{key}_frequency").set_value("twice daily")
    app.text_input(key=f"{key}_reason").input("panic")
    # The PDMP box and the code field are in the form from the moment the controlled drug is chosen.
    app.checkbox(key=f"{key}_pdmp").check()
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    assert any("authenticator code" in error.value for error in app.error)
    assert rows(engine, Prescription) == []

    app.text_input(key=f"{key}_step_up").input(totp_code(secret, utcnow()))
    app.button(key=f"{key}_save").click().run()
    assert not app.exception, app.exception
    assert [(p.drug, p.dose) for p in rows(engine, Prescription)] == [("lorazepam", 0.5)]
    assert [e.detail for e in audit_rows(engine, "start_medication")] == ["lorazepam 0.5 mg twice daily"]
    assert any("Started lorazepam 0.5 mg twice daily." in message for message in shown(app.success))


def test_an_admin_resets_a_lost_authenticator_once_and_the_account_waits_for_approval(engine: Engine) -> None:
    admin = make_user(engine, "admin", username="admin_forms")
    prescriber = make_user(engine, "prescriber", username="dr_lost")
    with write_session(engine) as session:
        user = session.get(User, prescriber.user_id)
        user.totp_secret, user.totp_enrolled_at = new_totp_secret(), utcnow()
        session.add(RecoveryCode(user_id=user.id, salt="00", code_hash="0" * 64, created_at=utcnow()))
    app = log_in(new_app(), "admin_forms")
    app.selectbox(key="manage_user").set_value(prescriber.user_id)
    app.text_input(key="manage_reason").input("phone lost, no recovery codes")
    app.button(key="manage_reset_mfa").click().run()
    assert not app.exception, app.exception
    assert shown(app.success) == [
        "Authenticator reset for dr_lost · Prescriber dr_lost · prescriber; 0 session(s) ended. "
        "They enrol again at their next login."
    ]
    reset = _user(engine, prescriber.user_id)
    assert (reset.totp_secret, reset.totp_enrolled_at, reset.pending_approval) == (None, None, True)
    assert all(code.used_at is not None for code in rows(engine, RecoveryCode))
    assert [(e.user_id, e.detail) for e in audit_rows(engine, "reset_authenticator")] == [
        (admin.user_id, "phone lost, no recovery codes; 0 session(s) ended; awaiting approval")
    ]
    app.button(key="manage_reset_mfa").click().run()  # the second click: the form was cleared, nothing more
    assert not app.exception, app.exception
    assert len(audit_rows(engine, "reset_authenticator")) == 1
