"""Server-sent events: parse an upstream OpenAI stream (bounded, with a deadline), format our own events."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import Any, AsyncIterator

DONE = "[DONE]"
DONE_EVENT = b"data: [DONE]\n\n"

_EOL = re.compile(rb"\r\n|\r|\n")


class StreamError(Exception):
    """The upstream stream is unusable; ``code`` names why (for the client's error event and the log), ``message``
    is what the client's error event says."""

    code = "upstream_stream_error"
    message = "The upstream model server sent a stream the sidecar cannot read."


class Truncated(StreamError):
    code = "upstream_stream_truncated"
    message = "The upstream stream ended before the answer was complete."


class EventTooLarge(StreamError):
    code = "upstream_event_too_large"
    message = "The upstream stream sent an event larger than the sidecar accepts."


class BadEvent(StreamError):
    """An event whose data is not a JSON object (nor ``[DONE]``), or a stream that ends with no chunk at all."""

    code = "upstream_bad_event"
    message = "The upstream stream sent an event that is not an OpenAI chunk."


async def _next_within(it: AsyncIterator[bytes], seconds: float) -> bytes:
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):  # a timer only: no task per chunk
            return await it.__anext__()
    return await asyncio.wait_for(it.__anext__(), seconds)


async def until(chunks: AsyncIterator[bytes], deadline: float) -> AsyncIterator[bytes]:
    """``chunks`` as they come; TimeoutError once the event loop's clock passes ``deadline``."""
    loop = asyncio.get_running_loop()
    it = chunks.__aiter__()
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError
        try:
            chunk = await _next_within(it, remaining)
        except StopAsyncIteration:
            return
        yield chunk


async def iter_lines(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[str]:
    """Lines (CRLF, LF or CR) of a byte stream, each at most ``max_bytes`` (EventTooLarge beyond).

    A last line without its line break is yielded too: iter_events then finds its event unfinished.
    """
    buf = bytearray()
    scanned = 0  # bytes of buf already known to hold no line break: each byte is searched once
    async for chunk in chunks:
        buf += chunk
        start = 0
        while True:
            m = _EOL.search(buf, max(start, scanned))
            if m is None or (m.group() == b"\r" and m.end() == len(buf)):
                break  # no line break yet, or a CR that may be the first half of a CRLF
            yield buf[start:m.start()].decode("utf-8", errors="replace")
            start = m.end()
        del buf[:start]
        scanned = max(0, len(buf) - 1)
        if len(buf) > max_bytes:
            raise EventTooLarge(f"an upstream stream line is longer than {max_bytes} bytes")
    if buf:
        yield buf.rstrip(b"\r").decode("utf-8", errors="replace")


async def iter_events(lines: AsyncIterator[str], max_bytes: int | None = None) -> AsyncIterator[str]:
    """Yield the data payload of each event (multi-line data joined by newlines); comments skipped.

    An event cut off by the end of the stream (data with no blank line after it) raises Truncated,
    unless it is the final ``[DONE]``; an event over ``max_bytes`` raises EventTooLarge.
    """
    data: list[str] = []
    size = 0
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data, size = [], 0
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            value = value[1:] if value.startswith(" ") else value
            size += len(value) + 1
            if max_bytes is not None and size > max_bytes:
                raise EventTooLarge(f"an upstream stream event is larger than {max_bytes} bytes")
            data.append(value)
    if data:
        if "\n".join(data).strip() == DONE:
            yield DONE
            return
        raise Truncated("the upstream stream ended mid-event")


def event(obj: Any) -> bytes:
    """One ``data:`` event holding ``obj`` as compact JSON."""
    return b"data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
