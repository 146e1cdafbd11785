"""The one threshold type: a number between 0 and 1 (a bool is not a number here)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def unit_interval(value: Any, name: str | None = None) -> float:
    """A threshold or score: a number between 0 and 1 (not a bool); ValueError saying so otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        prefix = f"{name}: " if name else ""
        raise ValueError(f"{prefix}expected a number between 0 and 1, got {value!r}")
    return float(value)


# Use in config models: ``threshold: Threshold | None`` or ``thresholds: dict[str, Threshold]``.
Threshold = Annotated[float, BeforeValidator(unit_interval)]
