"""The page a patient opens from a check-in link: no login, no sidebar, nothing of the chart.

app.py shows it, and only it, when the URL carries ``?checkin=<token>``. The token is validated on the server
on every run (the first run of a browser session also records the open in the audit trail) and again by the
command that stores the answers. The page reads nothing but the link's measures and expiry, and says nothing
about whose link it is. Made for a phone (390 px wide): one column, full-width buttons.
"""

from __future__ import annotations

import streamlit as st

import clinical
from components.forms import escape_markdown
from db.commands import InvalidInput
from db.commands.checkin import (
    GAD7,
    MAX_PATIENT_SIDE_EFFECTS,
    MISSED_DOSES,
    PHQ9,
    SIDE_EFFECTS,
    CheckinAnswers,
    LinkRefused,
    OpenLink,
    PatientSideEffect,
    check_checkin_link,
    hash_token,
    open_checkin_link,
    submit_checkin,
)

ANSWER_LABELS = {0: "Not at all", 1: "Several days", 2: "More than half the days", 3: "Nearly every day"}
SEVERITY_LABELS = {"mild": "Mild", "moderate": "Moderate", "severe": "Severe"}
SIDE_EFFECT_ROWS = min(3, MAX_PATIENT_SIDE_EFFECTS)  # blank rows are ignored
_OPENED_KEY = "_checkin_opened"  # the hash of the token whose opening this browser session has audited
_DONE_KEY = "_checkin_done"


def crisis_notice(*, urgent: bool) -> None:
    """The crisis line: as a red box after a positive item 9, otherwise as a quiet note under item 9."""
    line = clinical.crisis_line()
    if urgent:
        st.error(f"**{escape_markdown(line.name)}**\n\n{escape_markdown(line.text)}", icon=":material/call:")
    else:
        st.caption(escape_markdown(line.text))


def _questions(instrument: str) -> list[int | None]:
    info = clinical.instrument_info(instrument)
    st.subheader("Mood" if instrument == PHQ9 else "Worry and anxiety")
    st.markdown("Over the **last 2 weeks**, how often have you been bothered by the following problems?")
    answers: list[int | None] = []
    for number, label in enumerate(info.item_labels, start=1):
        answers.append(
            st.radio(
                f"{number}. {label}",
                list(ANSWER_LABELS),
                format_func=ANSWER_LABELS.__getitem__,
                index=None,
                key=f"checkin_{instrument}_{number}",
            )
        )
        if instrument == PHQ9 and number == 9:
            crisis_notice(urgent=False)
    return answers


def _side_effects() -> list[tuple[str, str | None]]:
    st.subheader("Side effects")
    st.markdown(
        "Have your medicines caused any side effects in the **past week**? Describe each in your own words and "
        "say how bad it is. Leave the boxes empty if there were none."
    )
    rows: list[tuple[str, str | None]] = []
    for number in range(1, SIDE_EFFECT_ROWS + 1):
        symptom = st.text_input(f"Side effect {number}", max_chars=200, key=f"checkin_effect_{number}")
        severity = st.radio(
            f"How bad is side effect {number}?",
            list(SEVERITY_LABELS),
            format_func=SEVERITY_LABELS.__getitem__,
            index=None,
            horizontal=True,
            key=f"checkin_effect_{number}_severity",
        )
        rows.append((symptom, severity))
    return rows


def _thank_you(self_harm: bool) -> None:
    if self_harm:
        crisis_notice(urgent=True)
        st.warning(
            "You said you have had thoughts of being better off dead or of hurting yourself. Your care team has "
            "been alerted to review your answers today. Please do not wait for them if you feel unsafe: call or "
            "text 988 now, or call 911."
        )
    st.success("Thank you. Your answers were sent to your care team.", icon=":material/check_circle:")
    st.caption("You can close this page. The link has now been used and will not open the questions again.")


def render_patient_checkin(token: str) -> None:
    """The whole page for ``token``: the questions, a refusal, or the thank-you after sending."""
    st.title("Check-in from your care team")
    token_hash = hash_token(token)
    done = st.session_state.get(_DONE_KEY)
    if done is not None and done["token"] == token_hash:
        _thank_you(done["self_harm"])
        return
    try:
        if st.session_state.get(_OPENED_KEY) == token_hash:
            link = check_checkin_link(token)
        else:
            link = open_checkin_link(token)  # audited once per browser session
            st.session_state[_OPENED_KEY] = token_hash
    except LinkRefused as refused:
        st.warning(escape_markdown(str(refused)), icon=":material/link_off:")
        crisis_notice(urgent=False)
        return
    _form(token, token_hash, link)


def _form(token: str, token_hash: str, link: OpenLink) -> None:
    st.markdown(
        "Your care team asked you to answer these questions before your next visit. It takes about 5 minutes. "
        "You can send your answers once."
    )
    with st.form("checkin_form", border=False):
        phq9 = _questions(PHQ9) if PHQ9 in link.measures else None
        gad7 = _questions(GAD7) if GAD7 in link.measures else None
        effects = _side_effects() if SIDE_EFFECTS in link.measures else []
        missed = None
        if MISSED_DOSES in link.measures:
            st.subheader("Missed doses")
            missed = st.number_input(
                "How many doses of your medicines did you miss in the past 7 days?",
                min_value=0,
                max_value=60,
                value=None,
                step=1,
                key="checkin_missed",
            )
        submitted = st.form_submit_button("Send my answers", type="primary", use_container_width=True)
    if not submitted:
        return
    problems = [
        f"{name} question {number}"
        for name, answers in (("Mood", phq9), ("Anxiety", gad7))
        if answers is not None
        for number, answer in enumerate(answers, start=1)
        if answer is None
    ]
    problems += [
        f"how bad side effect {n} is" for n, (text, level) in enumerate(effects, 1) if text.strip() and not level
    ]
    problems += [f"what side effect {n} is" for n, (text, level) in enumerate(effects, 1) if level and not text.strip()]
    if MISSED_DOSES in link.measures and missed is None:
        problems.append("missed doses (enter 0 if none)")
    if problems:
        st.error("Please answer: " + escape_markdown(", ".join(problems)) + ". Nothing was sent yet.")
        return
    answers = CheckinAnswers(
        phq9=[int(a) for a in phq9] if phq9 is not None else None,  # type: ignore[arg-type]
        gad7=[int(a) for a in gad7] if gad7 is not None else None,  # type: ignore[arg-type]
        side_effects=[PatientSideEffect(text.strip(), str(level)) for text, level in effects if text.strip()],
        missed_doses=int(missed) if missed is not None else None,
    )
    try:
        result = submit_checkin(token, answers)
    except LinkRefused as refused:
        st.warning(escape_markdown(str(refused)), icon=":material/link_off:")
        return
    except InvalidInput as error:
        st.error(
            "Nothing was sent. Please check:\n\n"
            + "\n".join(
                f"- {escape_markdown(field)}: {escape_markdown(message)}" for field, message in error.errors.items()
            )
        )
        return
    st.session_state[_DONE_KEY] = {"token": token_hash, "self_harm": result.self_harm}
    st.rerun()
