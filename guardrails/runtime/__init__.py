"""Shared model runtime: resolve model keys to files, load each model once per process.

    path = resolve_model("org/name", offline=policy.offline)   # local path, package, cache, hub
    model = shared_model(("classifier", str(path)), lambda: load(path))
"""

from guardrails.runtime.registry import clear_shared, shared_model
from guardrails.runtime.resolve import ModelNotFound, is_offline, resolve_model

__all__ = ["ModelNotFound", "clear_shared", "is_offline", "resolve_model", "shared_model"]
