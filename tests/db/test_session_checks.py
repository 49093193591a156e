"""Every write re-reads the actor's account and login session in its own transaction (issue 14, item 1), and
every refusal is audited, also from role checks made before a transaction (item 10)."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from db.auth import login, logout, resolve_session
from db.commands.caseload import reassign_patients
from db.commands.flags import act_on_flag
from db.commands.users import create_user, deactivate_user
from db.commands.visits import VisitInput, log_visit
from db.engine import read_session, utcnow, write_session
from db.models import AuditEvent, AuthSession, Flag, Patient, User, Visit
from db.permissions import Actor, PermissionDenied
from tests.factories import SELF_HARM, TEST_PASSWORD, make_flag, make_patient, make_team, make_user

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CALM_PHQ9 = [0] * 9
CALM_GAD7 = [0] * 7


@pytest.fixture
def care_team(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team, username="pat.prescriber")
    nurse = make_user(engine, "nurse", team_id=team, username="nell.nurse")
    admin = make_user(engine, "admin", username="ada.admin")
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse)
    flag_id = make_flag(engine, patient, SELF_HARM, age=timedelta(minutes=10))
    return dict(prescriber=prescriber, nurse=nurse, admin=admin, patient=patient, flag=flag_id)


def _logged_in(username: str, engine: Engine) -> Actor:
    actor = login(username, TEST_PASSWORD, engine=engine).actor
    assert actor is not None and actor.session_id
    return actor


def _denials(engine: Engine, username: str) -> list[tuple[str, str | None]]:
    with read_session(engine) as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.detail)
            .where(AuditEvent.username == username, AuditEvent.outcome == "denied")
            .order_by(AuditEvent.id)
        )
        return [(action, detail) for action, detail in rows]


def _flag_state(engine: Engine, flag_id: int) -> str:
    with read_session(engine) as session:
        return str(session.scalar(select(Flag.state).where(Flag.id == flag_id)))


def _visit() -> VisitInput:
    return VisitInput(
        visit_at=utcnow() - timedelta(minutes=5),
        modality="video",
        duration_minutes=30,
        phq9=CALM_PHQ9,
        gad7=CALM_GAD7,
        assessment_note="stable",
        plan_note="continue",
    )


def _patient_version(engine: Engine, patient_id: int) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(Patient.version).where(Patient.id == patient_id)))


def test_a_deactivated_nurse_cannot_act_on_a_flag_with_the_actor_an_open_tab_kept(
    engine: Engine, care_team: dict
) -> None:
    nurse = _logged_in("nell.nurse", engine)  # the Actor an open tab's fragment holds on to
    admin = care_team["admin"]
    with read_session(engine) as session:
        version = session.scalar(select(User.version).where(User.id == nurse.user_id))
    deactivate_user(admin, nurse.user_id, "left the program", expected_version=version, engine=engine)
    with pytest.raises(PermissionDenied, match="session has ended"):
        act_on_flag(nurse, care_team["flag"], "acknowledge", expected_version=1, note="called", engine=engine)
    assert _flag_state(engine, care_team["flag"]) == "open"
    assert _denials(engine, "nell.nurse") == [("triage_flag", "session ended: user deactivated")]
    # Without a login session (a script holding an Actor), deactivation alone refuses the write.
    with pytest.raises(PermissionDenied):
        act_on_flag(care_team["nurse"], care_team["flag"], "take_ownership", expected_version=1, engine=engine)


def test_a_deactivated_prescriber_cannot_save_a_visit(engine: Engine, care_team: dict) -> None:
    prescriber = _logged_in("pat.prescriber", engine)
    with write_session(engine) as session:
        session.execute(update(User).where(User.id == prescriber.user_id).values(is_active=False))
    with pytest.raises(PermissionDenied):
        log_visit(
            prescriber,
            care_team["patient"],
            _visit(),
            expected_patient_version=_patient_version(engine, care_team["patient"]),
            engine=engine,
        )
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 0


@pytest.mark.parametrize("ending", ["logout", "idle", "lifetime"])
def test_an_ended_session_cannot_write(engine: Engine, care_team: dict, ending: str) -> None:
    nurse = _logged_in("nell.nurse", engine)
    if ending == "logout":
        logout(nurse.session_id, engine=engine)
    else:
        # Idle for 16 minutes (the timeout is 15), or past the absolute lifetime, without anyone resolving it.
        column = AuthSession.last_seen_at if ending == "idle" else AuthSession.expires_at
        with write_session(engine) as session:
            session.execute(
                update(AuthSession)
                .where(AuthSession.id == nurse.session_id)
                .values({column: utcnow() - timedelta(minutes=16 if ending == "idle" else 1)})
            )
    with pytest.raises(PermissionDenied, match="session has ended"):
        act_on_flag(nurse, care_team["flag"], "take_ownership", expected_version=1, engine=engine)
    assert _flag_state(engine, care_team["flag"]) == "open"
    assert [action for action, _ in _denials(engine, "nell.nurse")] == ["triage_flag"]


def test_a_live_session_and_a_system_actor_still_write(engine: Engine, care_team: dict) -> None:
    nurse = _logged_in("nell.nurse", engine)
    act_on_flag(nurse, care_team["flag"], "acknowledge", expected_version=1, note="called", engine=engine)
    assert _flag_state(engine, care_team["flag"]) == "acknowledged"
    # The command-line bootstrap (no actor at all) is unaffected.
    assert create_user(
        None,
        username="boot.admin",
        full_name="Boot",
        role="admin",
        password="a long bootstrap passphrase",
        engine=engine,
    )


def test_admin_commands_check_the_session_too(engine: Engine, care_team: dict) -> None:
    admin = _logged_in("ada.admin", engine)
    logout(admin.session_id, engine=engine)
    with pytest.raises(PermissionDenied):
        create_user(
            admin,
            username="new.nurse",
            full_name="New",
            role="nurse",
            password="another long passphrase",
            engine=engine,
        )
    with read_session(engine) as session:
        assert session.scalar(select(User.id).where(User.username == "new.nurse")) is None
    assert [action for action, _ in _denials(engine, "ada.admin")] == ["manage_users"]


def test_refusals_of_create_user_and_reassign_patients_are_audited(engine: Engine, care_team: dict) -> None:
    nurse = care_team["nurse"]
    with pytest.raises(PermissionDenied):
        create_user(
            nurse,
            username="mallory",
            full_name="Mallory",
            role="admin",
            password="mallory takes over now",
            engine=engine,
        )
    with pytest.raises(PermissionDenied):
        reassign_patients(nurse, [care_team["patient"]], prescriber_id=nurse.user_id, reason="take over", engine=engine)
    assert [action for action, _ in _denials(engine, "nell.nurse")] == ["manage_users", "reassign"]


def test_a_timer_rerun_checks_the_session_without_counting_as_activity(engine: Engine, care_team: dict) -> None:
    nurse = _logged_in("nell.nurse", engine)
    seen = utcnow() - timedelta(minutes=10)
    with write_session(engine) as session:
        session.execute(update(AuthSession).where(AuthSession.id == nurse.session_id).values(last_seen_at=seen))
    assert resolve_session(nurse.session_id, activity=False, engine=engine) is not None
    with read_session(engine) as session:
        assert session.get(AuthSession, nurse.session_id).last_seen_at == seen
    # Six minutes later nobody has touched the tab: the next timer rerun finds the session idle and ends it.
    later = utcnow() + timedelta(minutes=6)
    assert resolve_session(nurse.session_id, activity=False, engine=engine, now=later) is None
    assert resolve_session(nurse.session_id, engine=engine) is None


def _calls_outside_a_session(tree: ast.AST, name: str) -> list[int]:
    """Line numbers of calls to ``name`` not lexically inside a ``with read_session(...)``/``write_session(...)``."""
    found: list[int] = []

    def visit(node: ast.AST, inside: bool) -> None:
        if isinstance(node, ast.With):
            opens = any(
                isinstance(item.context_expr, ast.Call)
                and getattr(item.context_expr.func, "id", None) in ("read_session", "write_session")
                for item in node.items
            )
            inside = inside or opens
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == name and not inside:
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return found


def test_every_role_check_in_db_is_made_where_a_refusal_is_audited() -> None:
    """``require`` outside a session raises without an audit row; ``authorize`` is the audited form. A helper
    that takes the caller's ``session`` (require_patient's callers, users._target) runs inside one."""
    offenders = []
    for path in sorted((PROJECT_ROOT / "db").rglob("*.py")):
        if path.name in ("permissions.py", "engine.py"):  # engine.py: inside write_session itself
            continue
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            takes_session = any(arg.arg == "session" for arg in function.args.args)
            if takes_session:
                continue
            for line in _calls_outside_a_session(function, "require"):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{line}")
    assert offenders == []


def test_every_write_for_an_actor_checks_the_actor_in_its_transaction() -> None:
    """A command that opens a write transaction for an ``actor`` names it to write_session or calls
    require_patient in it: either re-reads the account and login session before anything is committed."""
    offenders = []
    for path in sorted((PROJECT_ROOT / "db" / "commands").glob("*.py")):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef) or "actor" not in [a.arg for a in function.args.args]:
                continue
            calls = [node for node in ast.walk(function) if isinstance(node, ast.Call)]
            checks_patient = any(getattr(call.func, "id", None) == "require_patient" for call in calls)
            for call in calls:
                if getattr(call.func, "id", None) != "write_session":
                    continue
                if not checks_patient and not any(keyword.arg == "actor" for keyword in call.keywords):
                    offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{call.lineno} {function.name}")
    assert offenders == []
