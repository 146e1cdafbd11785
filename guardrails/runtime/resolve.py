"""Resolve a model key (local path, package folder, hub id or checkpoint URL) to a local path.

Order: a local path; a folder shipped by an installed package (``package://name/sub/path``);
the local Hugging Face cache (the torch hub cache for ``https://`` checkpoint URLs); the hub
itself, unless offline mode is on (``HF_HUB_OFFLINE=1``, ``GUARDRAILS_OFFLINE=1`` or
``offline: true`` in the policy).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from guardrails.errors import FilterLoadError

_TRUTHY = {"1", "true", "yes", "on"}
OFFLINE_ENV = ("GUARDRAILS_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")

# Weights in formats the runtime never loads; skipped when a hub snapshot is downloaded.
FOREIGN_WEIGHTS = [
    "*.h5", "*.msgpack", "*.ot", "*.tflite", "*.onnx", "*.onnx_data", "onnx/*", "openvino/*", "coreml/*",
    "tf_model*", "flax_model*", "rust_model*",
]


class ModelNotFound(FilterLoadError):
    """No local copy of a model, and the hub may not (or cannot) be used."""


@dataclass(frozen=True)
class ModelSpec:
    """One model a filter needs: its key, an optional pinned revision and which files matter."""

    key: str
    revision: str | None = None
    allow_patterns: tuple[str, ...] | None = None
    note: str = ""


def is_offline(policy_offline: bool = False) -> bool:
    """True when the policy or the environment forbids reaching a model hub."""
    return policy_offline or any(os.environ.get(v, "").lower() in _TRUTHY for v in OFFLINE_ENV)


def is_url(key: str) -> bool:
    return key.startswith(("https://", "http://"))


def resolve_model(
    key: str,
    *,
    offline: bool = False,
    revision: str | None = None,
    allow_patterns: list[str] | None = None,
    ignore_patterns: list[str] | None = None,
) -> Path:
    """Return a local path for ``key``; download (hub snapshot or URL) only when allowed.

    Raises ModelNotFound with a message that says where it looked and how to fix it.
    """
    found = locate_model(key, revision=revision)
    if found is not None:
        return found
    if key.startswith("package://"):
        return _from_package(key)  # raises with the reason
    if _looks_like_path(key) and not is_url(key):
        raise ModelNotFound(f"model path {key!r} does not exist")
    if is_offline(offline):
        where = f"the torch hub cache ({torch_hub_file(key)})" if is_url(key) else "the local cache"
        raise ModelNotFound(
            f"model {key!r} is not in {where} and offline mode is on; "
            f"run 'guardrails models prefetch POLICY' on a host with network, or set model: to a local path"
        )
    if is_url(key):
        return _download_url(key)
    try:
        from huggingface_hub import snapshot_download

        return Path(
            snapshot_download(key, revision=revision, allow_patterns=allow_patterns, ignore_patterns=ignore_patterns)
        )
    except ImportError:
        raise ModelNotFound(f"model {key!r} needs huggingface_hub: pip install 'openweights-guardrails[models]'") from None
    except Exception as exc:  # noqa: BLE001 - network, auth, missing repo: all mean "not available"
        raise ModelNotFound(f"model {key!r} could not be downloaded ({type(exc).__name__}: {exc}); set model: to a local folder") from None


def locate_model(key: str, *, revision: str | None = None) -> Path | None:
    """The local copy of ``key`` if there is one (path, package folder or cache); never downloads."""
    if is_url(key):
        cached = torch_hub_file(key)
        return cached if cached.is_file() else None
    path = Path(key).expanduser()
    if path.exists():
        return path.resolve()
    if key.startswith("package://"):
        try:
            return _from_package(key)
        except ModelNotFound:
            return None
    if _looks_like_path(key):
        return None
    return _from_hf_cache(key, revision)


def torch_hub_file(url: str) -> Path:
    """Where torch.hub keeps the checkpoint downloaded from ``url`` (``$TORCH_HOME/hub/checkpoints``)."""
    name = os.path.basename(urlparse(url).path)
    return _torch_hub_dir() / "checkpoints" / name


def _torch_hub_dir() -> Path:
    hub = sys.modules.get("torch.hub")
    if hub is not None:  # honours torch.hub.set_dir()
        return Path(hub.get_dir())
    # torch.hub.get_dir()'s default, without importing torch (a second or more) just for a path.
    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")
    return Path(home).expanduser() / "hub"


def _download_url(url: str) -> Path:
    dest = torch_hub_file(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # torch.hub names checkpoints "<name>-<sha256 prefix>.<ext>"; verify that prefix like torch.hub does.
    match = re.search(r"-([a-f0-9]{8,})\.", dest.name)
    try:
        import torch.hub

        torch.hub.download_url_to_file(url, str(dest), hash_prefix=match.group(1) if match else None, progress=False)
    except ImportError:
        raise ModelNotFound(f"downloading {url!r} needs torch: pip install 'openweights-guardrails[models]'") from None
    except Exception as exc:  # noqa: BLE001
        raise ModelNotFound(f"could not download {url!r} ({type(exc).__name__}: {exc}); put the file at {dest}") from None
    return dest


def _looks_like_path(key: str) -> bool:
    return key.startswith((".", "/", "~")) or key.endswith((".ckpt", ".pt", ".pth", ".bin", ".onnx"))


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
