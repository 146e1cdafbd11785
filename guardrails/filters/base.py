"""The filter protocol and the base class every built-in filter derives from."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from guardrails.types import Action, Context, FilterResult

# Actions a policy may name; the redact family rewrites text and counts as REDACT in a verdict.
REDACT_METHODS = frozenset({"redact", "mask", "hash", "pseudonymize"})


class FilterConfig(BaseModel):
    """Keys every filter entry of a policy accepts. Filters subclass it to add their own keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filter: str = Field(description="A registered filter name, or 'package.module:ClassName'.")
    id: str | None = Field(None, description="Unique id within the stage; defaults to the filter name.")
    action: str = Field("block", description="block | redact | flag (some filters accept more).")
    threshold: float | None = Field(None, description="Score at or above which a finding is a violation.")
    on_error: Literal["block", "allow"] | None = Field(
        None, description="What a crash or timeout does; defaults to the policy's on_error."
    )
    timeout_ms: int | None = Field(None, gt=0, description="Per-check time limit in milliseconds.")
    enabled: bool = Field(True, description="false removes an entry inherited through extends.")

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold_in_unit_range(cls, value: Any) -> Any:
        return None if value is None else unit_interval(value)

    def files_read(self) -> tuple[str, ...]:
        """Files this entry reads besides the policy (e.g. a deny list): hot reload watches them."""
        return ()

    def respond_categories(self) -> tuple[str, ...]:
        """Categories whose action is ``respond`` (the policy must hold a message for each)."""
        return ()


def unit_interval(value: Any, name: str | None = None) -> float:
    """A threshold or score: a number between 0 and 1 (not a bool); ValueError saying so otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        prefix = f"{name}: " if name else ""
        raise ValueError(f"{prefix}expected a number between 0 and 1, got {value!r}")
    return float(value)


@runtime_checkable
class Filter(Protocol):
    """What the engine needs from a filter."""

    name: ClassVar[str]
    cost: ClassVar[int]
    conversation: ClassVar[bool]
    config: FilterConfig

    def load(self) -> None: ...

    def check(self, text: str, ctx: Context) -> FilterResult: ...


class BaseFilter:
    """Convenience base: holds the validated config, loads lazily and thread-safely once.

    Subclasses set ``name``, optionally ``Config`` (a ``FilterConfig`` subclass), ``cost``
    (0 = string ops, 1 = pattern engines, 2 = neural models; the engine runs cheap filters
    first), ``actions`` and implement ``check``. Heavy work (models, analyzers) goes in
    ``load``, never in ``__init__``, so that building a Guard stays fast.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type[FilterConfig]] = FilterConfig
    cost: ClassVar[int] = 1
    # True: the engine calls check() once with the whole conversation rendered as text and
    # ctx.messages set, instead of once per message.
    conversation: ClassVar[bool] = False
    actions: ClassVar[frozenset[str]] = frozenset({"block", "redact", "flag"})
    default_threshold: ClassVar[float] = 0.5

    def __init__(self, config: FilterConfig) -> None:
        self.config = config
        self._loaded = False
        self._load_lock = threading.Lock()

    @property
    def threshold(self) -> float:
        t = self.config.threshold
        return self.default_threshold if t is None else t

    def load(self) -> None:
        """Load models or build engines. Called once, before the first check."""

    def ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._load_lock:
            if not self._loaded:
                self.load()
                self._loaded = True

    def check(self, text: str, ctx: Context) -> FilterResult:
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


def action_level(action: str) -> Action:
    """Map a policy action name (including the redact family) to its verdict level."""
    if action in REDACT_METHODS:
        return Action.REDACT
    return Action(action)
