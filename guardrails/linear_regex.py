"""Every regular expression a policy supplies is compiled here, with RE2: matching time is linear in
the text, so no pattern (``(a|aa)+$`` included) can hang a check. Patterns RE2 cannot run
(backreferences, lookaround) are rejected at load time with the reason, never run by a
backtracking engine.
"""

from __future__ import annotations

from typing import Any, Iterator

import re2  # type: ignore[import-untyped]  # google-re2 ships no stubs

MAX_PATTERN_CHARS = 4096
MAX_PATTERNS = 1000
# RE2's memory budget per compiled pattern; a large deny list compiles to one big alternation.
_MAX_MEM = 64 << 20


def compile_linear(pattern: str, *, case_sensitive: bool = True, dot_all: bool = False, multiline: bool = False) -> Any:
    """Compile ``pattern`` with RE2; ValueError (saying why) when RE2 cannot run it or it is too long."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"pattern is {len(pattern)} characters long; the limit is {MAX_PATTERN_CHARS}")
    flags = ("m" if multiline else "") + ("s" if dot_all else "")
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False
    options.max_mem = _MAX_MEM
    prefix = f"(?{flags})" if flags else ""
    try:
        return re2.compile(prefix + pattern, options)
    except re2.error as exc:
        reason = _reason(exc).replace(prefix, "", 1) if prefix else _reason(exc)
        raise ValueError(
            f"not a valid regular expression for the linear-time engine RE2 ({reason}; backreferences and "
            f"lookaround are not supported): {pattern!r}"
        ) from None


def _reason(exc: Exception) -> str:
    return exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)


def compile_alternation(bodies: list[str], *, case_sensitive: bool = False) -> Any:
    """One RE2 pattern matching any of ``bodies`` (already RE2 syntax), longest listed first."""
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False
    options.max_mem = _MAX_MEM
    try:
        return re2.compile("|".join(f"(?:{b})" for b in bodies), options)
    except re2.error as exc:
        raise ValueError(f"the entries do not compile into one linear-time pattern ({_reason(exc)})") from None


def _word_char(ch: str) -> bool:
    return ch.isalnum() and ch != "_"


def whole_word_matches(regex: Any, text: str, *, unspaced: bool = False) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of the matches of ``regex`` that are whole words (no letter or digit just
    before or after). RE2 has no lookbehind, so the boundary is checked here; a match that fails it
    is retried one character later, which keeps the scan linear in practice."""
    pos, n = 0, len(text)
    while pos <= n:
        m = regex.search(text, pos)
        if m is None:
            return
        start, end = m.span()
        if end == start:
            pos = start + 1
            continue
        if unspaced or ((start == 0 or not _word_char(text[start - 1])) and (end == n or not _word_char(text[end]))):
            yield start, end
            pos = end
        else:
            pos = start + 1
