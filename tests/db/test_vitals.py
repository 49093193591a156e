"""Vital signs on the chart: BMI from the newest height known, and the ADA/APA 2004 schedule for an
antipsychotic (weight and BMI at baseline, 4, 8 and 12 weeks; blood pressure; waist) shown as due or overdue."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine

from db.queries.chart import chart_data
from db.queries.vitals import vitals_due, vitals_history
from tests.factories import make_patient, make_team, make_user

TODAY = date(2026, 12, 1)


def _visits(*rows: dict) -> pd.DataFrame:
    base = {
        "weight_kg": None,
        "height_cm": None,
        "bp_systolic": None,
        "bp_diastolic": None,
        "waist_cm": None,
        "heart_rate": None,
    }
    return pd.DataFrame([{**base, **row} for row in rows])


def _olanzapine(started: date) -> pd.DataFrame:
    return pd.DataFrame([{"drug": "olanzapine", "status": "active", "is_psychiatric": True, "start_date": started}])


def test_bmi_uses_the_newest_height_known_at_each_visit() -> None:
    history = vitals_history(
        _visits(
            {"visit_at": datetime(2026, 10, 1), "weight_kg": 80.0, "height_cm": 180.0},
            {"visit_at": datetime(2026, 11, 1), "weight_kg": 84.0},
            {"visit_at": datetime(2026, 11, 8), "bp_systolic": 128, "bp_diastolic": 82},
        )
    )
    assert history["bmi"].tolist()[:2] == [24.7, 25.9]
    assert pd.isna(history["bmi"].tolist()[2])


def test_an_antipsychotic_started_six_weeks_ago_with_only_a_baseline_weight_has_the_4_week_weight_overdue() -> None:
    started = TODAY - timedelta(weeks=6)
    due = vitals_due(
        _olanzapine(started),
        _visits({"visit_at": datetime.combine(started, datetime.min.time()), "weight_kg": 70.0, "height_cm": 170.0}),
        today=TODAY,
    )
    rows = {row.vital: row for row in due.itertuples()}
    assert rows["Weight"].status == "overdue" and rows["Weight"].due_by == started + timedelta(weeks=4)
    assert rows["Weight"].last_recorded == started
    assert rows["Blood pressure"].status == "overdue" and rows["Blood pressure"].last_recorded is None
    assert rows["Weight"].required_by == "olanzapine"


def test_a_recent_measurement_meets_the_due_dates_before_it() -> None:
    started = TODAY - timedelta(weeks=6)
    due = vitals_due(
        _olanzapine(started),
        _visits({"visit_at": datetime.combine(TODAY, datetime.min.time()), "weight_kg": 71.0, "height_cm": 170.0}),
        today=TODAY,
    )
    weight = due[due["vital"] == "Weight"].iloc[0]
    assert weight["status"] != "overdue" and weight["due_by"] > TODAY


def test_no_active_medication_needs_no_vitals() -> None:
    assert vitals_due(pd.DataFrame(), _visits(), today=TODAY).empty


def test_the_chart_reads_height_waist_and_heart_rate(engine: Engine) -> None:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    patient = make_patient(engine, prescriber=prescriber)
    data = chart_data(prescriber, patient)
    assert {"height_cm", "waist_cm", "heart_rate"} <= set(data.visits.columns)
    assert vitals_history(data.visits).empty


@pytest.mark.parametrize("drug", ["sertraline"])
def test_a_drug_without_vital_monitoring_asks_for_none(drug: str) -> None:
    frame = pd.DataFrame([{"drug": drug, "status": "active", "is_psychiatric": True, "start_date": TODAY}])
    assert vitals_due(frame, _visits(), today=TODAY).empty
