"""The options of ``guard.wrap``: how often answers are checked, and what a streamer gets on a block."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Decode and check the new tokens every this many generation steps (a sentence end in the
# delta triggers the OutputStream check right away, see guardrails.streaming).
DEFAULT_CHECK_EVERY_TOKENS = 4
# Incremental checks may take at most this fraction of the generation time; past it they are
# spaced out (the final check still sees everything). None: check at every opportunity.
DEFAULT_MAX_OVERHEAD = 0.02


@dataclass(frozen=True)
class WrapOptions:
    """The validated options of one wrapper (the keyword arguments of ``guard.wrap``)."""

    check_every_tokens: int = DEFAULT_CHECK_EVERY_TOKENS
    max_overhead: float | None = DEFAULT_MAX_OVERHEAD
    stream_refusal: bool = True
    stream_options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of each row's OutputStream

    @classmethod
    def of(
        cls,
        *,
        check_every_tokens: int = DEFAULT_CHECK_EVERY_TOKENS,
        stream_refusal: bool = True,
        hold_chars: int | None = None,
        check_every_chars: int | None = None,
        max_overhead: float | None = DEFAULT_MAX_OVERHEAD,
    ) -> "WrapOptions":
        if check_every_tokens < 1:
            raise ValueError(f"check_every_tokens: expected an integer >= 1, got {check_every_tokens!r}")
        if max_overhead is not None and not 0 < max_overhead:
            raise ValueError(f"max_overhead: expected a positive fraction (e.g. 0.02) or None, got {max_overhead!r}")
        stream_options: dict[str, Any] = {}
        if hold_chars is not None:
            stream_options["hold_chars"] = hold_chars
        if check_every_chars is not None:
            stream_options["check_every"] = check_every_chars
        return cls(check_every_tokens, max_overhead, stream_refusal, stream_options)
