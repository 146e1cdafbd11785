"""Policy hot reload: on a file change (polling) or SIGHUP. A new policy replaces the running one only
when it loads cleanly and drops nothing silently; otherwise the old one stays and the audit log says why.

Write policy files atomically (write a temporary file in the same folder, then rename it over the
old one). A watcher also waits until a changed file has stopped changing for one polling interval
before it reads it, and refuses what a partial write looks like: an empty file, a missing stage, or
filters that vanished without an ``enabled: false`` entry (see ``Policy.removals_from``).

With trusted keys (``trusted_keys`` in the server config, ``guardrails serve --trusted-keys``), a new
policy whose files are unsigned, changed since signed, or signed by another key is refused the same
way; a change of a ``FILE.sig`` counts as a change of the policy's files (see ``guardrails.signing``).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from guardrails.errors import GuardrailsError, PolicyError
from guardrails.server.state import GuardHandle, Sidecar
from guardrails.signing import KeyRing, signature_path

logger = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


def _fingerprint(policy_ref: str, files: tuple[str, ...] = ()) -> Fingerprint:
    """(name, mtime, size) of the policy's folder's YAML files and of every file the policy read
    (an ``extends`` parent elsewhere, a deny-list file), so a change to any of them counts."""
    path = Path(policy_ref)
    if path.is_absolute():
        candidates = {*path.parent.glob("*.yaml"), *path.parent.glob("*.yml"), *(Path(f) for f in files)}
    else:
        # A built-in name: its files change only with the package, but `policy: model` (the model's own
        # guardrails.yaml) and whatever it reads are files like any other.
        candidates = {Path(f) for f in files}
    candidates |= {signature_path(c) for c in candidates}  # a new or changed FILE.sig counts too (guardrails.signing)
    out = []
    for candidate in sorted(candidates):
        try:
            st = candidate.stat()
        except OSError:
            out.append((str(candidate), -1, -1))
            continue
        out.append((str(candidate), st.st_mtime_ns, st.st_size))
    if path.is_absolute() and not path.exists():
        out.append((str(path), -1, -1))
    return tuple(out)


def _build_loaded(policy_ref: str, running: GuardHandle, trust_plugins: bool | list[str],
                  trusted_keys: KeyRing | None = None) -> GuardHandle:
    # With trusted keys, a file that is unsigned, tampered or signed by another key is refused here.
    handle = GuardHandle.build(policy_ref, trust_plugins=trust_plugins, trusted_keys=trusted_keys,
                               model=running.model, model_policy=running.model_policy)  # guardrails.bundled
    dropped = handle.guard.policy.removals_from(running.guard.policy)
    if dropped:
        raise PolicyError([f"{policy_ref}: the new policy drops what the running one enforces "
                           f"(a partial write?): " + "; ".join(dropped)])
    handle.guard.load()  # load models before the swap, so no request waits on them
    return handle


def _signer(handle: GuardHandle) -> dict[str, str]:
    """``{"policy_signer": key id}`` for an audit record, when the policy was verified."""
    signer = handle.guard.policy_signer
    return {"policy_signer": signer} if signer is not None else {}


class PolicyReloader:
    """Rebuilds an app's Guard off the event loop and swaps it in; in-flight requests keep the old one."""

    def __init__(self, sc: Sidecar) -> None:
        self.sc = sc
        self._prints = {name: self._current(name) for name in sc.apps}
        self._pending: dict[str, Fingerprint] = {}
        self._lock = asyncio.Lock()

    def _current(self, name: str) -> Fingerprint:
        app = self.sc.apps[name]
        return _fingerprint(app.policy_ref, app.handle.guard.policy.files)

    async def reload_app(self, name: str, reason: str) -> bool:
        """Reload one app's policy; False (old policy kept, error logged) when the new one is bad."""
        app = self.sc.apps[name]
        self._prints[name] = await asyncio.to_thread(self._current, name)
        try:
            handle = await asyncio.to_thread(_build_loaded, app.policy_ref, app.handle, self.sc.trust_plugins,
                                             self.sc.trusted_keys)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the old policy in force
            # PolicyError messages name file, line and key; never text. Others: the type only.
            detail = str(exc) if isinstance(exc, GuardrailsError) else type(exc).__name__
            logger.error("app %s: new policy rejected (%s), keeping %s: %s", name, reason, app.handle.guard.policy_hash, detail)
            self.sc.metrics.reloads.labels(name, "rejected").inc()
            self.sc.audit.write({"event": "policy_reload", "app": name, "result": "rejected", "reason": reason,
                                 "policy_hash": app.handle.guard.policy_hash, **_signer(app.handle), "error": detail})
            return False
        old = app.handle.guard.policy_hash
        if handle.guard.policy_hash == old and handle.guard.policy.signatures == app.handle.guard.policy.signatures:
            return True
        app.handle = handle
        self._prints[name] = await asyncio.to_thread(self._current, name)  # the new policy may read other files
        signed = f" (signed by key {handle.guard.policy_signer})" if handle.guard.policy_signer else ""
        logger.info("app %s: policy reloaded (%s): %s -> %s%s", name, reason, old, handle.guard.policy_hash, signed)
        self.sc.metrics.reloads.labels(name, "ok").inc()
        self.sc.metrics.policy(name, handle.guard.policy.name, handle.guard.policy_hash, handle.guard.policy_signer)
        self.sc.audit.write({"event": "policy_reload", "app": name, "result": "ok", "reason": reason,
                             "old_policy_hash": old, "policy_hash": handle.guard.policy_hash, **_signer(handle)})
        return True

    async def reload_all(self, reason: str) -> dict[str, bool]:
        async with self._lock:
            return {name: await self.reload_app(name, reason) for name in self.sc.apps}

    async def poll_once(self) -> None:
        """Reload the apps whose files changed and have since stayed the same for one poll."""
        async with self._lock:
            for name in self.sc.apps:
                current = await asyncio.to_thread(self._current, name)
                if current == self._prints.get(name):
                    self._pending.pop(name, None)
                elif self._pending.get(name) != current:
                    self._pending[name] = current  # still being written, perhaps: look again next time
                else:
                    del self._pending[name]
                    await self.reload_app(name, "file changed")

    async def watch(self, interval_s: float) -> None:
        """Poll the policy files forever (cancel to stop)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.poll_once()
            except Exception as exc:  # noqa: BLE001 - the watcher must survive anything
                logger.error("policy watcher: %s", type(exc).__name__)
