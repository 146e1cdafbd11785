"""The sidecar's lean upstream transport against a real asyncio HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import httpx
import pytest

from guardrails.server.transport import FastTransport

pytestmark = pytest.mark.integration

Reply = Callable[[int], bytes]  # request number on this connection -> raw response bytes


def _fixed(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def _serve(reply: Reply, stats: dict[str, Any], *, close_after: int | None = None,
                 hold: asyncio.Event | None = None) -> asyncio.AbstractServer:
    """A raw HTTP/1.1 server; ``hold``: answer only once the test sets it. ``stats["closed"]`` counts the
    connections it has closed."""
    stats.setdefault("closed", 0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats["connections"] += 1
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                stats["bodies"].append(await reader.readexactly(length))
                if hold is not None:
                    await hold.wait()
                writer.write(reply(n))
                await writer.drain()
                n += 1
                if close_after is not None and n >= close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            stats["closed"] += 1

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 20))


def test_transport_keep_alive_reuses_one_connection() -> None:
    async def go() -> None:
        stats: dict[str, Any] = {"connections": 0, "bodies": []}
        server = await _serve(lambda n: _fixed(b'{"n": %d}' % n), stats)
        port = server.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(transport=FastTransport()) as client:
            answers = [(await client.post(f"http://127.0.0.1:{port}/v1/x", json={"i": i})).json() for i in range(5)]
        server.close()
        assert answers == [{"n": i} for i in range(5)]
        assert stats["connections"] == 1
        assert stats["bodies"][3] == b'{"i":3}'

    _run(go)


def test_transport_connection_close_and_idle_close_get_new_connections() -> None:
    async def go() -> None:
        stats: dict[str, Any] = {"connections": 0, "bodies": []}
        # The server answers once per connection and closes it, the second time without saying so.
        server = await _serve(lambda n: _fixed(b"{}", b"connection: close\r\n"), stats, close_after=1)
        port = server.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(transport=FastTransport()) as client:
            for _ in range(3):
                assert (await client.post(f"http://127.0.0.1:{port}/", json={})).status_code == 200
        server.close()
        assert stats["connections"] == 3

        stats2: dict[str, Any] = {"connections": 0, "bodies": []}
        silent = await _serve(lambda n: _fixed(b"{}"), stats2, close_after=1)
        port2 = silent.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(transport=FastTransport()) as client:
            for i in range(3):  # each reuse meets a closed connection and is retried on a fresh one
                assert (await client.post(f"http://127.0.0.1:{port2}/", json={})).status_code == 200
                while stats2["closed"] < i + 1:  # the server has closed this connection before the next request
                    await asyncio.sleep(0.001)
        silent.close()
        assert stats2["connections"] == 3

    _run(go)


def test_transport_chunked_stream_arrives_in_pieces() -> None:
    chunks = [b"data: one\n\n", b"data: two\n\n", b"data: [DONE]\n\n"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    reply = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" + body

    async def go() -> None:
        stats: dict[str, Any] = {"connections": 0, "bodies": []}
        server = await _serve(lambda n: reply, stats)
        port = server.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(transport=FastTransport()) as client:
            async with client.stream("POST", f"http://127.0.0.1:{port}/", json={"stream": True}) as resp:
                lines = [line async for line in resp.aiter_lines() if line]
            again = await client.post(f"http://127.0.0.1:{port}/", json={})
        server.close()
        assert lines == ["data: one", "data: two", "data: [DONE]"]
        assert again.status_code == 200 and stats["connections"] == 1

    _run(go)


def test_transport_errors_map_to_httpx_exceptions() -> None:
    async def go() -> None:
        stats: dict[str, Any] = {"connections": 0, "bodies": []}
        never = asyncio.Event()  # the server answers only after the client has given up
        slow = await _serve(lambda n: _fixed(b"{}"), stats, hold=never)
        port = slow.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(transport=FastTransport()) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.post(f"http://127.0.0.1:{port}/", json={}, timeout=httpx.Timeout(0.2))
        never.set()
        slow.close()
        await slow.wait_closed()
        async with httpx.AsyncClient(transport=FastTransport()) as client:
            with pytest.raises(httpx.ConnectError):
                await client.post(f"http://127.0.0.1:{port}/", json={})

    _run(go)
