"""guardrails: safety middleware for open-weights language models.

    from guardrails import Guard
    guard = Guard.from_policy("default")
    verdict = guard.check_input("...")
"""

from guardrails.guard import Guard
from guardrails.errors import FilterLoadError, GuardrailsError, PolicyError
from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.policy import Policy, load_policy, policy_schema
from guardrails.types import Action, Context, FilterResult, Finding, Message, Span, Stage
from guardrails.verdict import Verdict, VerdictRecord, Violation

__version__ = "0.1.0"

__all__ = [
    "Action",
    "BaseFilter",
    "Context",
    "FilterConfig",
    "FilterLoadError",
    "FilterResult",
    "Finding",
    "Guard",
    "GuardrailsError",
    "Message",
    "Policy",
    "PolicyError",
    "Span",
    "Stage",
    "Verdict",
    "VerdictRecord",
    "Violation",
    "load_policy",
    "policy_schema",
]
