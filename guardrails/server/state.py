"""Runtime state of one sidecar: its apps with their current Guard, the upstream client, metrics, audit."""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import httpx

from guardrails.guard import Guard
from guardrails.errors import GuardrailsError
from guardrails.bundled import ModelPolicyMode
from guardrails.model_parent import MODEL_PARENT
from guardrails.server._http import ApiError, unauthorized
from guardrails.server.audit import AuditLog
from guardrails.server.config import AppConfig, LoadedServerConfig, ServerConfigError, hash_key
from guardrails.server.metrics import Metrics
from guardrails.signing import KeyRing, load_trusted_keys
from guardrails.types import Context, Stage
from guardrails.verdict import Verdict

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Up to this many characters a light policy's check takes about 2 ms or less (docs/benchmarks.md).
INLINE_CHARS = 2000
# Checks larger than this (characters, plus MESSAGE_UNITS per message) are heavy: always in a worker thread, and
# at most ``max_heavy_checks`` at once, so that a few big requests cannot starve the event loop or each other.
HEAVY_UNITS = 20_000
# What the per-message overhead of a check costs, in characters' worth of checking (filter calls per message).
MESSAGE_UNITS = 64


def check_units(chars: int, messages: int = 0) -> int:
    """The size of a check for scheduling: its characters plus a per-message overhead."""
    return chars + MESSAGE_UNITS * messages


@dataclass(frozen=True)
class GuardHandle:
    """A Guard and how to call it; swapped as a whole on reload, so a request keeps the one it started with."""

    guard: Guard
    inline: bool  # every filter is plain string work: check on the event loop (no thread hop)
    # Every filter is string work or declares itself light (pii, builtin: about a millisecond per
    # thousand characters, no I/O): short texts are checked on the event loop too, since a thread
    # hop costs more than the check itself.
    light: bool = False
    # The model the policy is loaded for (apps.X.model, serve --model; guardrails.bundled) and model_policy.
    model: str | None = None
    model_policy: ModelPolicyMode | None = None

    @classmethod
    def build(cls, policy_ref: str, *, trust_plugins: bool | list[str] = False,
              trusted_keys: KeyRing | None = None, model: str | None = None, model_policy: ModelPolicyMode | None = None) -> "GuardHandle":
        if model is not None:  # the model's own guardrails.yaml applies; `policy: model` runs it alone
            guard = Guard.for_model(model, None if policy_ref == MODEL_PARENT else policy_ref, model_policy=model_policy,
                                    trust_plugins=trust_plugins, trusted_keys=trusted_keys)
        else:
            guard = Guard.from_policy(policy_ref, trust_plugins=trust_plugins, trusted_keys=trusted_keys)
        filters = [b.filter for s in (Stage.INPUT, Stage.OUTPUT) for b in guard.filters(s)]
        return cls(guard, inline=all(f.cost == 0 for f in filters),
                   light=all(f.cost == 0 or getattr(f, "is_light", lambda: False)() for f in filters),
                   model=model, model_policy=model_policy)


@dataclass
class AppState:
    """One configured app."""

    name: str
    config: AppConfig
    policy_ref: str
    upstream: str
    handle: GuardHandle
    inflight: int = 0

    def acquire(self) -> None:
        limit = self.config.limits.max_concurrency
        if limit is not None and self.inflight >= limit:
            raise ApiError(429, f"too many concurrent requests for this app (limit {limit})", type="rate_limit_error",
                           code="rate_limit_exceeded")
        self.inflight += 1

    def release(self) -> None:
        self.inflight -= 1

    def inflight_count(self) -> float:
        return float(self.inflight)


