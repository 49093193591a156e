"""Loading the reference data files shipped in clinical/data (read once per process)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> Any:
    """The parsed JSON data file ``clinical/data/<name>.json``."""
    return json.loads(resources.files("clinical").joinpath("data", f"{name}.json").read_text(encoding="utf-8"))
