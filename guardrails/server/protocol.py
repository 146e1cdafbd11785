"""Client connection timeouts for uvicorn: header-read, body-read and idle (keep-alive) deadlines.

uvicorn closes a keep-alive connection that stays idle after a response (``timeout_keep_alive``, which
any byte resets) but sets no deadline on a fresh connection, on a request's headers or on its body: an
idle or slowloris client holds its connection, and a task, for as long as it likes.
``GuardedHttpToolsProtocol`` adds them:

- idle: a connection with no request in progress (fresh, or between keep-alive requests) is closed after
  ``timeout_keep_alive``, whatever stray bytes that start no request it sends;
- headers: from a request's first byte to the end of its headers, else 408 and close;
- body: from the end of the headers to the end of the body, else 408 and close;
- request heads larger than ``MAX_HEAD_BYTES`` get 431 and close.

``uvicorn_options(config)`` returns the ``uvicorn.Config`` / ``uvicorn.run`` keywords that apply them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from guardrails.server import openai_bodies
from guardrails.server.config import ServerConfig, Timeouts

logger = logging.getLogger(__name__)

# Request line plus headers; uvicorn's h11 protocol allows 16 KiB, proxies commonly 8-64 KiB.
MAX_HEAD_BYTES = 65536

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools missing: uvicorn's h11 protocol, with its keep-alive timeout only
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def _error_bytes(status: int, reason: str, message: str, code: str) -> bytes:
    body = json.dumps(openai_bodies.error(message, code=code))
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n")
    return head.encode() + body.encode()


if HttpToolsProtocol is not None:

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol with header, body and idle deadlines (class attributes, see for_timeouts)."""

        headers_timeout_s = 10.0
        body_timeout_s = 30.0

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._deadline: asyncio.TimerHandle | None = None
            self._head_bytes = 0
            self._head_too_large = False

        @classmethod
        def for_timeouts(cls, timeouts: Timeouts) -> type["GuardedHttpToolsProtocol"]:
            return type(cls.__name__, (cls,), {"headers_timeout_s": timeouts.headers_s, "body_timeout_s": timeouts.body_s})

        # -- deadlines ----------------------------------------------------------------------------

        def _arm(self, seconds: float, phase: str) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expired, phase, seconds)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self, phase: str, seconds: float) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            if phase == "idle":
                self.transport.close()
                return
            logger.info("closed a client connection: request %s not received within %g s", phase, seconds)
            verb = "were" if phase == "headers" else "was"
            self._reject(408, "Request Timeout", f"The request {phase} {verb} not received within {seconds:g} s.",
                         "request_timeout", current=phase == "body")

        def _reject(self, status: int, reason: str, message: str, code: str, *, current: bool) -> None:
            """Answer with an OpenAI-shaped error and close. ``current``: ``self.cycle`` is the offending request
            (its app sees a disconnect); otherwise it is an earlier request, answered or still running."""
            cycle = self.cycle
            if current and cycle is not None and not cycle.response_started:
                cycle.disconnected = True
                cycle.message_event.set()
                self.transport.write(_error_bytes(status, reason, message, code))
            elif not current and (cycle is None or cycle.response_complete):
                self.transport.write(_error_bytes(status, reason, message, code))
            self.transport.close()  # mid-response or behind a running request: nothing more can be said

        # -- uvicorn hooks ------------------------------------------------------------------------

        # One deadline at a time: idle (no request in progress; bytes that start no request, such as stray line
        # breaks, do not reset it), then headers from a request's first byte, then body once the headers are in.

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm(self.timeout_keep_alive, "idle")

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self._deadline is None and not self.pipeline and not self.transport.is_closing():
                self._arm(self.timeout_keep_alive, "idle")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_bytes = 0
            self._arm(self.headers_timeout_s, "headers")

        def _count_head(self, n: int) -> None:
            self._head_bytes += n
            if self._head_bytes > MAX_HEAD_BYTES:
                self._head_too_large = True
                raise ValueError("request head too large")  # stops the parser; see send_400_response

        def on_url(self, url: bytes) -> None:
            self._count_head(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count_head(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()
            if not self.pipeline:  # a queued (pipelined) request's body is not read until its turn
                self._arm(self.body_timeout_s, "body")

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def send_400_response(self, msg: str) -> None:
            self._disarm()
            if self._head_too_large:
                self._reject(431, "Request Header Fields Too Large",
                             f"The request line and headers are larger than {MAX_HEAD_BYTES} bytes.", "request_too_large",
                             current=False)
                return
            super().send_400_response(msg)


def http_protocol(timeouts: Timeouts) -> Any:
    """The uvicorn ``http`` protocol class enforcing ``timeouts`` ("auto" when httptools is missing)."""
    if HttpToolsProtocol is None:
        logger.warning("httptools is not installed: request header and body timeouts are not enforced "
                       "(pip install httptools); the idle timeout still is")
        return "auto"
    return GuardedHttpToolsProtocol.for_timeouts(timeouts)


def uvicorn_options(config: ServerConfig) -> dict[str, Any]:
    """Keywords for ``uvicorn.run`` / ``uvicorn.Config`` that apply the config's connection timeouts."""
    return {"http": http_protocol(config.timeouts), "timeout_keep_alive": config.timeouts.idle_s}
