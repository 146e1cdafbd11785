"""Core value types shared by the engine and every filter."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, TypedDict


class Stage(str, enum.Enum):
    """Where a check runs: on the prompt before the model, or on what the model generates."""

    INPUT = "input"
    OUTPUT = "output"


class Action(str, enum.Enum):
    """What a violation does, ordered by strength: allow < flag < redact < block < respond.

    ``respond`` blocks like ``block`` but answers with the policy's message for the category
    (e.g. a supportive message with resources for self-harm) instead of the generic refusal.
    """

    ALLOW = "allow"
    FLAG = "flag"
    REDACT = "redact"
    BLOCK = "block"
    RESPOND = "respond"

    @property
    def rank(self) -> int:
        return _ACTION_RANK[self]

    @property
    def blocks(self) -> bool:
        """True when the text must not pass (block or respond)."""
        return self.rank >= _ACTION_RANK[Action.BLOCK]

    @classmethod
    def strongest(cls, actions: "list[Action]") -> "Action":
        return max(actions, key=lambda a: a.rank, default=cls.ALLOW)


_ACTION_RANK = {Action.ALLOW: 0, Action.FLAG: 1, Action.REDACT: 2, Action.BLOCK: 3, Action.RESPOND: 4}


class Message(TypedDict, total=False):
    """One chat message in the OpenAI / transformers chat-template shape."""

    role: str
    content: str


# Content part types a chat template renders as text, and the key holding that text (vLLM's parts, OpenAI's
# refusal, reasoning models' thinking). Other parts (image_url, input_audio, ...) carry no text.
TEXT_PART_KEYS: dict[str, str] = {
    "text": "text",
    "input_text": "text",
    "output_text": "text",
    "refusal": "refusal",
    "thinking": "thinking",
    "tool_reference": "name",
}


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a chat message's content: a string, or every text-bearing part of a list, one per line.

    Bare strings in a list and parts of any text-bearing type (``text``, ``refusal``, ``thinking``, ...)
    count; a ``text`` key is read whatever the part's type; text given as a list or object is
    flattened rather than skipped, so nothing a template could render goes unchecked.
    """
    return content_text(message.get("content"))


def content_text(content: Any) -> str:
    """The text of a message's ``content`` value (see message_text)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        return "\n".join(t for t in (_part_text(p) for p in content) if t)
    return str(content)


def render_conversation(messages: Sequence[Mapping[str, Any]]) -> str:
    """The conversation as plain text, one ``role: content`` block per message: the text the engine
    hands a conversation filter (``BaseFilter.conversation``), which such a filter may recognise."""
    return "\n\n".join(f"{m.get('role', 'user')}: {message_text(m)}" for m in messages)


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return "" if part is None else str(part)
    kind = part.get("type")
    keys = {"text", TEXT_PART_KEYS[kind]} if isinstance(kind, str) and kind in TEXT_PART_KEYS else {"text"}
    return "\n".join(content_text(part[k]) for k in sorted(keys) if part.get(k) is not None)


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
    """One thing a filter found: a category, a score in [0, 1] and where it is. Whether it is a
    violation, and what happens to it, the engine decides from the policy."""

    category: str
    score: float
    spans: tuple[Span, ...] = ()


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

    ``messages`` is the whole conversation when the input was chat messages. ``prompt`` is the
    request an answer responds to (set by the input check, or given to ``check_output``): output
    filters read an answer with it. ``locale`` (e.g. ``de``) picks the language of a category's
    ``respond`` message. ``vault`` maps placeholders written by reversible redaction
    (pseudonymisation) back to the original values; it lives only as long as this object (one
    request) and is never logged. ``filter_times``, when a list, receives ``(filter id, seconds)``
    for every filter call of this request's checks (opt-in timing; the caller empties it as it reads
    it). ``role`` and ``part`` name the chat message's role and the kind of part under check
    (guardrails.conversation). ``metadata`` is free-form data for filters; the engine never reads it.
    """

    stage: Stage = Stage.INPUT
    messages: list[Message] | None = None
    prompt: str | None = field(default=None, repr=False)
    locale: str | None = None
    role: str | None = None
    part: str | None = None  # the kind of message part being checked (guardrails.conversation.PART_KINDS)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    vault: dict[str, str] = field(default_factory=dict, repr=False)
    filter_times: list[tuple[str, float]] | None = field(default=None, repr=False)
    metadata: dict[str, Any] = field(default_factory=dict)

    def restore(self, text: str) -> str:
        """Put back the originals of any placeholders this request's vault holds."""
        for placeholder in sorted(self.vault, key=len, reverse=True):
            if placeholder in text:
                text = text.replace(placeholder, self.vault[placeholder])
        return text
