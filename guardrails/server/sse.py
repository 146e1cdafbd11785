"""Server-sent events: parse an upstream OpenAI stream, format our own events."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

DONE = "[DONE]"
DONE_EVENT = b"data: [DONE]\n\n"


async def iter_events(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """Yield the data payload of each event (multi-line data joined by newlines); comments skipped."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def event(obj: Any) -> bytes:
    """One ``data:`` event holding ``obj`` as compact JSON."""
    return b"data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
