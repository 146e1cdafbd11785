"""The filter contract: the config model every filter entry extends and the base class every filter derives from.

A filter *scores*; the engine *decides*. ``check`` returns a ``FilterResult``: findings (a category, a score in
[0, 1] and, for filters that can redact, the spans it found) and optional scores per category. The engine keeps a
finding when its score reaches ``threshold_for(category)`` (the policy's ``threshold`` / ``thresholds`` keys,
else the class's ``default_threshold``) and applies ``action_for(category)`` (else the entry's ``action``). A
filter never reads the policy's action and need not read its threshold. ``guardrails.registry`` checks a class
against this contract before a policy can use it (``contract_problems``).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any, ClassVar

from guardrails.filter_config import FilterConfig
from guardrails.thresholds import unit_interval
from guardrails.types import Action, Context, FilterResult

__all__ = ["REDACT_METHODS", "BaseFilter", "FilterConfig", "action_level", "contract_problems", "unit_interval"]

# Actions a policy may name; the redact family rewrites text and counts as REDACT in a verdict.
REDACT_METHODS = frozenset({"redact", "mask", "hash", "pseudonymize"})
KNOWN_ACTIONS = frozenset({"block", "flag", "respond", *REDACT_METHODS})
COSTS = (0, 1, 2)


class BaseFilter:
    """Base class of every filter, built-in or plugin.

    Set ``name``, ``Config`` (a ``FilterConfig`` subclass with your keys), ``cost`` (0 = string ops,
    1 = pattern engines, 2 = neural models or network calls; the engine runs cheap filters first) and
    ``actions`` (the policy actions your findings support: include a redact-family action only when
    every finding carries spans), then implement ``check``. Heavy work (models, analyzers) goes in
    ``load``, which runs once, lazily and thread-safely; never in ``__init__``, so that building a
    Guard stays fast.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type[FilterConfig]] = FilterConfig
    cost: ClassVar[int] = 1
    # True: the engine calls check() once with the whole conversation rendered as text and
    # ctx.messages set, instead of once per message.
    conversation: ClassVar[bool] = False
    actions: ClassVar[frozenset[str]] = frozenset({"block", "redact", "flag"})
    default_threshold: ClassVar[float] = 0.5
    # Chat input: the message roles (guardrails.conversation.ROLES) and parts (PART_KINDS) the filter reads
    # when the policy entry names none (its `roles:` / `parts:` keys).
    default_roles: ClassVar[frozenset[str]] = frozenset({"user", "tool", "system", "assistant"})
    default_parts: ClassVar[frozenset[str]] = frozenset({"content", "tool_arguments", "tool_names", "metadata"})
    # > 0: besides each message, the engine checks the last `turn_window` turns of each role joined, so
    # that an instruction split across turns (or a role-play set up earlier) is seen whole.
    turn_window: ClassVar[int] = 0

    def __init__(self, config: FilterConfig) -> None:
        self.config = config
        self._loaded = False
        self._load_lock = threading.Lock()

    @property
    def threshold(self) -> float:
        """The entry's ``threshold``, else the class's ``default_threshold``."""
        t = self.config.threshold
        return self.default_threshold if t is None else t

    def threshold_for(self, category: str, ctx: Context) -> float:
        """The score at or above which a finding of ``category`` is a violation: the entry's
        ``thresholds`` mapping (when the config has one), else ``threshold``. The engine applies it
        to every finding; filters with per-category rules override this."""
        per_category = getattr(self.config, "thresholds", None)
        if isinstance(per_category, dict) and category in per_category:
            return float(per_category[category])
        return self.threshold

    def action_for(self, category: str, ctx: Context) -> str | None:
        """The policy action for findings of ``category`` when it differs from the entry's
        ``action`` (per-category rules); None: the entry's action."""
        return None

    def roles(self) -> frozenset[str]:
        """The roles of the chat messages this entry reads at the input stage."""
        return frozenset(self.config.roles) if self.config.roles is not None else self.default_roles

    def parts(self) -> frozenset[str]:
        """The parts of a message (content, tool_arguments, tool_names, metadata) this entry reads."""
        return frozenset(self.config.parts) if self.config.parts is not None else self.default_parts

    def cacheable(self, ctx: Context) -> bool:
        """True when ``check(text, ctx)`` depends on nothing but ``text``, the stage, the role and the part
        (no model sampling, no ``ctx.prompt``, ``ctx.messages`` or vault): the engine may then reuse the
        result of an identical earlier check (its per-message cache). Keep False when unsure."""
        return False

    def load(self) -> None:
        """Load models or build engines. Called once, before the first check."""

    def screen(self, text: str, ctx: Context) -> FilterResult | None:
        """What ``check(text, ctx)`` would return, when that is certain without loading anything (e.g. ``text``
        cannot hold what this filter looks for); None, the default, runs the filter. Must be cheap and exact."""
        return None

    @property
    def load_on_demand(self) -> bool:
        """True: load only when a text gets past ``screen`` (a one-shot check of a plain text never pays for
        the load); ``Engine.load()`` still loads it up front. Only meaningful with a ``screen``."""
        return False

    def ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._load_lock:
            if not self._loaded:
                self.load()
                self._loaded = True

    def check(self, text: str, ctx: Context) -> FilterResult:
        """Score ``text`` (one message, or the rendered conversation for ``conversation`` filters).

        Return ``FilterResult(findings, scores)``: one ``Finding(category, score, spans)`` per thing
        found, with its score in [0, 1] (1.0 for exact matches) and the ``Span``s it covers (needed
        for redaction); ``scores`` may hold every category's score, found or not. Report what you
        found at any score: the engine compares scores with the policy's thresholds and applies its
        actions. ``ctx`` carries the stage, the chat messages, the prompt an answer responds to and
        the locale; raise an exception on failure (the policy's ``on_error`` decides what follows).
        """
        raise NotImplementedError

    def is_light(self) -> bool:
        """True when a check is pure CPU work of about a millisecond per thousand characters, with
        no I/O, so the sidecar may run checks of short texts on its event loop. Keep False for
        anything that can block (models, network calls)."""
        return False

    async def acheck(self, text: str, ctx: Context) -> FilterResult:
        """Async check; the default runs ``check`` in a worker thread."""
        return await asyncio.to_thread(self.check, text, ctx)

    def required_models(self) -> list[str]:
        """Model keys (hub ids or paths) this filter needs; used by ``guardrails models``."""
        return []