class Sidecar:
    """Everything a request handler needs; built by create_app, one per FastAPI app."""

    heavy_waiting = 0  # heavy checks waiting for a turn (see run)
    heavy_running = 0

    def __init__(self, loaded: LoadedServerConfig, *, audit: AuditLog | None = None) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.metrics = Metrics()
        try:
            self.audit = audit if audit is not None else AuditLog(self.config.audit.path)
        except OSError as exc:
            raise ServerConfigError(f"audit.path: cannot open {self.config.audit.path!r} for appending: {exc.strerror}") from None
        self.apps: dict[str, AppState] = {}
        # module:Class filters in policies import code: only the modules the server config allows.
        self.trust_plugins: bool | list[str] = self.config.allow_plugins
        # Policies must be signed by one of these keys (read once, at start: a new key needs a restart).
        self.trusted_keys: KeyRing | None = None
        if self.config.trusted_keys is not None:
            try:
                self.trusted_keys = load_trusted_keys(self.config.trusted_keys)
            except GuardrailsError as exc:
                raise ServerConfigError(str(exc)) from None  # "trusted keys: DIR: why"
        for name, app in self.config.apps.items():
            ref = loaded.policies[name]
            upstream = app.upstream or self.config.upstream
            assert upstream is not None  # the config validator guarantees one
            try:
                handle = GuardHandle.build(ref, trust_plugins=self.trust_plugins, trusted_keys=self.trusted_keys,
                                           model=app.model, model_policy=app.model_policy)
            except GuardrailsError as exc:
                where = loaded.policy_locations.get(name, f"apps.{name}.policy")
                raise ServerConfigError([f"{where}: policy {app.policy!r} cannot be loaded:", *str(exc).splitlines()]) from None
            if handle.guard.policy_signer is not None:
                logger.info("app %s: policy %s signed by key %s", name, handle.guard.policy_hash, handle.guard.policy_signer)
            state = self.apps[name] = AppState(name, app, ref, upstream, handle)
            self.metrics.watch(self.metrics.inflight.labels(name), state.inflight_count)
            self.metrics.policy(name, handle.guard.policy.name, handle.guard.policy_hash, handle.guard.policy_signer)
        self.client: httpx.AsyncClient | None = None
        self._loading: asyncio.Task[None] | None = None
        self.ready = False
        self.load_error: str | None = None
        self.heavy_checks = asyncio.Semaphore(self.config.max_heavy_checks)
        self.metrics.watch(self.metrics.heavy_checks.labels("running"), lambda: float(self.heavy_running))
        self.metrics.watch(self.metrics.heavy_checks.labels("waiting"), lambda: float(self.heavy_waiting))
        self.draining = False  # set on SIGTERM (guardrails.server.serving): /readyz answers 503 from then on
        self.readiness: dict[str, str | None] = {}  # app -> what /readyz last found wrong (logged on change)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        opts = self.config.upstream_options
        # Idle connections expire before the upstream's keep-alive timeout (uvicorn-based servers: 5 s), so
        # a request rarely races the upstream closing the connection it was about to reuse.
        limits = httpx.Limits(max_connections=opts.max_connections, max_keepalive_connections=opts.max_connections,
                              keepalive_expiry=2.0)
        transport: httpx.AsyncBaseTransport | None = None
        if opts.transport == "fast":
            try:
                from guardrails.server.transport import FastTransport
            except ImportError:  # httptools missing: httpx's own transport still works, only slower
                logger.warning("httptools is not installed; using httpx's transport (pip install httptools)")
            else:
                transport = FastTransport(keepalive_expiry=2.0, max_idle_per_host=opts.max_connections,
                                          fallback=httpx.AsyncHTTPTransport(limits=limits, trust_env=False))
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(opts.read_timeout_s, connect=opts.connect_timeout_s),
            limits=limits,
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # the upstream is a local service; never route it through a proxy from the env
        )
        # Models load in the background: /healthz answers at once, /readyz says 503 until they are in.
        self._loading = asyncio.create_task(self._load_models())

    async def _load_models(self) -> None:
        try:
            for app in self.apps.values():
                await asyncio.to_thread(app.handle.guard.load)
            self.ready = True
        except Exception as exc:  # noqa: BLE001 - reported by /readyz, requests then fail closed per on_error
            # Our own errors carry safe messages; a third-party message might quote anything.
            self.load_error = f"{type(exc).__name__}: {exc}" if isinstance(exc, GuardrailsError) else type(exc).__name__
            logger.error("loading policy models failed: %s", self.load_error)

    async def stop(self) -> None:
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        self.audit.close()

    # -- per request ---------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> AppState:
        """The app an ``Authorization: Bearer KEY`` header belongs to; 401 for missing or unknown keys."""
        open_app = self.loaded.open_app
        if open_app is not None:
            return self.apps[open_app]
        if not authorization:
            raise unauthorized("Missing API key: send 'Authorization: Bearer YOUR_KEY'.")
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise unauthorized("Malformed Authorization header: expected 'Bearer YOUR_KEY'.")
        name = self._app_of(hash_key(key.strip()))
        if name is None:
            raise unauthorized("Incorrect API key provided.")
        return self.apps[name]

    def _app_of(self, digest: str) -> str | None:
        """The app of a key hash, comparing with every configured hash in constant time (no early exit)."""
        found = None
        for known, name in self.loaded.key_hashes.items():
            if hmac.compare_digest(known, digest):
                found = name
        return found

    def upstream_headers(self, request_id: str) -> dict[str, str]:
        # identity: an upstream answer is bounded by its size on the wire, never inflated by decompression.
        headers = {"x-request-id": request_id, "accept-encoding": "identity"}
        if self.loaded.upstream_api_key:
            headers["authorization"] = f"Bearer {self.loaded.upstream_api_key}"
        return headers

    async def run(self, handle: GuardHandle, fn: Callable[..., T], *args: Any, size: int | None = None, **kwargs: Any) -> T:
        """Call a sync check of ``size`` units (see check_units): on the event loop when it is cheap (string-only
        policies up to HEAVY_UNITS, light policies up to INLINE_CHARS), otherwise in a worker thread so the loop
        keeps serving; heavy checks (over HEAVY_UNITS) wait for one of ``max_heavy_checks`` turns."""
        if size is not None and (handle.inline and size <= HEAVY_UNITS or handle.light and size <= INLINE_CHARS):
            return fn(*args, **kwargs)
        if size is None or size <= HEAVY_UNITS:
            return await asyncio.to_thread(fn, *args, **kwargs)
        self.heavy_waiting += 1
        try:
            await self.heavy_checks.acquire()
        finally:
            self.heavy_waiting -= 1
        self.heavy_running += 1
        work = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
        work.add_done_callback(self._heavy_done)  # the turn ends with the thread's work, even if the caller left
        return await asyncio.shield(work)

    def _heavy_done(self, work: "asyncio.Future[Any]") -> None:
        self.heavy_running -= 1
        self.heavy_checks.release()
        if not work.cancelled():
            work.exception()  # retrieved here too: a caller that left will not

    def record(self, app: AppState, verdict: Verdict, ctx: Context, endpoint: str, **extra: Any) -> None:
        """Metrics and one audit line for one decision."""
        self.metrics.verdict(app.name, verdict)
        self.flush_timings(app, verdict.stage.value, ctx)
        self.audit.decision(verdict, request_id=ctx.request_id, app=app.name, endpoint=endpoint, **extra)

    def flush_timings(self, app: AppState, stage: str, ctx: Context) -> None:
        timings = ctx.filter_times
        if timings:
            self.metrics.filter_times(app.name, stage, timings)
            timings.clear()
