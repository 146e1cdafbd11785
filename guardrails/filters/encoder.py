"""What the filters that run an encoder model (``classifier``, ``toxicity``) share: their policy
keys (offline, ONNX, micro-batching, chunking) and the chunked scoring of a text by a shared
``guardrails.runtime.encoder`` scorer."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.types import Context, FilterResult, Finding, Span


class ModelFilterConfig(FilterConfig):
    """Runtime keys: offline mode, ONNX, micro-batching and chunking of long inputs."""

    offline: bool = Field(False, description="Never download; load from local paths and caches only (the policy's offline: true sets it).")
    onnx: bool = Field(False, description="Run the model with ONNX Runtime (exported once to the guardrails cache).")
    max_batch: int = Field(16, ge=1, le=1024, description="Most texts (chunks) per forward pass; 1 turns micro-batching off.")
    batch_wait_ms: float = Field(1.0, ge=0, le=1000, description="How long a batch waits for more concurrent requests.")
    chunk_tokens: int | None = Field(None, ge=8, description="Tokens per chunk (special tokens included); default: the model's window.")
    chunk_overlap: int = Field(64, ge=0, description="Tokens shared by consecutive chunks of a long input (at most half a chunk).")
    max_chunks: int | None = Field(256, ge=1, description="Inputs needing more chunks fail (on_error applies) instead of being truncated.")


class EncoderFilter(BaseFilter):
    """Base of the encoder filters: ``load`` sets ``self._scorer`` (a shared scorer), subclasses turn
    its per-chunk probabilities into a result in ``_result``."""

    config: ModelFilterConfig
    _scorer: Any

    def check(self, text: str, ctx: Context) -> FilterResult:
        cfg = self.config
        return self._result(self._scorer.score(text, window=cfg.chunk_tokens, overlap=cfg.chunk_overlap, max_chunks=cfg.max_chunks))

    async def acheck(self, text: str, ctx: Context) -> FilterResult:
        cfg = self.config
        return self._result(await self._scorer.ascore(text, window=cfg.chunk_tokens, overlap=cfg.chunk_overlap, max_chunks=cfg.max_chunks))

    def _result(self, scores: Any) -> FilterResult:
        raise NotImplementedError

    @staticmethod
    def _chunk_finding(scores: Any, chunk_index: int, category: str, score: float) -> Finding:
        """A finding whose span is the chunk that scored ``score``."""
        chunk = scores.chunks[chunk_index]
        return Finding(category, score, (Span(chunk.start, chunk.end, category),))