def contract_problems(cls: Any) -> list[str]:
    """What keeps ``cls`` from being a filter, one line each (empty: it is one)."""
    if not isinstance(cls, type):
        return [f"it is a {type(cls).__name__}, not a class"]
    if not issubclass(cls, BaseFilter):
        missing = [a for a in ("Config", "check", "load", "ensure_loaded", "acheck", "threshold_for", "action_for")
                   if not hasattr(cls, a)]
        lacks = f" (it lacks {', '.join(missing)})" if missing else ""
        return [f"it does not subclass guardrails.filters.base.BaseFilter{lacks}"]
    problems = []
    if cls.check is BaseFilter.check:
        problems.append("it does not implement check(self, text, ctx) -> FilterResult")
    elif len(inspect.signature(cls.check).parameters) != 3:
        problems.append(f"check must take (self, text, ctx), it takes {inspect.signature(cls.check)}")
    if not isinstance(cls.Config, type) or not issubclass(cls.Config, FilterConfig):
        problems.append("Config must be a subclass of guardrails.filters.base.FilterConfig")
    if cls.cost not in COSTS:
        problems.append(f"cost must be 0, 1 or 2, got {cls.cost!r}")
    actions = cls.actions
    if not isinstance(actions, (set, frozenset)) or not actions or not set(actions) <= KNOWN_ACTIONS:
        problems.append(f"actions must be a non-empty set of {', '.join(sorted(KNOWN_ACTIONS))}, got {actions!r}")
    if not isinstance(cls.default_threshold, (int, float)) or isinstance(cls.default_threshold, bool) \
            or not 0 <= cls.default_threshold <= 1:
        problems.append(f"default_threshold must be a number between 0 and 1, got {cls.default_threshold!r}")
    return problems


def action_level(action: str) -> Action:
    """Map a policy action name (including the redact family) to its verdict level."""
    if action in REDACT_METHODS:
        return Action.REDACT
    return Action(action)
