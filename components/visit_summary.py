"""The visit summary: what a 15-minute medication visit needs, on the first screen of the chart.

Built only from the ChartData and ChartHeader already loaded for the chart (no extra queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from components.forms import escape_markdown
from components.tables import dose_text
from db.queries.chart import ChartData
from db.queries.patients import ChartHeader
from db.queries.vitals import vitals_due

SCALES = ("PHQ-9", "GAD-7")


@dataclass(frozen=True)
class ScoreSummary:
    instrument: str
    latest: int
    severity: str
    administered_on: date
    change_from_previous: int | None
    baseline: int
    change_from_baseline: int | None


def _as_date(value: object) -> date:
    return pd.Timestamp(value).date()


def score_summaries(assessments: pd.DataFrame) -> list[ScoreSummary]:
    """The latest PHQ-9 and GAD-7 with their change from the previous score and from the first (baseline) one."""
    summaries: list[ScoreSummary] = []
    if assessments.empty:
        return summaries
    for instrument in SCALES:
        scores = assessments[assessments["instrument"] == instrument].sort_values("administered_at")
        if scores.empty:
            continue
        totals = [int(total) for total in scores["total"]]
        latest = scores.iloc[-1]
        summaries.append(
            ScoreSummary(
                instrument=instrument,
                latest=totals[-1],
                severity=str(latest["severity"] or ""),
                administered_on=_as_date(latest["administered_at"]),
                change_from_previous=totals[-1] - totals[-2] if len(totals) > 1 else None,
                baseline=totals[0],
                change_from_baseline=totals[-1] - totals[0] if len(totals) > 1 else None,
            )
        )
    return summaries


def current_medications(prescriptions: pd.DataFrame) -> pd.DataFrame:
    """Active medications, program ones first, as the summary shows them: drug, dose with unit, since when."""
    columns = ["Medication", "Since", "Prescribed by"]
    if prescriptions.empty:
        return pd.DataFrame(columns=columns)
    active = prescriptions[prescriptions["status"] == "active"]
    outside = ~active["is_psychiatric"].astype(bool)
    shown = pd.DataFrame(
        {
            # Drug and dose in one column ("sertraline 50 mg once daily"), so "Since" still shows at 1024 px.
            "Medication": [
                f"{drug} {dose_text(dose, unit, frequency)}"
                for drug, dose, unit, frequency in zip(
                    active["drug"], active["dose"], active["unit"], active["frequency"], strict=True
                )
            ],
            "Since": [_as_date(start) for start in active["start_date"]],
            # An outside medication is marked with who prescribes it, so nobody mistakes it for one of ours.
            "Prescribed by": [
                f"outside: {source or 'source not recorded'}" if is_outside else "program"
                for source, is_outside in zip(
                    active["source"] if "source" in active else [None] * len(active), outside, strict=True
                )
            ],
            "_outside": outside,
        }
    )
    return shown.sort_values(["_outside", "Medication"])[columns]


def medication_lines(medications: pd.DataFrame) -> list[str]:
    """'sertraline 50 mg once daily · since 2026-06-01', an outside one ending with who prescribes it."""
    return [
        f"{row['Medication']} · since {row['Since']}"
        + ("" if row["Prescribed by"] == "program" else f" · {row['Prescribed by']}")
        for row in medications.to_dict("records")
    ]


def open_flag_lines(flags: pd.DataFrame) -> list[tuple[str, str]]:
    """(severity, line) for each open flag, most severe first (the chart query orders by severity rank)."""
    if flags.empty:
        return []
    open_flags = flags[flags["state"] != "resolved"].sort_values("severity_rank", kind="stable")
    return [
        (
            str(flag.severity),
            f"{str(flag.severity).upper()} · {str(flag.kind).replace('_', ' ')} · {flag.state} · "
            f"owner: {flag.owner if isinstance(flag.owner, str) else 'none'} · {flag.summary}",
        )
        for flag in open_flags.itertuples()
    ]


def due_lines(data: ChartData, *, today: date) -> list[str]:
    """Pending labs (overdue ones first) and vitals the monitoring rules ask for, one line each."""
    lines: list[str] = []
    if not data.lab_orders.empty:
        orders = data.lab_orders.assign(overdue=data.lab_orders["due_by"].map(_as_date) < today)
        for order in orders.sort_values(["overdue", "due_by"], ascending=[False, True]).itertuples():
            state = "OVERDUE" if order.overdue else "pending"
            lines.append(f"Lab {order.test}: {state}, due {_as_date(order.due_by)}")
    vitals = vitals_due(data.prescriptions, data.visits, today=today)
    for vital in vitals.itertuples():
        if vital.status in ("overdue", "due"):
            lines.append(
                f"Vital {vital.vital}: {str(vital.status).upper() if vital.status == 'overdue' else 'due'}"
                f", due {vital.due_by}"
            )
    return lines


def pending_refill_lines(refills: pd.DataFrame) -> list[str]:
    if refills.empty:
        return []
    pending = refills[refills["status"] == "pending"]
    return [
        f"{refill.drug}: {int(refill.quantity)} for {int(refill.days_supply)} days, requested "
        f"{_as_date(refill.requested_at)}{' (EARLY)' if refill.is_early else ''}"
        for refill in pending.itertuples()
    ]


def _signed(value: int | None) -> str:
    return "—" if value is None else f"{value:+d}"


FLAG_BADGES = {
    "urgent": ":red-badge[:material/emergency: URGENT]",
    "high": ":orange-badge[:material/warning: HIGH]",
    "moderate": ":yellow-badge[MODERATE]",
    "low": ":gray-badge[LOW]",
}


def _crisis_plan(header: ChartHeader) -> None:
    st.text(header.crisis_plan or "None recorded")
    st.caption("Emergency contact")
    st.text(header.emergency_contact or "None recorded")


def render_visit_summary(header: ChartHeader, data: ChartData, *, today: date, show_crisis_plan: bool = False) -> None:
    """Three compact columns: medications and allergies; scores and next visit; flags, due items, crisis plan.

    ``show_crisis_plan`` (the triage queue's crisis-plan link) shows the plan open above the summary."""
    if show_crisis_plan:
        with st.container(border=True, key="crisis_plan_open"):
            st.subheader("Crisis plan", anchor="crisis-plan")
            _crisis_plan(header)
    with st.container(key="visit_summary"):
        _summary_columns(header, data, today=today)


def _summary_columns(header: ChartHeader, data: ChartData, *, today: date) -> None:
    medications, scores, tasks = st.columns([5, 3, 4])
    with medications:
        st.caption("Current medications")
        # Lines of text, not a grid: they wrap in a narrow column (a grid cut "Since" off at 1024 px).
        lines = medication_lines(current_medications(data.prescriptions))
        st.text("\n".join(lines) if lines else "None active")
        st.caption("Allergies")
        st.text(
            "; ".join(f"{substance}{f' ({reaction})' if reaction else ''}" for substance, reaction in header.allergies)
            or "No known allergies"
        )
    with scores:
        summaries = score_summaries(data.assessments)
        if not summaries:
            st.caption("No PHQ-9 or GAD-7 recorded yet")
        for summary in summaries:
            st.metric(
                # The severity goes in the label (in the value it was cut off in a one-third column); the date
                # goes below, where a 1024-pixel-wide page still shows it whole.
                " · ".join(part for part in (summary.instrument, summary.severity) if part),
                str(summary.latest),
                delta=None if summary.change_from_previous is None else f"{summary.change_from_previous:+d} since last",
                delta_color="inverse",  # a lower score is better
            )
            st.caption(
                f"on {summary.administered_on} · baseline {summary.baseline} · "
                f"change from baseline {_signed(summary.change_from_baseline)}"
            )
        overdue = header.next_visit_due is not None and header.next_visit_due < today
        st.caption("Next visit due")
        st.text(f"{header.next_visit_due or '—'}{' (OVERDUE)' if overdue else ''}")
    with tasks:
        st.caption("Open flags")
        flags = open_flag_lines(data.flags)
        if not flags:
            st.text("None open")
        for severity, line in flags:
            # A badge with an icon and the word (colour-blind safe); the rest is database text, escaped.
            badge = FLAG_BADGES.get(severity, "")
            st.markdown(f"{badge} {escape_markdown(line.split(' · ', 1)[1])}")
        st.caption("Labs and vitals due")
        due = due_lines(data, today=today)
        st.text("\n".join(due) if due else "Nothing due")
        st.caption("Pending refill requests")
        refills = pending_refill_lines(data.refills)
        st.text("\n".join(refills) if refills else "None pending")
        with st.popover("Crisis plan", icon=":material/health_and_safety:"):
            _crisis_plan(header)
