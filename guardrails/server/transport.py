"""A lean HTTP/1.1 transport for the sidecar's httpx client: asyncio streams parsed by httptools.

httpx's default async stack (httpcore on anyio) costs several milliseconds per request on a busy
host; the sidecar's added-latency budget is 2 ms. This transport keeps httpx's client API (the
proxy code and its error handling are unchanged) and only speaks plain ``http://`` with keep-alive,
which is what a sidecar next to its inference server uses; ``https://`` upstreams use httpx's own.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, AsyncIterator

import httptools
import httpx

_CHUNK = 65536


class _Parsed:
    """httptools callbacks: collects headers and body pieces of one response."""

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.body: deque[bytes] = deque()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(bytes(body))

    def on_message_complete(self) -> None:
        self.complete = True


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def close(self) -> None:
        self.writer.close()


class _Body(httpx.AsyncByteStream):
    """The response body, read from the connection as the caller iterates; the connection is pooled after."""

    def __init__(self, transport: "FastTransport", key: tuple[str, int], conn: _Conn, parser: Any, parsed: _Parsed,
                 read_timeout: float | None, keep_alive: bool) -> None:
        self.transport, self.key, self.conn = transport, key, conn
        self.parser, self.parsed, self.read_timeout = parser, parsed, read_timeout
        self.keep_alive = keep_alive
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        parsed = self.parsed
        while True:
            while parsed.body:
                yield parsed.body.popleft()
            if parsed.complete:
                return
            data = await _read(self.conn, self.read_timeout)
            if not data:
                try:
                    self.parser.feed_data(b"")  # lets a close-delimited body complete
                except httptools.HttpParserError:
                    pass
                if not parsed.complete:
                    raise httpx.RemoteProtocolError("upstream closed the connection mid-response")
                continue
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError as exc:
                raise httpx.RemoteProtocolError(f"invalid HTTP from upstream ({type(exc).__name__})") from None

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.parsed.complete and self.keep_alive:
            self.transport._release(self.key, self.conn)
        else:
            self.conn.close()


async def _read(conn: _Conn, timeout: float | None) -> bytes:
    try:
        return await asyncio.wait_for(conn.reader.read(_CHUNK), timeout)
    except (asyncio.TimeoutError, TimeoutError):
        conn.close()
        raise httpx.ReadTimeout("upstream read timed out") from None
    except OSError as exc:
        conn.close()
        raise httpx.ReadError(f"upstream read failed ({type(exc).__name__})") from None


def _keep_alive(parser: Any, headers: list[tuple[bytes, bytes]]) -> bool:
    """HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked to keep it."""
    tokens = {t.strip().lower() for name, value in headers if name.lower() == b"connection" for t in value.split(b",")}
    if parser.get_http_version() == "1.1":
        return b"close" not in tokens
    return b"keep-alive" in tokens


class FastTransport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 over asyncio for ``http://`` URLs; other schemes go to ``fallback``."""

    def __init__(self, *, keepalive_expiry: float = 2.0, max_idle_per_host: int = 256,
                 fallback: httpx.AsyncBaseTransport | None = None) -> None:
        self.keepalive_expiry = keepalive_expiry
        self.max_idle_per_host = max_idle_per_host
        self.fallback = fallback or httpx.AsyncHTTPTransport()
        self._idle: dict[tuple[str, int], list[_Conn]] = {}

    def _release(self, key: tuple[str, int], conn: _Conn) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) >= self.max_idle_per_host or conn.reader.at_eof():
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    def _take(self, key: tuple[str, int]) -> _Conn | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < self.keepalive_expiry and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            return await self.fallback.handle_async_request(request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        key = (request.url.host, request.url.port or 80)
        body = await request.aread()
        head = [f"{request.method} ".encode(), request.url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            if name.lower() not in (b"transfer-encoding", b"content-length"):
                head += [name, b": ", value, b"\r\n"]
        if body or request.method in ("POST", "PUT", "PATCH"):
            head.append(b"content-length: %d\r\n" % len(body))  # the body is whole: never chunked
        payload = b"".join(head) + b"\r\n" + body
        for attempt in range(2):
            conn = self._take(key)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(key, timeouts.get("connect"))
            try:
                return await self._exchange(key, conn, payload, timeouts.get("read"))
            except asyncio.CancelledError:
                conn.close()  # mid-exchange: the connection's state is unknown
                raise
            except _StaleConnection:
                # The upstream closed an idle connection just as we reused it: it never saw the request.
                if not reused or attempt:
                    raise httpx.RemoteProtocolError("upstream closed the connection without answering") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connect(self, key: tuple[str, int], timeout: float | None) -> _Conn:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*key, limit=_CHUNK * 4), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise httpx.ConnectTimeout("connecting to the upstream timed out") from None
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to the upstream ({type(exc).__name__})") from None
        return _Conn(reader, writer)

    async def _exchange(self, key: tuple[str, int], conn: _Conn, payload: bytes, read_timeout: float | None) -> httpx.Response:
        try:
            conn.writer.write(payload)
            await conn.writer.drain()
        except OSError:
            conn.close()
            raise _StaleConnection from None
        parsed = _Parsed()
        parser = httptools.HttpResponseParser(parsed)
        received = False
        while not parsed.headers_done:
            data = await _read(conn, read_timeout)
            if not data:
                conn.close()
                if not received:
                    raise _StaleConnection
                raise httpx.RemoteProtocolError("upstream closed the connection mid-headers")
            received = True
            try:
                parser.feed_data(data)
            except httptools.HttpParserError as exc:
                conn.close()
                raise httpx.RemoteProtocolError(f"invalid HTTP from upstream ({type(exc).__name__})") from None
        stream = _Body(self, key, conn, parser, parsed, read_timeout, keep_alive=_keep_alive(parser, parsed.headers))
        return httpx.Response(parser.get_status_code(), headers=parsed.headers, stream=stream,
                              extensions={"http_version": b"HTTP/1.1"})

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        await self.fallback.aclose()


class _StaleConnection(Exception):
    """A reused keep-alive connection was closed by the upstream before it answered."""
