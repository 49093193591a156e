"""Shared table display: severities as meter, word and colour; legible colours in the light and dark theme."""

from __future__ import annotations

import pandas as pd
import pytest

from components import timeline
from components.tables import (
    SEVERITY_BACKGROUNDS,
    SEVERITY_TEXT,
    dose_text,
    severity_label,
    severity_style,
)

LIGHT_BACKGROUND = "#ffffff"
DARK_BACKGROUND = "#0e1117"  # Streamlit's dark theme


def _luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio."""
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("severity", "label"),
    [
        ("urgent", "●●●● urgent"),
        ("high", "●●●○ high"),
        ("moderate", "●●○○ moderate"),
        ("low", "●○○○ low"),
        ("moderately severe", "●●●○ moderately severe"),
        ("minimal", "○○○○ minimal"),
        ("", ""),
        (None, ""),
        (float("nan"), ""),
        ("unheard-of", "unheard-of"),
    ],
)
def test_a_severity_reads_as_a_meter_and_a_word(severity: object, label: str) -> None:
    assert severity_label(severity) == label


def test_the_cell_colour_only_backs_up_the_word() -> None:
    assert "background-color: #f8b4b4" in severity_style("●●●● urgent")
    assert severity_style("urgent") == severity_style("●●●● urgent")
    assert severity_style("○○○○ minimal") == "" and severity_style("") == ""


@pytest.mark.parametrize("background", sorted(set(SEVERITY_BACKGROUNDS.values())))
def test_severity_cells_are_legible_in_either_theme(background: str) -> None:
    # The text colour is set with the background, so the page theme does not change the pair.
    assert contrast(SEVERITY_TEXT, background) >= 7


@pytest.mark.parametrize(
    "colour",
    [
        timeline.SCORE_COLOUR_NO_BANDS,
        timeline.CHANGE_RULE_COLOUR,
        timeline.LANE_COLOUR,
        timeline.CHANGE_POINT_COLOUR,
        timeline.ITEM9_COLOUR,
        *[colour for colour, _ in timeline.REFERENCE_STYLES.values()],
        # Mild side effects are amber (too light on white alone): drawn with a dark outline and a shape of their own.
        *[colour for name, colour in timeline.SEVERITY_COLOURS.items() if name != "mild"],
    ],
)
def test_chart_marks_on_the_page_background_stand_out_in_light_and_dark(colour: str) -> None:
    assert contrast(colour, LIGHT_BACKGROUND) >= 3
    assert contrast(colour, DARK_BACKGROUND) >= 3


def test_marks_drawn_on_the_severity_bands_stand_out_from_every_band() -> None:
    for colour in (timeline.SCORE_COLOUR, timeline.ITEM9_COLOUR, *[c for c, _ in timeline.REFERENCE_STYLES.values()]):
        assert min(contrast(colour, band) for band in timeline.BAND_COLOURS) >= 3, colour
    # Dose labels sit inside the lane bars.
    assert contrast(timeline.OUTLINE, timeline.LANE_COLOUR) >= 4.5


def test_a_dose_reads_with_its_unit_and_frequency() -> None:
    assert dose_text(50.0, "mg", "once daily") == "50 mg once daily"
    assert dose_text(0.5, "mg", None) == "0.5 mg"
    assert dose_text(None, "mg", "once daily") == "—"
    assert dose_text(pd.NA, "mg", None) == "—"
