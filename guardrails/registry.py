"""Find filter classes by name: entry points of the group ``guardrails.filters``, or ``module:Class``.

Built-in filters are registered through the same entry-point group as third-party ones, so
nothing here knows which filters exist.
"""

from __future__ import annotations

import difflib
import importlib
from functools import lru_cache
from importlib.metadata import entry_points

from guardrails.errors import FilterLoadError
from guardrails.filters.base import BaseFilter, contract_problems

ENTRY_POINT_GROUP = "guardrails.filters"


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> list[str]:
    """Names of every registered filter, sorted."""
    return sorted(_entry_points())


@lru_cache(maxsize=None)
def resolve(name: str) -> type[BaseFilter]:
    """Return the filter class for a registered name or an explicit ``package.module:ClassName``.

    Raises FilterLoadError with a message that says what is known or what failed to import.
    """
    if ":" in name:
        target = name
    else:
        registered = _entry_points()
        if name not in registered:
            known = ", ".join(available()) or "(none registered: is the package installed?)"
            close = difflib.get_close_matches(name, list(registered), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise FilterLoadError(f"unknown filter {name!r}; known: {known}{hint}")
        target = registered[name]
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise FilterLoadError(f"expected 'package.module:ClassName', got {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise FilterLoadError(f"cannot import {target!r}: {exc}") from None
    if not hasattr(module, attr):
        raise FilterLoadError(f"{target!r}: module {module_name!r} has no attribute {attr!r}")
    cls = getattr(module, attr)
    problems = contract_problems(cls)
    if problems:
        raise FilterLoadError(f"{target!r} is not a guardrails filter: {'; '.join(problems)} (see docs/plugins.md)")
    return cls  # type: ignore[no-any-return]
