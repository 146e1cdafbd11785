"""Find obfuscated payloads (base64, hex, URL-encoding, rot13, reversed text) and decode them.

Each decoded payload is scored like any other segment, so "aWdub3JlIGFsbCBwcmV2aW91cw==" is
judged by what it says. Only the stdlib is used; every decoder is bounded in size.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import urllib.parse
from dataclasses import dataclass

_B64 = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{16,}={0,2}(?![A-Za-z0-9+/=_\-])")
_HEXRUN = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[\s:]?){10,}(?![0-9A-Fa-f])")
_PCT = re.compile(r"(?:%[0-9A-Fa-f]{2}){4,}")
_WORDS = re.compile(r"[a-z]+")
_ASCII_LETTERS = re.compile(r"(?:[A-Za-z][^A-Za-z]{0,3}){8}")
# Frequent English words: a decoding that produces many of them is real text.
_COMMON = frozenset(
    "the a an and or to of in on for with how what you your me my i is are be do can make write "
    "all any this that it from as not no now give tell ignore instructions previous system prompt "
    "please will would should who why when where which step by kill bomb hack password".split()
)
MAX_PAYLOADS = 4
MAX_DECODE_CHARS = 4000


@dataclass(frozen=True)
class Payload:
    """A decoded payload and the ``[start, end)`` range of the source text it came from."""

    text: str
    start: int
    end: int
    kind: str


def _common_ratio(text: str) -> tuple[int, float]:
    words = _WORDS.findall(text.lower())
    if not words:
        return 0, 0.0
    hits = sum(1 for w in words if w in _COMMON)
    return hits, hits / len(words)


def _printable(text: str) -> bool:
    if not text.strip():
        return False
    good = sum(1 for c in text if c.isprintable() or c in "\n\t\r")
    letters = sum(1 for c in text if c.isalpha())
    return good / len(text) > 0.95 and letters / len(text) > 0.5


def _b64(token: str) -> str | None:
    if len(token) > MAX_DECODE_CHARS or not (any(c.isdigit() or c in "+/=" for c in token) or len(token) >= 24):
        return None
    body = token.rstrip("=")
    padded = body + "=" * (-len(body) % 4)
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decoder(padded)
            text = raw.decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
        if _printable(text) and " " in text.strip():
            return text
    return None


def _hex(token: str) -> str | None:
    digits = re.sub(r"[\s:]", "", token)
    if len(digits) % 2 or len(digits) > MAX_DECODE_CHARS:
        return None
    try:
        text = bytes.fromhex(digits).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return text if _printable(text) and " " in text.strip() else None


def find_payloads(text: str) -> list[Payload]:
    """Decoded payloads hidden in ``text`` (at most ``MAX_PAYLOADS``)."""
    out: list[Payload] = []
    if len(text) >= 16:
        for m in _B64.finditer(text):
            decoded = _b64(m.group())
            if decoded:
                out.append(Payload(decoded, m.start(), m.end(), "base64"))
                if len(out) >= MAX_PAYLOADS:
                    return out
        for m in _HEXRUN.finditer(text):
            decoded = _hex(m.group())
            if decoded:
                out.append(Payload(decoded, m.start(), m.end(), "hex"))
        for m in _PCT.finditer(text):
            decoded = urllib.parse.unquote(m.group())
            if _printable(decoded):
                out.append(Payload(decoded, m.start(), m.end(), "url"))
    # rot13 and reversed text: keep the transform only if it reads much more like English.
    if len(text) >= 12:
        base_hits, base_ratio = _common_ratio(text)
        if base_ratio >= 0.2 or not _ASCII_LETTERS.search(text):
            return out[:MAX_PAYLOADS]  # already reads as English, or nothing to rotate
        for kind, transformed in (("rot13", codecs.encode(text, "rot13")), ("reversed", text[::-1])):
            hits, ratio = _common_ratio(transformed)
            if hits >= 2 and ratio >= 0.25 and ratio > 2 * base_ratio + 0.1:
                out.append(Payload(transformed, 0, len(text), kind))
    return out[:MAX_PAYLOADS]
