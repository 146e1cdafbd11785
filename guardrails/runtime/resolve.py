"""Resolve a model key (local path or hub id) to a local folder or file.

Order: a local path; a folder shipped by an installed package (``package://name/sub/path``);
the local Hugging Face cache; the hub itself, unless offline mode is on (``HF_HUB_OFFLINE=1``,
``GUARDRAILS_OFFLINE=1`` or ``offline: true`` in the policy).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from guardrails.errors import FilterLoadError


class ModelNotFound(FilterLoadError):
    """No local copy of a model, and the hub may not (or cannot) be used."""


def is_offline(policy_offline: bool = False) -> bool:
    truthy = {"1", "true", "yes", "on"}
    return policy_offline or any(os.environ.get(v, "").lower() in truthy for v in ("GUARDRAILS_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def resolve_model(key: str, *, offline: bool = False, revision: str | None = None, allow_patterns: list[str] | None = None) -> Path:
    """Return a local path for ``key``; download from the hub only when allowed.

    Raises ModelNotFound with a message that says where it looked and how to fix it.
    """
    path = Path(key).expanduser()
    if path.exists():
        return path.resolve()
    if key.startswith("package://"):
        return _from_package(key)
    if key.startswith((".", "/", "~")):
        raise ModelNotFound(f"model path {key!r} does not exist")
    cached = _from_hf_cache(key, revision)
    if cached is not None:
        return cached
    if is_offline(offline):
        raise ModelNotFound(
            f"model {key!r} is not in the local cache and offline mode is on; "
            f"run 'guardrails models prefetch POLICY' on a host with network, or set model: to a local folder"
        )
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(key, revision=revision, allow_patterns=allow_patterns))
    except ImportError:
        raise ModelNotFound(f"model {key!r} needs huggingface_hub: pip install 'openweights-guardrails[models]'") from None
    except Exception as exc:  # noqa: BLE001 - network, auth, missing repo: all mean "not available"
        raise ModelNotFound(f"model {key!r} could not be downloaded ({type(exc).__name__}: {exc}); set model: to a local folder") from None


def _from_package(key: str) -> Path:
    package, _, sub = key.removeprefix("package://").partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"{key!r}: package {package!r} is not installed")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / sub
        if candidate.exists():
            return candidate
    raise ModelNotFound(f"{key!r}: package {package!r} has no {sub!r}")


def _from_hf_cache(key: str, revision: str | None) -> Path | None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        return Path(snapshot_download(key, revision=revision, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached
        return None
