"""Shared, computed-once inputs for the clinical tests."""

from __future__ import annotations

import pytest

import clinical


@pytest.fixture(scope="session")
def all_known_findings() -> list[clinical.Interaction]:
    """Every finding among all the drugs the screens know (about 33,000 pairs), computed once per session."""
    return clinical.check_interactions(clinical.known_medications())
