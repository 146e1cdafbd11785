"""Core value types shared by the engine and every filter."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping, TypedDict


class Stage(str, enum.Enum):
    """Where a check runs: on the prompt before the model, or on what the model generates."""

    INPUT = "input"
    OUTPUT = "output"


class Action(str, enum.Enum):
    """What a violation does, ordered by strength: allow < flag < redact < block."""

    ALLOW = "allow"
    FLAG = "flag"
    REDACT = "redact"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return _ACTION_RANK[self]

    @classmethod
    def strongest(cls, actions: "list[Action]") -> "Action":
        return max(actions, key=lambda a: a.rank, default=cls.ALLOW)


_ACTION_RANK = {Action.ALLOW: 0, Action.FLAG: 1, Action.REDACT: 2, Action.BLOCK: 3}


class Message(TypedDict, total=False):
    """One chat message in the OpenAI / transformers chat-template shape."""

    role: str
    content: str


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a chat message; of OpenAI content parts, the text parts."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return str(content)


@dataclass(frozen=True)
class Span:
    """A character range ``[start, end)`` of the checked text.

    ``replacement`` is what a redaction writes in its place; ``None`` means ``<label>``.
    """

    start: int
    end: int
    label: str
    replacement: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label}


@dataclass(frozen=True)
class Finding:
    """One thing a filter found: a category, a score in [0, 1] and where it is.

    ``action`` overrides the filter's configured action for this finding (rarely needed).
    """

    category: str
    score: float
    spans: tuple[Span, ...] = ()
    action: Action | None = None


@dataclass(frozen=True)
class FilterResult:
    """What one filter returns for one text.

    ``findings`` are the violations (already past the filter's thresholds); ``scores`` holds
    the raw score of every category the filter scored, violating or not (used by evaluation).
    """

    findings: tuple[Finding, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def clean(cls, scores: Mapping[str, float] | None = None) -> "FilterResult":
        return cls((), dict(scores or {}))


@dataclass
class Context:
    """Per-request state handed to every filter of a request.

    ``messages`` is the whole conversation when the input was chat messages. ``vault`` maps
    placeholders written by reversible redaction (pseudonymisation) back to the original
    values; it lives only as long as this object (one request) and is never logged.
    """

    stage: Stage = Stage.INPUT
    messages: list[Message] | None = None
    role: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    vault: dict[str, str] = field(default_factory=dict, repr=False)
    metadata: dict[str, Any] = field(default_factory=dict)

    def restore(self, text: str) -> str:
        """Put back the originals of any placeholders this request's vault holds."""
        for placeholder in sorted(self.vault, key=len, reverse=True):
            if placeholder in text:
                text = text.replace(placeholder, self.vault[placeholder])
        return text
