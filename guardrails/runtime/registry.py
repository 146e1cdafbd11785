"""One instance of each loaded model per process, shared by every policy and app."""

from __future__ import annotations

import threading
from typing import Any, Callable, Hashable, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_key_locks: dict[Hashable, threading.Lock] = {}
_objects: dict[Hashable, Any] = {}


def shared_model(key: Hashable, factory: Callable[[], T]) -> T:
    """Return the object stored under ``key``, building it with ``factory`` once (thread-safe)."""
    if key in _objects:
        return _objects[key]  # type: ignore[no-any-return]
    with _lock:
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:  # other keys keep loading in parallel
        if key not in _objects:
            _objects[key] = factory()
        return _objects[key]  # type: ignore[no-any-return]


def clear_shared() -> None:
    """Forget every shared model (tests, hot reload of model files)."""
    with _lock:
        _objects.clear()
        _key_locks.clear()
