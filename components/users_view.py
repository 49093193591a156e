"""User administration: list, create, reset a password, approve, deactivate."""

from __future__ import annotations

import streamlit as st

from components.forms import escape_markdown, finish_form, show_notice, show_save_error, submission_token
from components.tables import DATE, labelled_table
from db.commands import EditConflict, InvalidInput
from db.commands.users import (
    MIN_PASSWORD_LENGTH,
    approve_account,
    create_user,
    deactivate_user,
    needs_approval,
    reset_authenticator,
    reset_password,
)
from db.models import ROLES
from db.permissions import Actor, PermissionDenied
from db.queries.program import list_users, pending_accounts, teams

USER_COLUMNS = {
    "username": st.column_config.TextColumn("User name"),
    "full_name": st.column_config.TextColumn("Full name"),
    "role": st.column_config.TextColumn("Role"),
    "is_active": st.column_config.CheckboxColumn("Active"),
    "pending_approval": st.column_config.CheckboxColumn("Awaiting approval"),
    "must_change_password": st.column_config.CheckboxColumn("Must change password"),
    "team": st.column_config.TextColumn("Team"),
    "credentials": st.column_config.TextColumn("Credentials"),
    "licensed_states": st.column_config.TextColumn("Licensed states"),
    "created_at": st.column_config.DatetimeColumn("Created (UTC)", format=DATE),
}
PENDING_COLUMNS = {
    "username": st.column_config.TextColumn("User name"),
    "full_name": st.column_config.TextColumn("Full name"),
    "role": st.column_config.TextColumn("Role"),
    "reason": st.column_config.TextColumn("Why approval is needed"),
    "requested_by": st.column_config.TextColumn("Requested by"),
}


def render_users(actor: Actor) -> None:
    users = list_users(actor)
    labelled_table(users, USER_COLUMNS, key="users_table")
    show_notice()
    create, manage, approve = st.tabs(["Create a user", "Reset password or deactivate", "Approve accounts"])
    with approve:
        render_pending_approvals(actor)
    with create, st.form("create_user", clear_on_submit=True):
        columns = st.columns(3)
        username = columns[0].text_input("User name", max_chars=64)
        full_name = columns[1].text_input("Full name", max_chars=120)
        role = columns[2].selectbox("Role", ROLES)
        team_options = dict(teams())
        team = columns[0].selectbox("Team", list(team_options), index=None, format_func=team_options.__getitem__)
        states = columns[1].text_input("Licensed states (e.g. NY, NJ)")
        credentials = columns[2].text_input("Credentials (e.g. MD, PMHNP-BC, RN)", max_chars=40)
        password = st.text_input(f"Initial password (at least {MIN_PASSWORD_LENGTH} characters)", type="password")
        if st.form_submit_button("Create user", type="primary"):
            try:
                user_id = create_user(
                    actor,
                    username=username,
                    full_name=full_name,
                    role=role,
                    password=password,
                    licensed_states=states.replace(";", ",").split(","),
                    team_id=team,
                    credentials=credentials,
                )
            except InvalidInput as error:
                show_save_error(error, "create_user")
            else:
                pending = needs_approval(role)
                finish_form(
                    "create_user",
                    f"Created {username.strip().lower()}. They must choose their own password at first login"
                    + ("; a second administrator or a supervisor must approve the account first." if pending else "."),
                )
    with manage:
        if users.empty:
            return
        labels = {
            int(row.id): f"{row.username} · {row.full_name} · {row.role}" + ("" if row.is_active else " (inactive)")
            for row in users.itertuples()
        }
        user_id = st.selectbox("User", list(labels), format_func=labels.__getitem__, key="manage_user")
        version = int(users[users["id"] == user_id].iloc[0]["version"])
        token = submission_token("manage")
        new_password = st.text_input("New password", type="password", key="manage_password")
        if st.button("Reset password", key="manage_reset"):
            try:
                ended = reset_password(actor, int(user_id), new_password, expected_version=version, submission=token)
            except (InvalidInput, EditConflict) as error:
                show_save_error(error, "manage")
            else:
                finish_form(
                    "manage",
                    f"Password reset for {labels[user_id]}; {ended} session(s) ended. "
                    "They must change it at their next login.",
                )
        reason = st.text_input(
            "Reason (for deactivation or an authenticator reset)", max_chars=500, key="manage_reason"
        )
        if st.button("Reset authenticator (lost phone)", key="manage_reset_mfa"):
            try:
                ended = reset_authenticator(actor, int(user_id), reason, expected_version=version, submission=token)
            except (InvalidInput, EditConflict) as error:
                show_save_error(error, "manage")
            else:
                finish_form(
                    "manage",
                    f"Authenticator reset for {labels[user_id]}; {ended} session(s) ended. "
                    "They enrol again at their next login.",
                )
        if st.button("Deactivate", key="manage_deactivate"):
            try:
                ended = deactivate_user(actor, int(user_id), reason, expected_version=version, submission=token)
            except (InvalidInput, EditConflict) as error:
                show_save_error(error, "manage")
            else:
                finish_form("manage", f"Deactivated {labels[user_id]}; {ended} session(s) ended.")


def render_pending_approvals(actor: Actor) -> None:
    """Accounts awaiting a second person: approved here by a supervisor or another administrator."""
    show_notice()
    pending = pending_accounts(actor)
    if pending.empty:
        st.info("No account is waiting for approval.")
        return
    labelled_table(pending, PENDING_COLUMNS, key="pending_accounts_table")
    labels = {
        int(row.id): f"{row.username} · {row.full_name} · {row.role} ({row.reason or 'pending'})"
        for row in pending.itertuples()
    }
    user_id = st.selectbox("Account to approve", list(labels), format_func=labels.__getitem__, key="approve_user")
    version = int(pending[pending["id"] == user_id].iloc[0]["version"])
    if st.button("Approve account", type="primary", key="approve_account"):
        try:
            username = approve_account(
                actor, int(user_id), expected_version=version, submission=submission_token("approve")
            )
        except (InvalidInput, EditConflict) as error:
            show_save_error(error, "approve")
        except PermissionDenied as error:
            st.error(escape_markdown(str(error)))
        else:
            finish_form("approve", f"Approved {username}; the account can now log in.")
