"""Retried JSON POSTs to a model server: one retry plan, driven by a sync or an async client.

A plan is a generator that yields ``("post", timeout_s)`` and receives the httpx response or, for a transport
error, a reason in words that name no URL; between attempts it yields ``("sleep", seconds)``. It returns the
answer or raises. ``run_plan`` and ``arun_plan`` drive a plan with a client, so a backend writes its retry policy
once for both paths (``safety_model``'s endpoint, the remote classifier).
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from typing import Any, Generator, TypeVar

T = TypeVar("T")
Plan = Generator[tuple[str, float], Any, T]


def failure_reason(exc: Exception) -> str:
    """A retryable transport failure, in words that name no URL."""
    import httpx

    return "timeout" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__


def run_plan(plan: Plan[T], client: Any, url: str, body: Any) -> T:
    """Drive ``plan`` with an ``httpx.Client``."""
    import httpx

    try:
        step, seconds = next(plan)
        while True:
            result: Any = None
            if step == "sleep":
                time.sleep(seconds)
            else:
                try:
                    result = client.post(url, json=body, timeout=seconds)
                except httpx.TransportError as exc:
                    result = failure_reason(exc)
            step, seconds = plan.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def arun_plan(plan: Plan[T], client: Any, url: str, body: Any) -> T:
    """Drive ``plan`` with an ``httpx.AsyncClient``."""
    import httpx

    try:
        step, seconds = next(plan)
        while True:
            result: Any = None
            if step == "sleep":
                await asyncio.sleep(seconds)
            else:
                try:
                    result = await client.post(url, json=body, timeout=seconds)
                except httpx.TransportError as exc:
                    result = failure_reason(exc)
            step, seconds = plan.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


class LoopClients:
    """One ``httpx.AsyncClient`` per event loop (a client is bound to the loop it was first used on)."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self._clients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self) -> Any:
        import httpx

        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.get(loop)
            if client is None:
                client = httpx.AsyncClient(headers=self.headers)
                self._clients[loop] = client
            return client
