"""Micro-batching: concurrent requests to one model are collected for a moment and run as one batch.

A single worker thread takes the first waiting item, waits at most ``max_wait_ms`` for more (up to
``max_batch``), runs ``fn`` on the batch and hands every caller its own result. Items that arrive
while a batch runs are taken together by the next one, so under load batches fill up without any
waiting; with ``max_wait_ms=0`` a lone caller pays no extra latency at all.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Callable, Generic, Sequence, TypeVar

from guardrails.errors import GuardrailsError

T = TypeVar("T")
R = TypeVar("R")

logger = logging.getLogger(__name__)

_STOP = object()


class QueueFull(GuardrailsError):
    """The model's request queue stayed full for longer than the batcher's ``queue_timeout_s``."""


class MicroBatcher(Generic[T, R]):
    """Runs ``fn(list_of_items) -> list_of_results`` on batches collected from concurrent callers."""

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        *,
        max_batch: int = 16,
        max_wait_ms: float = 2.0,
        max_queue: int = 1024,
        queue_timeout_s: float = 5.0,
        name: str = "model",
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch: expected at least 1, got {max_batch}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms: expected a number >= 0, got {max_wait_ms}")
        if max_queue < 1:
            raise ValueError(f"max_queue: expected at least 1, got {max_queue}")
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000
        self.queue_timeout_s = queue_timeout_s
        self.name = name
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self.batches = 0  # statistics, read by benchmarks and tests
        self.items = 0

    def submit(self, item: T) -> Future[R]:
        """Queue one item; the returned future resolves to its result (or the batch's exception)."""
        if self._closed:
            raise RuntimeError(f"batcher {self.name!r} is closed")
        self._ensure_worker()
        future: Future[R] = Future()
        try:
            self._queue.put((item, future), timeout=self.queue_timeout_s)
        except queue.Full:
            raise QueueFull(
                f"{self.name}: request queue full ({self._queue.maxsize} waiting for {self.queue_timeout_s:g} s)"
            ) from None
        return future

    def __call__(self, item: T) -> R:
        """Submit one item and wait for its result."""
        return self.submit(item).result()

    def close(self) -> None:
        """Stop the worker after the items already queued."""
        self._closed = True
        if self._worker is not None:
            self._queue.put(_STOP)
            self._worker.join(timeout=10)

    def _ensure_worker(self) -> None:
        if self._worker is not None:
            return
        with self._start_lock:
            if self._worker is None:
                worker = threading.Thread(target=self._run, name=f"guardrails-batch-{self.name}", daemon=True)
                worker.start()
                self._worker = worker

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = self._collect(batch)
            self._process(batch)  # type: ignore[arg-type]
            if stop:
                return

    def _collect(self, batch: list[object]) -> bool:
        """Add waiting items to ``batch`` until it is full or ``max_wait`` has passed; True on stop."""
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            try:
                remaining = deadline - time.monotonic()
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            batch.append(item)
        return False

    def _process(self, batch: list[tuple[T, Future[R]]]) -> None:
        # Skip callers that gave up (a cancelled future) before their item ran.
        live = [(item, fut) for item, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            results = self.fn([item for item, _ in live])
            if len(results) != len(live):
                raise RuntimeError(f"{self.name}: batch function returned {len(results)} results for {len(live)} items")
        except BaseException as exc:  # noqa: BLE001 - every caller of the batch gets the error
            logger.debug("batch of %d failed in %s: %s", len(live), self.name, type(exc).__name__)
            for _, fut in live:
                fut.set_exception(exc)
            return
        self.batches += 1
        self.items += len(live)
        for (_, fut), result in zip(live, results):
            fut.set_result(result)
