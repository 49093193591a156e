"""The user's own account: change password, enrol the authenticator app, and the gates that require them.

``account_gate`` runs on every script run after the session is resolved (app.py and ``require_role``): a user
whose password was set by an administrator, or whose role needs MFA and has not enrolled, sees only the page
that fixes it, however they got there.
"""

from __future__ import annotations

import io

import segno
import streamlit as st

from components.forms import clear_form, escape_markdown, finish_form, show_notice, show_save_error, submission_token
from db.commands import InvalidInput
from db.commands.account import MFA_REQUIRED_ROLES, change_own_password, enrol_totp
from db.mfa import new_totp_secret, provisioning_uri
from db.passwords import MIN_PASSWORD_LENGTH
from db.permissions import Actor, PermissionDenied
from db.settings import get_settings

_ENROL_SECRET_KEY = "_totp_enrolment_secret"
_RECOVERY_CODES_KEY = "_recovery_codes_to_show"
_ACCOUNT_NOTICE_KEY = "_account_notice"  # shown on the first page after a gate was passed


def needs_mfa_enrolment(actor: Actor) -> bool:
    return get_settings().mfa_required and actor.role in MFA_REQUIRED_ROLES and not actor.mfa_enrolled


def account_gate(actor: Actor) -> bool:
    """Draw the page the account still needs and return True (the caller shows nothing else), else False."""
    if actor.must_change_password:
        st.title("Change your password")
        st.info(
            "Your password was set by an administrator. Choose your own before you continue; nobody else will know it."
        )
        render_change_password(actor, forced=True)
        return True
    if st.session_state.get(_RECOVERY_CODES_KEY) or needs_mfa_enrolment(actor):
        st.title("Set up two-factor authentication")
        st.info("Your role requires a second factor: a code from an authenticator app, asked at every login.")
        render_totp_enrolment(actor)
        return True
    notice = st.session_state.pop(_ACCOUNT_NOTICE_KEY, None)
    if notice:
        st.success(escape_markdown(notice), icon=":material/check_circle:")
    return False


def render_change_password(actor: Actor, *, forced: bool = False) -> None:
    show_notice()
    with st.form("change_password", clear_on_submit=False):
        current = st.text_input("Current password", type="password", key="change_password_current")
        new = st.text_input(
            f"New password (at least {MIN_PASSWORD_LENGTH} characters; a passphrase works well)",
            type="password",
            key="change_password_new",
        )
        again = st.text_input("New password again", type="password", key="change_password_again")
        submitted = st.form_submit_button("Change password", type="primary")
    if not submitted:
        return
    try:
        ended = change_own_password(actor, current, new, again, submission=submission_token("change_password"))
    except InvalidInput as error:
        show_save_error(error, "change_password")
    except PermissionDenied as error:
        st.error(escape_markdown(str(error)))
    else:
        notice = f"Password changed. {ended} other session(s) ended."
        if forced:  # the gate opens: say so on the page the user lands on
            clear_form("change_password")
            st.session_state[_ACCOUNT_NOTICE_KEY] = notice
            st.rerun()
        finish_form("change_password", notice)


def _qr_png(uri: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


def render_totp_enrolment(actor: Actor) -> None:
    """Enrol an authenticator app: QR code and the secret as text (shown on this page only), then a code."""
    codes = st.session_state.get(_RECOVERY_CODES_KEY)
    if codes:
        st.success("Authenticator enrolled. Your recovery codes are below.")
        st.warning(
            "Save these 10 recovery codes now (print them or keep them in a password manager). Each works once "
            "instead of an authenticator code; they will not be shown again."
        )
        st.code("\n".join(codes), language=None)
        if st.button("I have saved my recovery codes", type="primary", key="recovery_codes_saved"):
            st.session_state.pop(_RECOVERY_CODES_KEY, None)
            st.rerun()
        return
    if actor.mfa_enrolled:
        show_notice()
        st.success("Two-factor authentication is on for your account.")
        return
    secret = st.session_state.setdefault(_ENROL_SECRET_KEY, new_totp_secret())
    st.markdown("1. Scan this QR code with an authenticator app (e.g. FreeOTP, Google or Microsoft Authenticator).")
    st.image(_qr_png(provisioning_uri(secret, actor.username)), caption="TOTP enrolment QR code", width=220)
    st.markdown("If you cannot scan it, enter this key in the app by hand (time-based, 6 digits, 30 seconds):")
    st.code(" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), language=None)
    with st.form("enrol_totp", clear_on_submit=False):
        code = st.text_input("2. The 6-digit code the app shows now", max_chars=8, key="enrol_totp_code")
        submitted = st.form_submit_button("Turn on two-factor authentication", type="primary")
    if not submitted:
        return
    try:
        codes = enrol_totp(actor, secret, code, submission=submission_token("enrol_totp"))
    except InvalidInput as error:
        show_save_error(error, "enrol_totp")
    except PermissionDenied as error:
        st.error(escape_markdown(str(error)))
    else:
        clear_form("enrol_totp")
        st.session_state.pop(_ENROL_SECRET_KEY, None)  # the secret is never shown again
        st.session_state[_RECOVERY_CODES_KEY] = codes
        st.rerun()
