"""Policy hot reload: on a file change (polling) or SIGHUP; a bad new policy is rejected, the old stays."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from guardrails.errors import GuardrailsError
from guardrails.server.state import GuardHandle, Sidecar

logger = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


def _fingerprint(policy_ref: str) -> Fingerprint:
    """Modification times of the policy's folder's YAML files (so a changed ``extends`` parent counts too)."""
    path = Path(policy_ref)
    if not path.is_absolute():
        return ()  # a built-in policy: changes only with the package
    out = []
    for candidate in sorted([*path.parent.glob("*.yaml"), *path.parent.glob("*.yml")]):
        try:
            st = candidate.stat()
        except OSError:
            continue
        out.append((candidate.name, st.st_mtime_ns, st.st_size))
    if not path.exists():
        out.append((path.name, -1, -1))
    return tuple(out)


def _build_loaded(policy_ref: str) -> GuardHandle:
    handle = GuardHandle.build(policy_ref)
    handle.guard.load()  # load models before the swap, so no request waits on them
    return handle


class PolicyReloader:
    """Rebuilds an app's Guard off the event loop and swaps it in; in-flight requests keep the old one."""

    def __init__(self, sc: Sidecar) -> None:
        self.sc = sc
        self._prints = {name: _fingerprint(app.policy_ref) for name, app in sc.apps.items()}
        self._lock = asyncio.Lock()

    async def reload_app(self, name: str, reason: str) -> bool:
        """Reload one app's policy; False (old policy kept, error logged) when the new one is bad."""
        app = self.sc.apps[name]
        self._prints[name] = _fingerprint(app.policy_ref)
        try:
            handle = await asyncio.to_thread(_build_loaded, app.policy_ref)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the old policy in force
            # PolicyError messages name file, line and key; never text. Others: the type only.
            detail = str(exc) if isinstance(exc, GuardrailsError) else type(exc).__name__
            logger.error("app %s: new policy rejected (%s), keeping %s: %s", name, reason, app.handle.guard.policy_hash, detail)
            self.sc.metrics.reloads.labels(name, "rejected").inc()
            self.sc.audit.write({"event": "policy_reload", "app": name, "result": "rejected", "reason": reason,
                                 "policy_hash": app.handle.guard.policy_hash, "error": detail})
            return False
        old = app.handle.guard.policy_hash
        if handle.guard.policy_hash == old:
            return True
        app.handle = handle
        logger.info("app %s: policy reloaded (%s): %s -> %s", name, reason, old, handle.guard.policy_hash)
        self.sc.metrics.reloads.labels(name, "ok").inc()
        self.sc.audit.write({"event": "policy_reload", "app": name, "result": "ok", "reason": reason,
                             "old_policy_hash": old, "policy_hash": handle.guard.policy_hash})
        return True

    async def reload_all(self, reason: str) -> dict[str, bool]:
        async with self._lock:
            return {name: await self.reload_app(name, reason) for name in self.sc.apps}

    async def poll_once(self) -> None:
        async with self._lock:
            for name, app in self.sc.apps.items():
                current = await asyncio.to_thread(_fingerprint, app.policy_ref)
                if current != self._prints.get(name):
                    await self.reload_app(name, "file changed")

    async def watch(self, interval_s: float) -> None:
        """Poll the policy files forever (cancel to stop)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.poll_once()
            except Exception as exc:  # noqa: BLE001 - the watcher must survive anything
                logger.error("policy watcher: %s", type(exc).__name__)
