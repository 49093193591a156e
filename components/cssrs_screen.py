"""The C-SSRS screener as drawn inside a form, at intake and at a follow-up visit alike.

A form sends nothing until it is submitted, so questions 3-5 cannot appear only after a yes to question 2:
all six are drawn, 3-5 marked as asked after a yes to 2. The answers given go to the command, whose scoring
(clinical.score_instrument) refuses a yes to 3-5 without a yes to 2, and whose rules raise the flags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

CSSRS_QUESTIONS = {
    "q1": "1. Wished you were dead or could go to sleep and not wake up? (past month)",
    "q2": "2. Had any actual thoughts of killing yourself? (past month)",
    "q3": "3. Thought about how you might do this? (past month; ask after a yes to 2)",
    "q4": "4. Had any intention of acting on these thoughts? (past month; ask after a yes to 2)",
    "q5": "5. Started to work out or worked out the details, and intend to carry them out? (past month; ask after "
    "a yes to 2)",
    "q6": "6. Ever done, started or prepared to do anything to end your life?",
}
ASKED_AFTER_YES_TO_2 = ("q3", "q4", "q5")


@dataclass(frozen=True)
class ScreenEntry:
    answers: dict[str, Any]  # as clinical.score_instrument("C-SSRS screener", ...) takes them
    unanswered: list[str]  # question numbers the clinician still has to answer
    higher_level_of_care_considered: bool
    higher_level_of_care_note: str


def cssrs_screen(key: str) -> ScreenEntry:
    """The six questions (no answer chosen until one is given), how long ago for question 6, and the
    level-of-care decision a high-risk screen requires."""
    st.markdown("**C-SSRS screener**")
    given: dict[str, bool | None] = {
        question: st.radio(
            text,
            [False, True],
            format_func=lambda value: "Yes" if value else "No",
            index=None,
            horizontal=True,
            key=f"{key}_{question}",
        )
        for question, text in CSSRS_QUESTIONS.items()
    }
    months_ago = st.number_input(
        "6a. After a yes to 6: how many months ago?", min_value=0, max_value=600, value=None, key=f"{key}_q6_months"
    )
    considered = st.checkbox("A higher level of care was considered", key=f"{key}_loc")
    note = st.text_input("Higher level of care: decision and reason", max_chars=2000, key=f"{key}_loc_note")
    answers: dict[str, Any] = {}
    unanswered: list[str] = []
    for question, answer in given.items():
        if question in ASKED_AFTER_YES_TO_2 and given["q2"] is not True:
            if answer:  # kept so that the scoring refuses it by name: asked only after a yes to 2
                answers[question] = answer
            continue
        if answer is None:
            unanswered.append(question.removeprefix("q"))
        else:
            answers[question] = answer
    if given["q6"]:
        if months_ago is None:
            unanswered.append("6a")
        else:
            answers["q6_months_ago"] = int(months_ago)
    return ScreenEntry(answers, unanswered, considered, note)
