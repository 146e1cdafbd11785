"""``deny_list``: words and phrases that must not pass, matched after evasion normalisation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.linear_regex import compile_alternation, whole_word_matches
from guardrails.normalize import LEET, normalize
from guardrails.types import Context, FilterResult, Finding, Span

# Letters that leetspeak or look-alikes make interchangeable once normalised ('1' -> 'i' vs 'l').
_ALIKE = {"i": "il", "l": "il"}
MAX_ENTRIES = 100_000
MAX_FILE_BYTES = 8 << 20


class DenyListConfig(FilterConfig):
    words: list[str] = Field([], max_length=MAX_ENTRIES, description="Words or phrases; matched whole-word, any case.")
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
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"file {path} is {size} bytes; the limit is {MAX_FILE_BYTES} (one entry a line)")
        return str(path.resolve())

    def files_read(self) -> tuple[str, ...]:
        return (self.file,) if self.file else ()

    @model_validator(mode="after")
    def _has_entries(self) -> "DenyListConfig":
        if not self.words and not self.file:
            raise ValueError("give 'words' or 'file'")
        return self


def _char_class(ch: str) -> str:
    """The characters that may stand for ``ch`` in normalised text: itself, its look-alikes, and the
    letter leetspeak normalisation may turn it into ('area51' can be normalised to 'areasi')."""
    chars = {ch, *_ALIKE.get(ch, "")}
    if ch in LEET:
        chars.update({LEET[ch], *_ALIKE.get(LEET[ch], "")})
    return re.escape(ch) if len(chars) == 1 else "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


def _entry_patterns(entry: str) -> list[tuple[str, bool]]:
    """RE2 patterns for one entry, each with whether it is written in a script without spaces (then
    matched anywhere, not whole-word): the entry as written (tolerating repeated letters, any
    separators and leetspeak), and the entry normalised exactly as texts are (so that an entry
    always matches a text identical to it, whatever normalisation does to it)."""
    out = []
    for norm in (normalize(entry, leet=False, despace=False).text.strip(), normalize(entry).text.strip()):
        if not norm:
            continue
        parts = []
        for ch in norm:
            if ch.isspace():
                parts.append(r"[\W_]+")
            elif ch.isalnum():
                parts.append(f"{_char_class(ch)}+")  # 'fuuuck' still matches
            else:
                parts.append(_char_class(ch))
        unspaced = any("\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in norm)
        out.append(("".join(parts), unspaced))
    return out


class DenyListFilter(BaseFilter):
    """Blocks listed words even when spaced out, leetspoken, full-width or written with homoglyphs."""

    name = "deny_list"
    Config = DenyListConfig
    cost = 0

    def __init__(self, config: DenyListConfig) -> None:
        super().__init__(config)
        self.config: DenyListConfig = config
        # RE2 alternations (linear time, whatever the entries): whole-word entries, unspaced-script entries.
        self._regexes: list[tuple[Any, bool]] = []

    def load(self) -> None:
        entries = list(self.config.words)
        if self.config.file:
            lines = Path(self.config.file).read_text(encoding="utf-8").splitlines()
            entries += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
            if len(entries) > MAX_ENTRIES:
                raise ValueError(f"deny_list: {len(entries)} entries; the limit is {MAX_ENTRIES}")
        patterns = {p for entry in entries for p in _entry_patterns(entry)}
        for unspaced in (False, True):
            bodies = sorted((b for b, u in patterns if u is unspaced), key=len, reverse=True)
            if bodies:
                self._regexes.append((compile_alternation(bodies), unspaced))

    def cacheable(self, ctx: Context) -> bool:
        return True  # a pure function of the text

    def check(self, text: str, ctx: Context) -> FilterResult:
        category = self.config.category
        if not self._regexes:
            return FilterResult.clean({category: 0.0})
        norm = normalize(text)
        spans = [
            Span(*norm.source_span(start, end), category.upper())
            for regex, unspaced in self._regexes
            for start, end in whole_word_matches(regex, norm.text, unspaced=unspaced)
        ]
        if not spans:
            return FilterResult.clean({category: 0.0})
        return FilterResult((Finding(category, 1.0, tuple(spans)),), {category: 1.0})


__all__: list[Any] = ["DenyListFilter", "DenyListConfig"]
