"""``deny_list``: words and phrases that must not pass, matched after evasion normalisation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.normalize import normalize
from guardrails.types import Context, FilterResult, Finding, Span

# Letters that leetspeak or look-alikes make interchangeable once normalised ('1' -> 'i' vs 'l').
_ALIKE = {"i": "[il]", "l": "[il]"}


class DenyListConfig(FilterConfig):
    words: list[str] = Field([], description="Words or phrases; matched whole-word, any case.")
    file: str | None = Field(None, description="A file with one entry a line (# comments), relative to the policy file.")
    category: str = "deny_list"

    @field_validator("file")
    @classmethod
    def _file_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        path = Path(value)
        base = (info.context or {}).get("policy_dir")
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        if not path.is_file():
            raise ValueError(f"file not found: {path}")
        return str(path.resolve())

    @model_validator(mode="after")
    def _has_entries(self) -> "DenyListConfig":
        if not self.words and not self.file:
            raise ValueError("give 'words' or 'file'")
        return self


def _entry_pattern(entry: str) -> str | None:
    norm = normalize(entry, leet=False, despace=False).text.strip()
    if not norm:
        return None
    parts = []
    for ch in norm:
        if ch.isspace():
            parts.append(r"[\W_]+")
        elif ch.isalnum():
            parts.append(f"{_ALIKE.get(ch, re.escape(ch))}+")  # 'fuuuck' still matches
        else:
            parts.append(re.escape(ch))
    body = "".join(parts)
    # Whole words only, except for scripts written without spaces.
    if any("\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in norm):
        return body
    return rf"(?<![^\W_]){body}(?![^\W_])"


class DenyListFilter(BaseFilter):
    """Blocks listed words even when spaced out, leetspoken, full-width or written with homoglyphs."""

    name = "deny_list"
    Config = DenyListConfig
    cost = 0

    def __init__(self, config: DenyListConfig) -> None:
        super().__init__(config)
        self.config: DenyListConfig = config
        self._regex: re.Pattern[str] | None = None

    def load(self) -> None:
        entries = list(self.config.words)
        if self.config.file:
            lines = Path(self.config.file).read_text(encoding="utf-8").splitlines()
            entries += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        patterns = sorted({p for p in map(_entry_pattern, entries) if p}, key=len, reverse=True)
        self._regex = re.compile("|".join(patterns)) if patterns else None

    def check(self, text: str, ctx: Context) -> FilterResult:
        category = self.config.category
        if self._regex is None:
            return FilterResult.clean({category: 0.0})
        norm = normalize(text)
        spans = [Span(*norm.source_span(m.start(), m.end()), category.upper()) for m in self._regex.finditer(norm.text) if m.end() > m.start()]
        if not spans:
            return FilterResult.clean({category: 0.0})
        return FilterResult((Finding(category, 1.0, tuple(spans)),), {category: 1.0})


__all__: list[Any] = ["DenyListFilter", "DenyListConfig"]
