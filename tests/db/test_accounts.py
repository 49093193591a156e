"""Account safeguards (issue 14, items 6 and 11, MFA): password policy in the commands, forced change,
second-person approval, change of one's own password, TOTP login step, recovery codes and step-up signing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from db.auth import LoginOutcome, complete_second_factor, login, resolve_session
from db.commands import InvalidInput
from db.commands.account import change_own_password, enrol_totp
from db.commands.medications import MedicationOrder, change_medication, start_medication
from db.commands.users import approve_account, create_user, reset_password
from db.engine import read_session, utcnow
from db.mfa import new_totp_secret, totp_code
from db.models import AuditEvent, Patient, Prescription, RecoveryCode, User
from db.permissions import PermissionDenied
from db.settings import get_settings
from tests.factories import TEST_PASSWORD, make_patient, make_team, make_user

FIRST_PASSWORD = "admin chose this one 42"
OWN_PASSWORD = "my own quiet harbour 7"


def _user(engine: Engine, user_id: int) -> User:
    with read_session(engine) as session:
        return session.get(User, user_id)


def _events(engine: Engine, action: str) -> list[AuditEvent]:
    with read_session(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _logged_in(username: str, password: str = TEST_PASSWORD):  # type: ignore[no-untyped-def]
    result = login(username, password)
    assert result.outcome is LoginOutcome.SUCCESS and result.actor is not None, result
    return result.actor


def _setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()


@pytest.mark.parametrize("password", ["password1234", "aaaaaaaaaaaa", "dana.ruiz-2026-spring"])
def test_create_user_refuses_common_patterned_and_username_passwords(engine: Engine, password: str) -> None:
    admin = make_user(engine, "admin")
    with pytest.raises(InvalidInput) as refused:
        create_user(admin, username="dana.ruiz", full_name="Dana Ruiz", role="nurse", password=password)
    assert "password" in refused.value.errors
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.username == "dana.ruiz")) == 0


def test_a_clinical_account_logs_in_only_after_a_second_person_approves(engine: Engine) -> None:
    admin = make_user(engine, "admin", username="first_admin")
    supervisor = make_user(engine, "supervisor", username="sup")
    user_id = create_user(
        admin, username="dana.ruiz", full_name="Dana Ruiz", role="prescriber", password=FIRST_PASSWORD
    )
    created = _user(engine, user_id)
    assert (created.pending_approval, created.must_change_password, created.created_by_id) == (
        True,
        True,
        admin.user_id,
    )

    assert login("dana.ruiz", FIRST_PASSWORD).outcome is LoginOutcome.PENDING_APPROVAL
    assert [e.outcome for e in _events(engine, "login_refused_pending")] == ["denied"]

    # The administrator who created it cannot approve it; the refusal is audited.
    with pytest.raises(PermissionDenied):
        approve_account(admin, user_id)
    assert _user(engine, user_id).pending_approval is True
    assert [(e.user_id, e.outcome) for e in _events(engine, "approve_accounts")] == [(admin.user_id, "denied")]

    assert approve_account(supervisor, user_id) == "dana.ruiz"
    approved = _user(engine, user_id)
    assert (approved.pending_approval, approved.approved_by_id) == (False, supervisor.user_id)
    assert [(e.user_id, e.record_id, e.outcome) for e in _events(engine, "approve_account")] == [
        (supervisor.user_id, str(user_id), "success")
    ]
    actor = _logged_in("dana.ruiz", FIRST_PASSWORD)
    assert actor.must_change_password is True  # the app shows only the change-password page


def test_account_approval_off_lets_a_one_person_demo_create_accounts(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setting(monkeypatch, "ACCOUNT_APPROVAL", "off")
    admin = make_user(engine, "admin")
    user_id = create_user(admin, username="dana.ruiz", full_name="Dana Ruiz", role="nurse", password=FIRST_PASSWORD)
    assert _user(engine, user_id).pending_approval is False
    assert _logged_in("dana.ruiz", FIRST_PASSWORD).must_change_password is True


def test_an_admin_reset_of_a_clinicians_password_needs_approval_and_a_change(engine: Engine) -> None:
    admin = make_user(engine, "admin")
    nurse = make_user(engine, "nurse", username="kim")
    reset_password(admin, nurse.user_id, FIRST_PASSWORD)
    # The admin now knows the password, but it opens nothing until a second person approves...
    assert login("kim", FIRST_PASSWORD).outcome is LoginOutcome.PENDING_APPROVAL
    other_admin = make_user(engine, "admin")
    approve_account(other_admin, nurse.user_id)
    # ...and then only the change-password page, until the nurse chose her own.
    assert _logged_in("kim", FIRST_PASSWORD).must_change_password is True


def test_changing_ones_own_password_checks_the_current_one_and_ends_only_the_other_sessions(engine: Engine) -> None:
    nurse = make_user(engine, "nurse", username="kim")
    other_session = _logged_in("kim").session_id
    actor = _logged_in("kim")

    with pytest.raises(PermissionDenied):
        change_own_password(actor, "not my password", OWN_PASSWORD, OWN_PASSWORD)
    assert [e.outcome for e in _events(engine, "change_password")] == ["denied"]
    with pytest.raises(InvalidInput) as mismatch:
        change_own_password(actor, TEST_PASSWORD, OWN_PASSWORD, OWN_PASSWORD + "x")
    assert list(mismatch.value.errors) == ["new password (again)"]
    with pytest.raises(InvalidInput) as weak:
        change_own_password(actor, TEST_PASSWORD, "password1234", "password1234")
    assert list(weak.value.errors) == ["new password"]
    assert resolve_session(other_session) is not None  # nothing changed yet

    assert change_own_password(actor, TEST_PASSWORD, OWN_PASSWORD, OWN_PASSWORD) == 1
    assert resolve_session(other_session) is None
    assert resolve_session(actor.session_id) is not None
    assert login("kim", TEST_PASSWORD).outcome is LoginOutcome.INVALID
    assert _logged_in("kim", OWN_PASSWORD).must_change_password is False
    assert [(e.user_id, e.outcome, e.detail) for e in _events(engine, "change_password")] == [
        (nurse.user_id, "denied", "wrong current password"),
        (nurse.user_id, "success", "1 other session(s) ended"),
    ]


def _enrol(username: str) -> tuple[str, list[str]]:
    actor = _logged_in(username)
    secret = new_totp_secret()
    with pytest.raises(InvalidInput):
        enrol_totp(actor, secret, "000000" if totp_code(secret, utcnow()) != "000000" else "111111")
    codes = enrol_totp(actor, secret, totp_code(secret, utcnow()))
    return secret, codes


def test_an_enrolled_user_needs_a_fresh_totp_code_at_login_and_a_code_cannot_be_replayed(engine: Engine) -> None:
    make_user(engine, "prescriber", username="lee")
    secret, codes = _enrol("lee")
    assert len(codes) == 10 and len(set(codes)) == 10

    step = login("lee", TEST_PASSWORD)
    assert step.outcome is LoginOutcome.SECOND_FACTOR and step.actor is None and step.challenge_id
    later = utcnow() + timedelta(seconds=60)  # a new time step after the one the enrolment spent
    code = totp_code(secret, later)
    opened = complete_second_factor(step.challenge_id, code, now=later)
    assert opened.outcome is LoginOutcome.SUCCESS and opened.actor is not None and opened.actor.mfa_enrolled
    # The challenge is spent, and the same code does not open a second login in its window.
    assert complete_second_factor(step.challenge_id, code, now=later).outcome is LoginOutcome.INVALID
    replay = login("lee", TEST_PASSWORD)
    assert complete_second_factor(replay.challenge_id, code, now=later).outcome is LoginOutcome.SECOND_FACTOR
    assert [e.outcome for e in _events(engine, "login_second_factor_failed")] == ["failure"]


def test_a_recovery_code_works_once_and_is_stored_only_hashed(engine: Engine) -> None:
    make_user(engine, "admin", username="root_admin")
    _, codes = _enrol("root_admin")
    with read_session(engine) as session:
        stored = session.scalars(select(RecoveryCode)).all()
    assert len(stored) == 10 and not any(code.replace("-", "") in row.code_hash for row in stored for code in codes)

    first = login("root_admin", TEST_PASSWORD)
    assert complete_second_factor(first.challenge_id, codes[3].upper()).outcome is LoginOutcome.SUCCESS
    again = login("root_admin", TEST_PASSWORD)
    assert complete_second_factor(again.challenge_id, codes[3]).outcome is LoginOutcome.SECOND_FACTOR
    assert len(_events(engine, "recovery_code_used")) == 1


def test_the_second_step_gives_up_after_five_wrong_codes_and_wrong_codes_count_towards_the_delays(
    engine: Engine,
) -> None:
    make_user(engine, "prescriber", username="lee")
    secret, _ = _enrol("lee")
    step = login("lee", TEST_PASSWORD)
    for _ in range(4):
        assert complete_second_factor(step.challenge_id, "123456x").outcome is LoginOutcome.SECOND_FACTOR
    assert complete_second_factor(step.challenge_id, "999999x").outcome is LoginOutcome.INVALID
    later = utcnow() + timedelta(seconds=60)
    late = complete_second_factor(step.challenge_id, totp_code(secret, later), now=later)
    assert late.outcome is LoginOutcome.INVALID
    # Knowing the password does not buy more guesses: five wrong codes bring the same delays as five wrong
    # passwords, so the next login must wait.
    assert login("lee", TEST_PASSWORD).outcome is LoginOutcome.THROTTLED
    assert len(_events(engine, "login_throttled")) == 1


class Clock:
    """The time the TOTP check sees inside the commands (db.mfa.utcnow), moved by the test, not by waiting."""

    def __init__(self) -> None:
        self.now = utcnow() + timedelta(minutes=5)  # beyond the steps the enrolment and the login spent

    def advance(self, seconds: int = 30) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def controlled(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> dict:
    team = make_team(engine)
    make_user(engine, "prescriber", team_id=team, licensed_states=["NY"], username="lee")
    secret, _ = _enrol("lee")
    clock = Clock()
    step = login("lee", TEST_PASSWORD)
    actor = complete_second_factor(step.challenge_id, totp_code(secret, clock.now), now=clock.now).actor
    assert actor is not None
    monkeypatch.setattr("db.mfa.utcnow", lambda: clock.now)
    patient = make_patient(engine, prescriber=actor, state="NY")
    return dict(actor=actor, secret=secret, patient=patient, clock=clock)


def _lorazepam(reason: str = "panic") -> MedicationOrder:
    return MedicationOrder(
        drug="lorazepam", dose=0.5, unit="mg", frequency="twice daily", reason=reason, pdmp_checked=True
    )


def _patient_version(engine: Engine, patient_id: int) -> int:
    with read_session(engine) as session:
        return session.get(Patient, patient_id).version


def test_a_controlled_substance_is_signed_only_with_a_fresh_totp_code(engine: Engine, controlled: dict) -> None:
    actor, patient, clock, secret = (
        controlled["actor"],
        controlled["patient"],
        controlled["clock"],
        controlled["secret"],
    )
    login_code = totp_code(secret, clock.now)
    for code in (None, "", "12345x", login_code):  # missing, malformed, and the login's code replayed
        with pytest.raises(InvalidInput) as refused:
            start_medication(
                actor,
                patient,
                _lorazepam(),
                expected_patient_version=_patient_version(engine, patient),
                step_up_code=code,
            )
        assert list(refused.value.errors) == ["authenticator code"]
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Prescription)) == 0

    clock.advance()
    fresh = totp_code(secret, clock.now)
    prescription = start_medication(
        actor, patient, _lorazepam(), expected_patient_version=_patient_version(engine, patient), step_up_code=fresh
    )
    assert prescription.drug == "lorazepam"
    # A dose change is a new signature: the code that signed the start does not sign it; the next code does.
    with pytest.raises(InvalidInput):
        change_medication(
            actor,
            prescription.id,
            dose=1,
            reason="more panic",
            expected_version=prescription.version,
            pdmp_checked=True,
            step_up_code=fresh,
        )
    clock.advance()
    changed = change_medication(
        actor,
        prescription.id,
        dose=1,
        reason="more panic",
        expected_version=prescription.version,
        pdmp_checked=True,
        step_up_code=totp_code(secret, clock.now),
    )
    assert changed.dose == 1
    # Stopping signs nothing: no code asked.
    change_medication(actor, prescription.id, reason="stop", stop=True, expected_version=changed.version)


def test_mfa_required_refuses_a_controlled_prescription_from_a_prescriber_without_an_authenticator(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setting(monkeypatch, "MFA_REQUIRED", "on")
    prescriber = make_user(engine, "prescriber", licensed_states=["NY"])
    patient = make_patient(engine, prescriber=prescriber, state="NY")
    with pytest.raises(InvalidInput) as refused:
        start_medication(prescriber, patient, _lorazepam(), expected_patient_version=_patient_version(engine, patient))
    assert "two-factor" in refused.value.errors["authenticator code"]
    # A drug that is not controlled needs no code.
    start_medication(
        prescriber,
        patient,
        MedicationOrder(drug="sertraline", dose=50, unit="mg", frequency="once daily", reason="MDD"),
        expected_patient_version=_patient_version(engine, patient),
    )


def test_an_admin_made_administrator_account_also_waits_so_one_admin_cannot_approve_their_own(engine: Engine) -> None:
    admin = make_user(engine, "admin", username="first_admin")
    second_admin_id = create_user(
        admin, username="shadow.admin", full_name="Shadow", role="admin", password=FIRST_PASSWORD
    )
    assert login("shadow.admin", FIRST_PASSWORD).outcome is LoginOutcome.PENDING_APPROVAL
    with pytest.raises(PermissionDenied):
        approve_account(admin, second_admin_id)


def test_the_command_line_creates_the_first_administrator_and_approver_ready_to_use(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from db.create_admin import main

    monkeypatch.setenv("ADMIN_PASSWORD", "password1234")
    assert main(["first.admin", "First Admin"]) == 1
    assert "password" in capsys.readouterr().err
    monkeypatch.setenv("ADMIN_PASSWORD", FIRST_PASSWORD)
    assert main(["first.admin", "First Admin"]) == 0
    assert main(["--role", "supervisor", "first.sup", "First Supervisor"]) == 0
    with read_session(engine) as session:
        made = session.execute(
            select(User.username, User.role, User.pending_approval, User.must_change_password).order_by(User.id)
        ).all()
    assert [tuple(row) for row in made] == [
        ("first.admin", "admin", False, False),
        ("first.sup", "supervisor", False, False),
    ]
    assert login("first.sup", FIRST_PASSWORD).outcome is LoginOutcome.SUCCESS
