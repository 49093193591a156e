"""The program's people: teams, prescribers, nurses, supervisors and the administrator.

Sizes scale with the number of patients the way a real IOP staffs up: about one prescriber per 100
patients (never fewer than three), two or more nurses per team, a team per three prescribers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from seed.vocabulary import (
    ADMIN_NAME,
    FAMILY_NAMES,
    GIVEN_NAMES_FEMALE,
    GIVEN_NAMES_MALE,
    GIVEN_NAMES_NEUTRAL,
    LICENSE_STATES,
    NURSE_NAMES,
    PRESCRIBER_NAMES,
    SUPERVISOR_NAMES,
    TEAM_NAMES,
)

PATIENTS_PER_PRESCRIBER = 100
PATIENTS_PER_NURSE = 50
MIN_PRESCRIBERS = 3
MIN_TEAMS = 3
# Prescriber credentials cycle so every caseload view shows a mix of physicians and nurse practitioners.
PRESCRIBER_CREDENTIALS: tuple[str, ...] = ("MD", "PMHNP-BC", "DO", "PMHNP-BC", "MD")
# Where prescribers live and hold their first license; the Northeast corridor dominates this program.
HOME_STATE_WEIGHTS: dict[str, float] = {
    "NY": 6, "NJ": 4, "PA": 4, "MA": 3, "CT": 2, "MD": 2, "VA": 1.5, "OH": 1.5, "RI": 1, "VT": 0.5, "NH": 0.5,
    "ME": 0.5, "DE": 0.5,
}
FIRST_PRESCRIBER_STATES = ("NY", "NJ", "CT", "PA")


@dataclass(frozen=True)
class TeamInfo:
    id: int
    name: str


@dataclass(frozen=True)
class StaffMember:
    id: int
    username: str
    full_name: str
    role: str
    credentials: str | None
    team_id: int | None
    licensed_states: tuple[str, ...]


@dataclass(frozen=True)
class Staff:
    teams: tuple[TeamInfo, ...]
    prescribers: tuple[StaffMember, ...]
    nurses: tuple[StaffMember, ...]
    supervisors: tuple[StaffMember, ...]
    admins: tuple[StaffMember, ...]

    @property
    def everyone(self) -> tuple[StaffMember, ...]:
        return (*self.prescribers, *self.nurses, *self.supervisors, *self.admins)

    def team_name(self, team_id: int | None) -> str | None:
        return next((team.name for team in self.teams if team.id == team_id), None)


def staffing_for(patients: int) -> tuple[int, int, int, int]:
    """(teams, prescribers, nurses, supervisors) for a program of this size."""
    prescribers = max(MIN_PRESCRIBERS, math.ceil(patients / PATIENTS_PER_PRESCRIBER))
    teams = max(MIN_TEAMS, math.ceil(prescribers / 3))
    nurses = max(2 * teams, math.ceil(patients / PATIENTS_PER_NURSE))
    supervisors = 1 if patients < 1000 else 2
    return teams, prescribers, nurses, supervisors


class _NameMaker:
    """Unique invented full names: the fixed lists first, then random given/family combinations."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[tuple[str, str]] = set()
        self._given = (*GIVEN_NAMES_FEMALE, *GIVEN_NAMES_MALE, *GIVEN_NAMES_NEUTRAL)

    def next(self, preferred: tuple[tuple[str, str], ...], index: int) -> tuple[str, str]:
        if index < len(preferred) and preferred[index] not in self._used:
            name = preferred[index]
        else:
            name = (self._rng.choice(self._given), self._rng.choice(FAMILY_NAMES))
            while name in self._used:
                name = (self._rng.choice(self._given), self._rng.choice(FAMILY_NAMES))
        self._used.add(name)
        return name


def _licensed_states(rng: random.Random) -> tuple[str, ...]:
    states = list(HOME_STATE_WEIGHTS)
    home = rng.choices(states, weights=list(HOME_STATE_WEIGHTS.values()))[0]
    others = [state for state in LICENSE_STATES if state != home]
    extra = rng.sample(others, rng.randint(1, 3))
    return (home, *sorted(extra))


