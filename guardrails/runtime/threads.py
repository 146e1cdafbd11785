"""CPU thread count for model inference: ``GUARDRAILS_NUM_THREADS`` or ``set_num_threads(n)``."""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_applied: int | None = None


def num_threads() -> int | None:
    """The configured thread count, or None to keep the libraries' defaults."""
    if _applied is not None:
        return _applied
    raw = os.environ.get("GUARDRAILS_NUM_THREADS", "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"GUARDRAILS_NUM_THREADS: expected a positive integer, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"GUARDRAILS_NUM_THREADS: expected a positive integer, got {raw!r}")
    return value


def set_num_threads(n: int) -> None:
    """Use ``n`` CPU threads per forward pass (torch, and ONNX sessions created afterwards)."""
    global _applied
    if n < 1:
        raise ValueError(f"num_threads: expected a positive integer, got {n}")
    with _lock:
        _applied = n
        _apply_torch(n)


def apply_configured() -> int | None:
    """Apply the configured count to torch (called before a model's first forward pass)."""
    n = num_threads()
    if n is not None:
        _apply_torch(n)
    return n


def _apply_torch(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
