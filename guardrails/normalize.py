"""Text normalisation against evasion, with a map back to the original character offsets.

Undoes the usual tricks used to slip words past a filter: zero-width and other invisible
characters, full-width and stylised letters (NFKC), accents, case, homoglyphs from other
scripts inside Latin words (Cyrillic 'а' for 'a'), leetspeak inside words ('h3ll0'), and
letters spaced out with separators ('k i l l', 'k.i.l.l').
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Characters of other scripts that render like Latin letters.
HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "l", "ɡ": "g", "ɑ": "a", "ο": "o",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
}
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s", "!": "i", "|": "l", "+": "t"}

_EDGE_PUNCT = frozenset("!|+")
_INVISIBLE = {"\u00ad", "\u034f", "\u180e", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064", "\ufeff"}
_CANDIDATE_WORD = re.compile(r"[^\s]*[0-9@$!|+\u0080-\U0010ffff][^\s]*")
# Three or more single letters joined by the same kind of separator: "k i l l", "k-i-l-l", "k.i.l.l".
_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][\s.\-_*·,/]{1,2}){2,}[^\W\d_](?![^\W\d_])")


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus, for each of its characters, the offset of the source character."""

    text: str
    offsets: tuple[int, ...]
    source_length: int

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a ``[start, end)`` range of the normalised text back to the original text."""
        if start >= len(self.offsets):
            return self.source_length, self.source_length
        src_start = self.offsets[start]
        src_end = self.offsets[end - 1] + 1 if end > start else src_start
        return src_start, src_end


def _is_invisible(ch: str) -> bool:
    return ch in _INVISIBLE or unicodedata.category(ch) == "Cf"


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """NFKC, accents stripped, case folded: 'Ｋ' -> 'k', 'é' -> 'e', 'ﬁ' -> 'fi'."""
    decomposed = unicodedata.normalize("NFKD", ch)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped).casefold()


def normalize(text: str, *, leet: bool = True, homoglyphs: bool = True, despace: bool = True) -> Normalized:
    """Return the normalised form of ``text`` with an offset map (see module docstring)."""
    if text.isascii():
        # Fast path: ASCII has no invisible format characters and folds by lower().
        folded = text.lower()
        offsets: list[int] | range = range(len(text))
    else:
        chars: list[str] = []
        offset_list: list[int] = []
        for i, ch in enumerate(text):
            if _is_invisible(ch):
                continue
            for out in _fold_char(ch):
                chars.append(out)
                offset_list.append(i)
        folded = "".join(chars)
        offsets = offset_list
    if homoglyphs or leet:
        folded = _fix_words(folded, leet=leet, homoglyphs=homoglyphs)
    norm = Normalized(folded, tuple(offsets), len(text))
    return _despace(norm) if despace else norm


_LONE_LEET = re.compile(r"(?<![\w.,])[41](?![\w.,])")


def _fix_words(text: str, *, leet: bool, homoglyphs: bool) -> str:
    """Map homoglyphs in mixed-script words and leet characters in words that contain letters.

    Length is preserved one character for one, so the offset map stays valid.
    """
    out = list(text)
    leet_words = 0
    # Only words holding a leet character or a non-ASCII letter can change.
    for match in _CANDIDATE_WORD.finditer(text):
        word = match.group()
        latin = sum(1 for c in word if "a" <= c <= "z")
        if homoglyphs:
            confusable = sum(1 for c in word if c in HOMOGLYPHS)
            other = sum(1 for c in word if c.isalpha() and not ("a" <= c <= "z") and c not in HOMOGLYPHS)
            # Only mixed-script words (or words made only of look-alikes next to Latin ones): a
            # genuinely Cyrillic or Greek sentence is left alone.
            if confusable and latin and not other:
                for j, c in enumerate(word):
                    if c in HOMOGLYPHS:
                        out[match.start() + j] = HOMOGLYPHS[c]
                latin += confusable
        if leet and latin and latin < len(word):
            core = word.strip(".,;:!?\"'()[]{}")
            if core and any(c in LEET for c in core) and sum(c.isdigit() for c in core) < len(core):
                offset = match.start() + word.index(core)
                for j, c in enumerate(core):
                    inside = 0 < j < len(core) - 1
                    # '!', '|' and '+' are also punctuation: only read them as letters mid-word.
                    if c in LEET and (inside or c not in _EDGE_PUNCT):
                        out[offset + j] = LEET[c]
                leet_words += 1
    if leet and leet_words >= 2:
        # In a text already written in leetspeak, a lone '4' or '1' is the word 'a' or 'i'.
        for match in _LONE_LEET.finditer(text):
            out[match.start()] = LEET[match.group()]
    return "".join(out)


def _despace(norm: Normalized) -> Normalized:
    """Join letters spaced out with separators ('k i l l' -> 'kill'), keeping offsets."""
    if not _SPACED.search(norm.text):
        return norm
    chars: list[str] = []
    offsets: list[int] = []
    pos = 0
    for match in _SPACED.finditer(norm.text):
        for k in range(pos, match.start()):
            chars.append(norm.text[k])
            offsets.append(norm.offsets[k])
        for k in range(match.start(), match.end()):
            if norm.text[k].isalpha():
                chars.append(norm.text[k])
                offsets.append(norm.offsets[k])
        pos = match.end()
    for k in range(pos, len(norm.text)):
        chars.append(norm.text[k])
        offsets.append(norm.offsets[k])
    return Normalized("".join(chars), tuple(offsets), norm.source_length)
