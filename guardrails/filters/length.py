"""``length``: bound prompts and answers by characters and (estimated or exact) tokens."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, model_validator

from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.types import Context, FilterResult, Finding, Span

# About one token per word piece or punctuation mark: close to BPE counts for English prose.
_PIECES = re.compile(r"\w{1,4}|[^\w\s]")


class LengthConfig(FilterConfig):
    max_chars: int | None = Field(None, gt=0)
    max_tokens: int | None = Field(None, gt=0)
    tokenizer: str | None = Field(None, description="A transformers tokenizer (path or hub id) for exact token counts.")

    @model_validator(mode="after")
    def _has_a_limit(self) -> "LengthConfig":
        if self.max_chars is None and self.max_tokens is None:
            raise ValueError("give max_chars or max_tokens")
        return self


class LengthFilter(BaseFilter):
    """Blocks (or, with ``action: redact``, truncates) text past a length limit."""

    name = "length"
    Config = LengthConfig
    cost = 0

    def __init__(self, config: LengthConfig) -> None:
        super().__init__(config)
        self.config: LengthConfig = config
        self._tokenizer: Any = None

    def load(self) -> None:
        if self.config.tokenizer and self.config.max_tokens:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.config.tokenizer)

    def _token_cut(self, text: str) -> int | None:
        """Character offset where the token budget runs out, or None if within budget."""
        limit = self.config.max_tokens
        if limit is None:
            return None
        if self._tokenizer is not None:
            enc = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            offsets = enc["offset_mapping"]
            return offsets[limit][0] if len(offsets) > limit else None
        for i, m in enumerate(_PIECES.finditer(text)):
            if i == limit:
                return m.start()
        return None

    def cacheable(self, ctx: Context) -> bool:
        return True  # a pure function of the text

    def check(self, text: str, ctx: Context) -> FilterResult:
        cuts = [c for c in (self._token_cut(text), self.config.max_chars if len(text) > (self.config.max_chars or len(text)) else None) if c is not None]
        if not cuts:
            return FilterResult.clean({"length": 0.0})
        cut = min(cuts)
        span = Span(cut, len(text), "TRUNCATED", replacement="")
        return FilterResult((Finding("length", 1.0, (span,)),), {"length": 1.0})
