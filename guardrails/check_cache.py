"""The engine's per-message cache: a filter's result for a text it already checked, reused.

A chat client sends the whole conversation on every request; without a cache each earlier turn is
scored again each time. Only filters that declare their result a function of the text, stage, role
and part alone (``BaseFilter.cacheable``) are cached, so a hit returns exactly what the check would
have returned. Keys hold a SHA-256 digest of the text, never the text; values are ``FilterResult``s
(categories, scores, spans). Bounded LRU, thread-safe.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from guardrails.types import FilterResult

Key = tuple[str, str, str, str, str, str]

DEFAULT_SIZE = 4096


class CheckCache:
    """Bounded LRU of ``(policy hash, filter id, stage, role, part, text digest) -> FilterResult``."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Key, FilterResult] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(policy_hash: str, filter_id: str, stage: str, role: str, part: str, text: str) -> Key:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return (policy_hash, filter_id, stage, role, part, digest)

    def get(self, key: Key) -> FilterResult | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Key, result: FilterResult) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = result
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)