def _team_names(count: int) -> list[str]:
    names = [f"Team {name}" for name in TEAM_NAMES[:count]]
    round_number = 2
    while len(names) < count:
        names.extend(f"Team {name} {round_number}" for name in TEAM_NAMES[: count - len(names)])
        round_number += 1
    return names


def _username(role: str, index: int) -> str:
    # The first of each role gets the bare role name ("prescriber", "nurse"): those are the demo logins.
    return role if index == 0 else f"{role}{index + 1}"


def build_staff(rng: random.Random, patients: int, take_id: Any) -> Staff:
    """Decide who works in the program; ``take_id(table)`` hands out primary keys."""
    team_count, prescriber_count, nurse_count, supervisor_count = staffing_for(patients)
    teams = tuple(TeamInfo(take_id("teams"), name) for name in _team_names(team_count))
    names = _NameMaker(rng)

    prescribers: list[StaffMember] = []
    for index in range(prescriber_count):
        given, family = names.next(PRESCRIBER_NAMES, index)
        credentials = PRESCRIBER_CREDENTIALS[index % len(PRESCRIBER_CREDENTIALS)]
        title = "Dr. " if credentials in ("MD", "DO") else ""
        states = FIRST_PRESCRIBER_STATES if index == 0 else _licensed_states(rng)
        prescribers.append(
            StaffMember(take_id("users"), _username("prescriber", index), f"{title}{given} {family}, {credentials}",
                        "prescriber", credentials, teams[index % team_count].id, tuple(states))
        )

    nurses: list[StaffMember] = []
    for index in range(nurse_count):
        given, family = names.next(NURSE_NAMES, index)
        # Round-robin over teams: nurse 1 shares team 1 with prescriber 1, so the demo logins see the same patients.
        nurses.append(
            StaffMember(take_id("users"), _username("nurse", index), f"{given} {family}, RN", "nurse", "RN",
                        teams[index % team_count].id, ())
        )

    supervisors = tuple(
        StaffMember(take_id("users"), _username("supervisor", index),
                    f"{'Dr. ' if credentials == 'MD' else ''}{given} {family}, {credentials}", "supervisor",
                    credentials, None, ())
        for index, (given, family, credentials) in enumerate(SUPERVISOR_NAMES[:supervisor_count])
    )
    admins = (StaffMember(take_id("users"), "admin", f"{ADMIN_NAME[0]} {ADMIN_NAME[1]}", "admin", None, None, ()),)
    return Staff(teams, tuple(prescribers), tuple(nurses), supervisors, admins)


def staff_rows(
    staff: Staff, password_hash: str, created_at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for ``teams`` and ``users``."""
    team_rows = [{"id": team.id, "name": team.name} for team in staff.teams]
    user_rows = [
        {
            "id": member.id,
            "username": member.username,
            "full_name": member.full_name,
            "email": f"{member.username}@iop-demo.example",
            "role": member.role,
            "credentials": member.credentials,
            "password_hash": password_hash,
            "is_active": True,
            # Emergency chart access is for clinicians who may have to act on a chart outside their caseload.
            "may_break_glass": member.role in ("prescriber", "supervisor"),
            "team_id": member.team_id,
            "licensed_states": list(member.licensed_states),
            "created_at": created_at,
            "password_changed_at": created_at,
            "locked_until": None,
            # The demo password is printed by `make run`: the accounts are ready to use (no forced change, no
            # approval) and have no authenticator (make run leaves MFA_REQUIRED off).
            "must_change_password": False,
            "pending_approval": False,
            "pending_reason": None,
            "created_by_id": None,
            "approved_by_id": None,
            "approved_at": None,
            "totp_secret": None,
            "totp_enrolled_at": None,
            "totp_last_step": None,
            "version": 1,
        }
        for member in staff.everyone
    ]
    return team_rows, user_rows
