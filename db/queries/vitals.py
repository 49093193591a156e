"""Vital signs on the chart: their history with BMI, and which the monitoring rules say are due or overdue.

Pure functions of the chart's frames (no extra query): the chart already reads the visits and prescriptions.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

import clinical

# A measurement taken up to this many days before a due date counts for it (a visit a little early).
EARLY_WINDOW_DAYS = 14
# Which visit column records each vital the rules ask for.
RECORDED_BY = {
    "Weight": "weight_kg",
    "BMI": "bmi",
    "Blood pressure": "bp_systolic",
    "Waist circumference": "waist_cm",
    "Heart rate": "heart_rate",
    "Height": "height_cm",
}


def vitals_history(visits: pd.DataFrame) -> pd.DataFrame:
    """One row per visit that recorded any vital, oldest first, with BMI from the newest height known then."""
    columns = ["visit_at", "weight_kg", "height_cm", "bmi", "bp_systolic", "bp_diastolic", "waist_cm", "heart_rate"]
    if visits.empty:
        return pd.DataFrame(columns=columns)
    frame = visits.sort_values("visit_at").copy()
    for column in ("height_cm", "waist_cm", "heart_rate"):
        if column not in frame:
            frame[column] = None
    height = pd.to_numeric(frame["height_cm"], errors="coerce").ffill()
    weight = pd.to_numeric(frame["weight_kg"], errors="coerce")
    frame["bmi"] = [_bmi(w, h) for w, h in zip(weight.tolist(), height.tolist(), strict=True)]
    recorded = frame[["weight_kg", "height_cm", "bp_systolic", "waist_cm", "heart_rate"]].notna().any(axis=1)
    return frame.loc[recorded, columns].reset_index(drop=True)


def _bmi(weight: float, height: float) -> float | None:
    if pd.isna(weight) or pd.isna(height):
        return None
    try:
        return clinical.bmi(float(weight), float(height))
    except ValueError:
        return None


def vitals_due(prescriptions: pd.DataFrame, visits: pd.DataFrame, *, today: date) -> pd.DataFrame:
    """For each vital the active medications' monitoring asks for: when it was last recorded, the earliest due
    date not yet met, and whether it is overdue (past due), due (within two weeks) or scheduled."""
    columns = ["vital", "status", "due_by", "last_recorded", "required_by"]
    if prescriptions.empty:
        return pd.DataFrame(columns=columns)
    history = vitals_history(visits)
    # Plain lists, not a pandas selection per vital and per medication: this runs on every chart view.
    times = history["visit_at"].tolist() if not history.empty else []
    last_by_vital: dict[str, date | None] = {}
    for vital, column in RECORDED_BY.items():
        values = history[column].tolist() if not history.empty else []
        taken = [at for at, value in zip(times, values, strict=True) if not pd.isna(value)]
        last_by_vital[vital] = pd.Timestamp(max(taken)).date() if taken else None
    due: dict[str, tuple[date, list[str]]] = {}
    active = [
        (drug, start_date)
        for drug, start_date, status, is_psychiatric in zip(
            prescriptions["drug"],
            prescriptions["start_date"],
            prescriptions["status"],
            prescriptions["is_psychiatric"],
            strict=True,
        )
        if status == "active" and bool(is_psychiatric)
    ]
    for drug, start_date in active:
        start = start_date if isinstance(start_date, date) else pd.Timestamp(start_date).date()
        weeks = max(0, (today - start).days // 7)
        points = [
            *clinical.monitoring_labs(drug, "start", on=start, include_vitals=True),
            *clinical.monitoring_labs(drug, "maintenance", on=today, weeks_on_treatment=weeks, include_vitals=True),
        ]
        for point in points:
            if point.kind != "vital":
                continue
            last = last_by_vital.get(point.test)
            if last is not None and last >= point.due_by - timedelta(days=EARLY_WINDOW_DAYS):
                continue  # measured for this due date (or later)
            earliest, drugs = due.get(point.test, (point.due_by, []))
            due[point.test] = (min(earliest, point.due_by), sorted({*drugs, drug}))
    rows = [
        {
            "vital": vital,
            "status": "overdue" if due_by < today else "due" if due_by <= today + timedelta(days=14) else "scheduled",
            "due_by": due_by,
            "last_recorded": last_by_vital.get(vital),
            "required_by": ", ".join(drugs),
        }
        for vital, (due_by, drugs) in sorted(due.items(), key=lambda item: item[1][0])
    ]
    return pd.DataFrame(rows, columns=columns)


__all__ = ["vitals_due", "vitals_history"]
