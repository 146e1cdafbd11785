"""Exceptions raised by guardrails."""

from __future__ import annotations


class GuardrailsError(Exception):
    """Base class of every error this package raises on purpose."""


class PolicyError(GuardrailsError):
    """A policy file or policy object is invalid.

    ``problems`` holds one line per problem, each naming ``file:line: key: what was expected``.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class FilterLoadError(GuardrailsError):
    """A filter could not be found, imported or loaded (missing model, missing extra, ...)."""


class FilterTimeout(GuardrailsError):
    """A filter exceeded its ``timeout_ms``."""
