"""Running the sidecar: one uvicorn server that drains on SIGTERM, or N worker processes behind one port.

Drain (SIGTERM or Ctrl-C): /readyz answers 503 at once; after ``drain_delay_s`` (time for a load balancer to stop
sending new requests) the listening socket closes, idle keep-alive connections are closed, and requests in
progress, streams included, run to their end (at most ``timeout_graceful_shutdown`` seconds); then the process exits.

Workers (``guardrails serve --workers N``): the supervisor binds the port once and starts N processes (spawned,
so each imports and loads the policy itself) that accept on the shared socket; the kernel spreads connections
among them. Prometheus metrics go to one multi-process directory (``PROMETHEUS_MULTIPROC_DIR``; a temporary one
unless the deployer sets it), so /metrics shows the sum over all workers. SIGTERM/SIGINT and SIGHUP are passed
on to every worker; a worker that dies is replaced.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any, Callable

import uvicorn

logger = logging.getLogger("guardrails.serve")

GRACEFUL_S = 30  # longest wait for requests in progress once the socket is closed
EXIT_CONFIG = 2  # a worker that cannot start (bad policy...) exits with this; the supervisor then stops
RESTART_PAUSE_S = 5.0  # a worker that died within this time of its start is replaced only after this pause


class DrainingServer(uvicorn.Server):
    """uvicorn's server with a drain phase: the first SIGTERM/SIGINT makes /readyz fail, and the server keeps
    serving for ``drain_delay_s`` before its graceful shutdown; a second signal shuts down at once."""

    def __init__(self, config: uvicorn.Config, *, drain_delay_s: float = 0.0,
                 on_started: Callable[[], None] | None = None, on_drain: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self.drain_delay_s = drain_delay_s
        self.on_started = on_started
        self.on_drain = on_drain
        self.drain_deadline: float | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_started is not None:
            self.on_started()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain_deadline is None:
            self.drain_deadline = time.monotonic() + self.drain_delay_s
            if self.on_drain is not None:
                self.on_drain()
            if self.drain_delay_s > 0:
                self._captured_signals.append(sig)  # re-raised after the shutdown, as uvicorn does
                logger.warning("draining: /readyz fails now; the port closes in %g s", self.drain_delay_s)
                return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_deadline is not None and not self.should_exit and time.monotonic() >= self.drain_deadline:
            self.should_exit = True
        return await super().on_tick(counter)


def serve(app: Any, *, host: str, port: int, options: dict[str, Any], drain_delay_s: float = 0.0,
          sockets: list[socket.socket] | None = None, on_started: Callable[[], None] | None = None) -> None:
    """Run ``app`` until SIGTERM/SIGINT, then drain (see the module docstring)."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=GRACEFUL_S, **options)
    sidecar = app.state.sidecar

    def drain() -> None:
        sidecar.draining = True

    DrainingServer(config, drain_delay_s=drain_delay_s, on_started=on_started, on_drain=drain).run(sockets=sockets)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket the workers share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _MetricsDir:
    """PROMETHEUS_MULTIPROC_DIR for the workers: the deployer's (emptied of a previous run's files) or a temporary
    one, removed at exit. Set in os.environ before any worker starts, so each worker's prometheus_client uses it."""

    def __init__(self) -> None:
        given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self.temporary = not given
        self.path = Path(given) if given else Path(tempfile.mkdtemp(prefix="guardrails-metrics-"))
        self.path.mkdir(parents=True, exist_ok=True)
        for stale in self.path.glob("*.db"):
            stale.unlink()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(self.path)

    def worker_gone(self, pid: int) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, str(self.path))  # type: ignore[no-untyped-call]

    def close(self) -> None:
        if self.temporary:
            shutil.rmtree(self.path, ignore_errors=True)


def supervise(target: Callable[..., None], args: Any, *, workers: int, host: str, port: int,
              stop_timeout_s: float) -> int:
    """Run ``target(args, sock, started)`` in ``workers`` processes sharing one socket; return the exit code.

    ``started`` is a multiprocessing Event the worker sets once it serves. The first worker starts alone, so a
    policy that cannot load is reported once (the worker exits with EXIT_CONFIG and the supervisor with it)."""
    ctx = multiprocessing.get_context("spawn")
    metrics_dir = _MetricsDir()
    sock = bind(host, port)
    stop = threading.Event()
    procs: list[Any] = []

    events: list[Any] = []  # kept alive: a worker unpickles its Event after start() returns

    def start(started: Any = None) -> Any:
        started = started or ctx.Event()
        events.append(started)
        proc = ctx.Process(target=target, args=(args, sock, started), name="guardrails-worker")
        proc.start()
        return proc

    def on_stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()
        for proc in procs:
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)

    def on_hup(_sig: int, _frame: FrameType | None) -> None:
        for proc in procs:
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signal.SIGHUP)

    previous = {s: signal.signal(s, on_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)
    try:
        first_started = ctx.Event()
        first = start(first_started)
        procs.append(first)
        while not first_started.wait(0.1):
            if not first.is_alive() or stop.is_set():
                break
        if not first.is_alive():
            return EXIT_CONFIG if first.exitcode == EXIT_CONFIG else 1
        for _ in range(workers - 1):
            if not stop.is_set():
                procs.append(start())
        print(f"guardrails serve: {workers} workers on http://{host}:{port} (pid {os.getpid()}); "
              f"metrics from all workers at /metrics", file=sys.stderr)
        exit_code = 0
        started_at = [time.monotonic()] * len(procs)
        while not stop.wait(0.5):
            for i, proc in enumerate(procs):
                if proc.is_alive():
                    continue
                metrics_dir.worker_gone(proc.pid)
                if proc.exitcode == EXIT_CONFIG:
                    logger.error("worker %d cannot start (exit %d): stopping", proc.pid, proc.exitcode)
                    exit_code = EXIT_CONFIG
                    on_stop(signal.SIGTERM, None)
                    break
                # One that dies soon after its start is restarted after a pause, not in a tight loop.
                if time.monotonic() - started_at[i] < RESTART_PAUSE_S:
                    stop.wait(RESTART_PAUSE_S)
                if stop.is_set():
                    break
                logger.error("worker %d exited (code %s): starting another", proc.pid, proc.exitcode)
                procs[i] = start()
                started_at[i] = time.monotonic()
        deadline = time.monotonic() + stop_timeout_s
        for proc in procs:
            proc.join(max(0.1, deadline - time.monotonic()))
        for proc in procs:
            if proc.is_alive():
                logger.error("worker %d still running after %g s: killing it", proc.pid, stop_timeout_s)
                proc.kill()
                proc.join()
        return exit_code
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sock.close()
        metrics_dir.close()
