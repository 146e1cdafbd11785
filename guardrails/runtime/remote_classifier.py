"""A sequence classifier served by Hugging Face Text Embeddings Inference (TEI): ``POST {endpoint}/predict``.

It stands in for the in-process scorer (``guardrails.runtime.encoder.TextScorer``): ``score`` and ``ascore``
return every label's probability for every chunk of a text, so the encoder filters use it unchanged. Nothing is
truncated: a long text is cut into overlapping chunks of characters at whitespace and sent as one batch with
``truncate: false``; when the server refuses a batch as too long (413 or 422) every chunk is halved and the
batch sent again, and the smaller size is kept for later texts. Connection errors, 429 and 5xx answers are
retried with backoff; any other failure raises (the policy's ``on_error`` applies). Error messages never carry
the text.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from guardrails.errors import FilterLoadError, GuardrailsError
from guardrails.runtime.chunking import Chunk, InputTooLong
from guardrails.runtime.encoder import TextScores
from guardrails.runtime.http_retry import LoopClients, Plan, arun_plan, run_plan

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_TOO_LONG_STATUS = frozenset({413, 422})
_MIN_CHUNK_CHARS = 16
_PROBE = "hello"


class RemoteClassifierError(GuardrailsError):
    """The classification server failed or answered something that is not a prediction."""


class _TooLong(Exception):
    pass


def char_chunks(text: str, size: int, overlap: int, max_chunks: int | None = None) -> list[Chunk]:
    """Windows of at most ``size`` characters covering ``text``, ending at whitespace where the window's second
    half has some, each starting ``overlap`` characters (or the next word) before the previous one ended."""
    if len(text) <= size:
        return [Chunk((), 0, len(text))]
    overlap = min(overlap, size // 2)
    chunks: list[Chunk] = []
    start = 0
    while True:
        end = min(len(text), start + size)
        if end < len(text):
            cut = max(text.rfind(" ", start + size // 2, end), text.rfind("\n", start + size // 2, end))
            end = cut + 1 if cut > start else end
        chunks.append(Chunk((), start, end))
        if max_chunks is not None and len(chunks) > max_chunks:
            raise InputTooLong(f"input needs more than {max_chunks} chunks of {size} characters; max_chunks is {max_chunks}")
        if end >= len(text):
            return chunks
        nxt = max(start + 1, end - overlap)
        space = text.find(" ", nxt, end)
        start = space + 1 if space != -1 else nxt


class RemoteClassifier:
    """A TEI ``/predict`` endpoint as a scorer: ``load()`` once (learns the labels), then ``score(text)``."""

    def __init__(self, endpoint: str, *, api_key: str | None = None, request_timeout_s: float = 10.0, retries: int = 2,
                 chunk_chars: int = 1500, overlap_chars: int = 150, backoff_s: float = 0.2) -> None:
        self.url = endpoint.rstrip("/") + "/predict"
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.request_timeout_s = request_timeout_s
        self.retries = retries
        self.chunk_chars = chunk_chars
        self.overlap_chars = overlap_chars
        self.backoff_s = backoff_s
        self.labels: tuple[str, ...] = ()
        self.multi_label = False
        self._client: Any = None
        self._aclients = LoopClients(self.headers)
        self._lock = threading.Lock()

    def load(self) -> None:
        """Connect and learn the model's labels (and whether they are exclusive) from one prediction."""
        try:
            import httpx
        except ImportError:
            raise FilterLoadError("classifier with endpoint: needs httpx: pip install 'openweights-guardrails[server]'") from None
        self._client = httpx.Client(headers=self.headers)
        try:
            (row,) = self._parse(self._post_sync([_PROBE]), 1)
        except (RemoteClassifierError, _TooLong) as exc:
            raise FilterLoadError(f"classifier endpoint {self.url}: {exc}") from None
        self.labels = tuple(sorted(row))
        # Softmax probabilities add up to 1; independent (sigmoid) ones need not.
        self.multi_label = abs(sum(row.values()) - 1.0) > 1e-3

    def score(self, text: str, *, window: int | None = None, overlap: int = 64, max_chunks: int | None = None) -> TextScores:
        """Probabilities per chunk and label (``window``/``overlap`` are token counts of the local scorer: unused)."""
        while True:
            chunks = char_chunks(text, self.chunk_chars, self.overlap_chars, max_chunks)
            try:
                rows = self._parse(self._post_sync([text[c.start:c.end] for c in chunks]), len(chunks))
            except _TooLong:
                self._shrink()
                continue
            return self._scores(chunks, rows)

    async def ascore(self, text: str, *, window: int | None = None, overlap: int = 64, max_chunks: int | None = None) -> TextScores:
        while True:
            chunks = char_chunks(text, self.chunk_chars, self.overlap_chars, max_chunks)
            try:
                rows = self._parse(await self._post_async([text[c.start:c.end] for c in chunks]), len(chunks))
            except _TooLong:
                self._shrink()
                continue
            return self._scores(chunks, rows)

    # -- helpers ---------------------------------------------------------------------------------

    def _shrink(self) -> None:
        if self.chunk_chars <= _MIN_CHUNK_CHARS:
            raise RemoteClassifierError(f"the server refuses even {self.chunk_chars}-character chunks as too long")
        with self._lock:
            self.chunk_chars = max(_MIN_CHUNK_CHARS, self.chunk_chars // 2)
            self.overlap_chars = self.chunk_chars // 10

    def _scores(self, chunks: list[Chunk], rows: list[dict[str, float]]) -> TextScores:
        probs = np.array([[row.get(label, 0.0) for label in self.labels] for row in rows], dtype=np.float32)
        return TextScores(self.labels, tuple(chunks), probs)

    @staticmethod
    def _body(inputs: list[str]) -> dict[str, Any]:
        # TEI reads a list of one-element lists as a batch of single sequences (a bare pair would be one input).
        return {"inputs": [[s] for s in inputs], "truncate": False, "raw_scores": False}

    def _post_sync(self, inputs: list[str]) -> Any:
        return run_plan(self._attempts(), self._client, self.url, self._body(inputs))

    async def _post_async(self, inputs: list[str]) -> Any:
        return await arun_plan(self._attempts(), self._aclients.get(), self.url, self._body(inputs))

    def _attempts(self) -> Plan[Any]:
        """The retry policy (guardrails.runtime.http_retry): the answer's JSON, or raises when exhausted."""
        reason = "no attempt"
        for attempt in range(self.retries + 1):
            result = yield ("post", self.request_timeout_s)
            outcome = result if isinstance(result, str) else self._judge(result)
            if outcome is None:
                return result.json()
            reason = outcome
            if attempt < self.retries:
                yield ("sleep", self.backoff_s * 2**attempt)
        raise RemoteClassifierError(f"no prediction after {self.retries + 1} attempts ({reason})")

    @staticmethod
    def _judge(answer: Any) -> str | None:
        """None for a usable answer; the reason to retry; raises for answers a retry cannot fix."""
        if answer.status_code == 200:
            return None
        if answer.status_code in _TOO_LONG_STATUS:
            raise _TooLong()
        if answer.status_code in _RETRY_STATUS:
            return f"HTTP {answer.status_code}"
        raise RemoteClassifierError(f"the server answered HTTP {answer.status_code}")

    @staticmethod
    def _parse(payload: Any, n: int) -> list[dict[str, float]]:
        """TEI's batch answer ``[[{"label", "score"}, ...], ...]`` as one label -> score dict per input."""
        try:
            rows = [{str(p["label"]): float(p["score"]) for p in row} for row in payload]
        except (KeyError, TypeError, ValueError):
            raise RemoteClassifierError("the answer is not a batch of [{label, score}] predictions") from None
        if len(rows) != n or not all(rows):
            raise RemoteClassifierError(f"expected {n} predictions, got {len(rows)}")
        return rows
