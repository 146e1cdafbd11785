"""What a chat template renders besides the messages, read for the input check.

Chat templates render more than the messages into the prompt: tool definitions (``tools``, the deprecated
``functions``: names, descriptions, parameter schemas), RAG documents (``documents``) and any other template
variable (a persona, a system date). A poisoned tool description or a pasted document is an injection path like a
tool's result, so each is checked: an object as its JSON text (non-ASCII as written, so ``\\u`` escapes hide
nothing), a string as it is, all of them as one message of role ``tool`` (the untrusted side: filters that read
tool results read these too), one text part per item. Values holding no text (``enable_thinking: False``) are not
read. The sidecar (guardrails.server.template_inputs) and the transformers wrap (guardrails.hf.prompts) both use it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from guardrails.types import Action, Message
from guardrails.verdict import Verdict

LIST_FIELDS = ("tools", "functions", "documents")  # lists of objects, each item read on its own


class UnreadableRedaction(ValueError):
    """A redaction left an object's JSON unreadable; ``place`` names the item (field, index or key)."""

    def __init__(self, place: tuple[str, int | str]) -> None:
        super().__init__(f"a redaction in {place[0]}[{place[1]!r}] left its JSON unreadable")
        self.place = place


@dataclass
class TemplateInputs:
    """Where each checked item came from (field, index or key), its text, and whether it is a plain string."""

    places: list[tuple[str, int | str]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    plain: list[bool] = field(default_factory=list)

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)

    @property
    def fields(self) -> str:
        """The fields read, for an audit line (``tools``, ``documents,tools``, ...)."""
        return ",".join(sorted({name for name, _ in self.places}))

    def add(self, place: tuple[str, int | str], value: Any) -> None:
        """Read ``value`` (a string as it is, anything else as JSON) as the item at ``place``."""
        self.places.append(place)
        self.plain.append(isinstance(value, str))
        self.texts.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))

    def message(self) -> Message:
        """The items as one ``tool`` message, one text part each: what the input check reads."""
        return {"role": "tool", "content": [{"type": "text", "text": t} for t in self.texts]}  # type: ignore[typeddict-item]

    def redacted(self, verdict: Verdict) -> Iterator[tuple[tuple[str, int | str], Any]]:
        """Each item's place and its value after ``verdict``'s redaction (only when the verdict redacted).

        Raises UnreadableRedaction when a redaction left an object's JSON unreadable.
        """
        if verdict.action is not Action.REDACT or not verdict.messages:
            return
        parts = verdict.messages[0].get("content")
        if not isinstance(parts, list):
            return
        for place, plain, part in zip(self.places, self.plain, parts):
            text = part["text"]
            try:
                yield place, text if plain else json.loads(text)
            except ValueError:
                raise UnreadableRedaction(place) from None


def holds_text(value: Any) -> bool:
    """Whether a template value carries any text (a string, or a container with a string key or value)."""
    if isinstance(value, str):
        return True
    if isinstance(value, dict):
        return any(isinstance(k, str) and k for k in value) or any(holds_text(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(holds_text(v) for v in value)
    return False
