"""Audit log: one JSON line per decision, to stdout or a file. Never raw text, PII or keys."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from guardrails.verdict import Verdict


class AuditLog:
    """Appends one JSON object per decision; ``path`` is '-' (stdout), 'off', or a file."""

    def __init__(self, path: str = "-") -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stream: IO[str] | None = None
        if path == "-":
            self._stream = sys.stdout
        elif path != "off":
            file = Path(path)
            file.parent.mkdir(parents=True, exist_ok=True)
            self._stream = file.open("a", encoding="utf-8")

    @property
    def enabled(self) -> bool:
        return self._stream is not None

    def decision(self, verdict: Verdict, *, request_id: str, app: str, endpoint: str, **extra: Any) -> None:
        """Record one verdict: ids, action, and per-violation filter, category, score and action.

        Monitor mode (``Verdict.summary``): when a filter in ``mode: monitor`` fired, the record has
        ``"would_action"`` (the strongest action the monitored findings would have taken: ``"block"`` or
        ``"respond"`` is a would-block decision) and those violations carry ``"monitor": true``; ``action``
        is what was done."""
        if self._stream is None:
            return
        record: dict[str, Any] = {
            "ts": round(time.time(), 3),
            "event": "decision",
            "request_id": request_id,
            "app": app,
            "endpoint": endpoint,
            **verdict.summary(),
            **extra,
        }
        self.write(record)

    def write(self, record: dict[str, Any]) -> None:
        if self._stream is None:
            return
        if "ts" not in record:  # every record is dated (policy reloads too), so summaries can place it in time
            record = {"ts": round(time.time(), 3), **record}
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._stream is not None and self._stream is not sys.stdout:
                self._stream.close()
            self._stream = None
