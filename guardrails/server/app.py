"""create_app(config) -> FastAPI: the sidecar's routes, lifespan and error handling (no globals)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from guardrails.server import proxy
from guardrails.server._http import ApiError
from guardrails.server.audit import AuditLog
from guardrails.server.config import LoadedServerConfig, load_server_config
from guardrails.server.metrics import CONTENT_TYPE
from guardrails.server.reload import PolicyReloader
from guardrails.server.state import Sidecar

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


def _safe(sc: Sidecar, endpoint: str, fn: Handler) -> Handler:
    """Count the request; every failure becomes an OpenAI-shaped error, never a traceback."""

    async def wrapper(request: Request) -> Response:
        start = time.perf_counter()
        try:
            response = await fn(request)
        except ApiError as err:
            response = err.response()
        except Exception as exc:  # noqa: BLE001
            logger.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
            response = ApiError(500, "Internal error in the guardrails sidecar.", type="server_error",
                                code="internal_error").response()
        app = getattr(request.state, "app", None) or "-"
        sc.metrics.child(sc.metrics.requests, app, endpoint, str(response.status_code)).inc()
        sc.metrics.child(sc.metrics.request_duration, app, endpoint).observe(time.perf_counter() - start)
        return response

    return wrapper


def create_app(config: LoadedServerConfig | str | Path, *, audit: AuditLog | None = None) -> FastAPI:
    """Build the sidecar app; policies are loaded now (a bad one raises), their models at startup."""
    loaded = config if isinstance(config, LoadedServerConfig) else load_server_config(config)
    sc = Sidecar(loaded, audit=audit)
    reloader = PolicyReloader(sc)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await sc.start()
        loop = asyncio.get_running_loop()
        watcher = None
        if sc.config.reload_interval_s > 0:
            watcher = asyncio.create_task(reloader.watch(sc.config.reload_interval_s))
        syncer = asyncio.create_task(_sync_metrics(sc)) if sc.metrics.multiprocess_dir else None
        sighup = False
        if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reloader.reload_all("SIGHUP")))
                sighup = True
        try:
            yield
        finally:
            for task in (watcher, syncer):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if sighup:
                loop.remove_signal_handler(signal.SIGHUP)
            await sc.stop()

    app = FastAPI(title="guardrails sidecar", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sidecar = sc
    app.state.reloader = reloader

    async def chat(request: Request) -> Response:
        return await proxy.completions(sc, request, proxy.CHAT)

    async def completions(request: Request) -> Response:
        return await proxy.completions(sc, request, proxy.COMPLETIONS)

    async def models(request: Request) -> Response:
        return await proxy.models(sc, request)

    async def check(request: Request) -> Response:
        return await proxy.guard_check(sc, request)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        return await _readiness(sc)

    async def metrics(request: Request) -> Response:
        return Response(sc.metrics.render(), media_type=CONTENT_TYPE)

    # Plain Starlette routes: the handlers read the raw request, so FastAPI's dependency solving is pure overhead.
    app.add_route("/v1/chat/completions", _safe(sc, "chat.completions", chat), methods=["POST"], include_in_schema=False)
    app.add_route("/v1/completions", _safe(sc, "completions", completions), methods=["POST"], include_in_schema=False)
    app.add_route("/v1/models", _safe(sc, "models", models), methods=["GET"], include_in_schema=False)
    app.add_route("/v1/guard/check", _safe(sc, "guard.check", check), methods=["POST"], include_in_schema=False)
    app.add_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_route("/readyz", _safe(sc, "readyz", readyz), methods=["GET"], include_in_schema=False)
    app.add_route("/metrics", metrics, methods=["GET"], include_in_schema=False)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        return ApiError(exc.status_code, str(exc.detail), code=code).response()

    return app


async def _sync_metrics(sc: Sidecar, every_s: float = 1.0) -> None:
    """Several workers: keep this worker's live gauges (requests in progress...) current in the shared files."""
    while True:
        await asyncio.sleep(every_s)
        sc.metrics.sync()


async def _readiness(sc: Sidecar) -> Response:
    """Readiness only: no policy names, hashes, upstream URLs or error texts (this endpoint is unauthenticated);
    what is wrong goes to the log, once per change. A draining server (SIGTERM received) is never ready."""
    if sc.draining:
        return JSONResponse({"status": "draining", "models_loaded": sc.ready, "apps": {}}, status_code=503)
    probes: dict[str, str] = {}
    apps: dict[str, str] = {}
    for name, app in sc.apps.items():
        if app.upstream not in probes:
            probes[app.upstream] = await _probe(sc, app.upstream)
        problem = probes[app.upstream] if probes[app.upstream] != "ok" else None
        if not sc.ready:
            problem = f"policy models failed to load ({sc.load_error})" if sc.load_error else "policy models loading"
        apps[name] = "not_ok" if problem else "ok"
        _log_change(sc, name, problem)
    ok = sc.ready and all(state == "ok" for state in apps.values())
    body = {"status": "ready" if ok else "not_ready", "models_loaded": sc.ready, "apps": apps}
    return JSONResponse(body, status_code=200 if ok else 503)


def _log_change(sc: Sidecar, app: str, problem: str | None) -> None:
    if app not in sc.readiness or sc.readiness[app] != problem:
        if problem:
            level = logging.INFO if problem == "policy models loading" else logging.WARNING
            logger.log(level, "readiness: app %s is not ready: %s", app, problem)
        elif app in sc.readiness:
            logger.info("readiness: app %s is ready again", app)
        sc.readiness[app] = problem


async def _probe(sc: Sidecar, upstream: str) -> str:
    if sc.client is None:
        return "not started"
    request = sc.client.build_request("GET", upstream + "/models", headers=sc.upstream_headers("readyz"), timeout=2.0)
    try:
        resp = await sc.client.send(request, stream=True)  # the status is enough: the body is not read
        await resp.aclose()
    except Exception as exc:  # noqa: BLE001
        return f"upstream unreachable ({type(exc).__name__})"
    return "ok" if resp.status_code < 500 else f"upstream answered HTTP {resp.status_code}"
