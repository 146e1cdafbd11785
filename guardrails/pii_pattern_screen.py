"""Per-pattern screens: a cheap regex that every match of one of Presidio's pattern regexes contains.

Presidio runs each recognizer's regexes with the ``regex`` package over the whole text, tens of
microseconds each on 1,000 characters even where nothing matches (the IPv6, UK NINO and IBAN regexes
above all). Each screen here is a short stdlib regex that finds something in every match of the
pattern it belongs to. When the screen finds nothing in a text, the pattern cannot match there and is
not run; otherwise the pattern runs as Presidio runs it.

A screened pattern whose matches are never longer than a known width (``WIDTHS``) is run only in windows
around the screen's hits: from the width before a hit to the width after it, then on to the next white
space (a match holds a hit, so it lies in such a window; ``ScreenedRegex.windows`` says why the pattern finds
there what it finds in the whole text).

Some patterns can match only inside one piece of text between white space, and only a piece holding a
given character: the e-mail pattern needs an ``@``. Such a pattern is run on those pieces alone
(``WINDOWS``), with the whole text around them, so that word boundaries read as before.

A screen is tied to its pattern by name and by a hash of the regex text: a Presidio release that
changes a regex leaves that pattern unscreened (run as it is). tests/unit/test_pii_pattern_screen.py
checks every screen against strings generated from its pattern, and tests/unit/test_pii_fast_path.py
compares the filter's findings with Presidio's own.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from typing import Any, Iterator

# What Presidio's [A-Z] / [a-z] match with the regex package's IGNORECASE: ASCII letters, the dotted and dotless i,
# the long s and the Kelvin sign (every code point checked in tests/unit/test_pii_pattern_screen.py).
_LETTER = "[A-Za-z\u0130\u0131\u017f\u212a]"
# (pattern name, first 16 hex digits of sha256 of its regex) -> a regex every match of that pattern contains.
# Only patterns that cost Presidio more than their screen costs here: stdlib regexes that start with a literal
# (a colon) are nearly free; the others start at digits and look back for the letters (about 10 us per 1,000
# characters, where the pattern takes 20-200 us).
SCREENS: dict[tuple[str, str], str] = {
    ("IPv6", "c4f79b73053cd5f0"): r":[\w:]",  # eight groups (h:h), or a "::" compression
    ("IPv4_embedded", "66197b1f8e63cd27"): r":\d{1,3}\.",  # a colon right before the IPv4 part
    ("NINO (medium)", "21f524c59171e715"): rf"[0-9]{{2}}(?:(?<={_LETTER}{{2}}[0-9]{{2}})|(?<={_LETTER}{{2}} [0-9]{{2}})) ?[0-9]{{2}} ?[0-9]{{2}} ?{_LETTER}",
    ("IBAN Generic", "1f98697e78e08d67"): rf"[0-9]{{2}}(?<={_LETTER}{{2}}[0-9]{{2}})",
    ("USA DEA Certificate Number (weak)", "8b00da21c7ca480a"): rf"\d{{7}}(?<={_LETTER}\d{{7}})",
    ("Passport (very weak)", "31cb23903d565134"): r"[0-9]{9}",
    ("Passport Next Generation (very weak)", "a4aad820a6663d66"): rf"[0-9]{{8}}(?<={_LETTER}[0-9]{{8}})",
    # Every alternative has a letter next to a digit, except the literal "A-Z]]" one (a "]" before digits).
    ("Driver License - Alphanumeric (weak)", "ab1eb0b240f24580"): rf"[0-9](?:(?<={_LETTER}[0-9])|(?<=\][0-9])|(?={_LETTER}))",
    ("Driver License - Digits (very weak)", "03317c267dbb76a2"): r"[0-9]{6}",
    ("MAC_COLON_OR_HYPHEN", "a101077778af2f88"): r"[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-]",
    ("Crypto (Medium)", "9d9a993fd6aee894"): r"[13]\w{25}",
}

# (pattern name, hash) -> the longest match of a screened pattern (characters, stdlib's parser's width of the regex),
# for the patterns run only in windows around their screen's hits: those whose regex costs far more than finding
# the hits, and that look at the character after a match only as ``\b`` or a negative lookahead that white space
# passes (tests/unit/test_pii_pattern_screen.py checks the widths and compares the spans with the whole text's).
WIDTHS: dict[tuple[str, str], int] = {
    ("NINO (medium)", "21f524c59171e715"): 13,
    ("USA DEA Certificate Number (weak)", "8b00da21c7ca480a"): 9,
    ("Passport (very weak)", "31cb23903d565134"): 9,
    ("Passport Next Generation (very weak)", "a4aad820a6663d66"): 9,
    ("Driver License - Alphanumeric (weak)", "ab1eb0b240f24580"): 19,
    ("Driver License - Digits (very weak)", "03317c267dbb76a2"): 16,
}

# (pattern name, hash) -> a character every match holds; no match holds white space. The pattern runs on the pieces
# of the text between white space that hold that character (``WindowedRegex``).
WINDOWS: dict[tuple[str, str], str] = {
    ("Email (Medium)", "004723abbb67ff6c"): "@",  # local part, @, domain: classes of word characters and punctuation
}
_ASCII_SPACE = " \t\n\r\f\v"
_SPACE = re.compile(r"\s")


def regex_hash(regex: str) -> str:
    return hashlib.sha256(regex.encode()).hexdigest()[:16]


def screen_of(pattern: Any) -> re.Pattern[str] | None:
    """The screen of a Presidio ``Pattern`` (None when it has none, e.g. its regex is not the one screened)."""
    screen = SCREENS.get((str(pattern.name), regex_hash(str(pattern.regex))))
    return re.compile(screen) if screen is not None else None


def width_of(pattern: Any) -> int | None:
    """The longest match of a screened Presidio ``Pattern`` run in windows (``WIDTHS``), else None."""
    return WIDTHS.get((str(pattern.name), regex_hash(str(pattern.regex))))


class _InWindows:
    """A compiled pattern regex whose ``finditer`` over a whole text runs only in ``windows(text)`` (with ``pos`` and
    ``endpos``, so that the regex module reads the text before a window as in the whole text); any other call is the
    regex's own."""

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled

    def windows(self, text: str) -> list[tuple[int, int]]:
        raise NotImplementedError

    def finditer(self, text: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        if args or not isinstance(text, str) or "pos" in kwargs or "endpos" in kwargs:
            found: Iterator[Any] = self._compiled.finditer(text, *args, **kwargs)
            return found
        return itertools.chain.from_iterable(self._compiled.finditer(text, pos=a, endpos=b, **kwargs) for a, b in self.windows(text))

    def __getattr__(self, name: str) -> Any:  # search, match, pattern, flags, ...: the regex's own
        return getattr(self._compiled, name)


class ScreenedRegex(_InWindows):
    """A compiled pattern regex whose ``finditer`` over a whole text first looks for the pattern's screen; with a
    ``width`` (``WIDTHS``), it runs only in the windows around the screen's hits."""

    def __init__(self, compiled: Any, screen: re.Pattern[str], width: int | None = None) -> None:
        super().__init__(compiled)
        self.screen = screen
        self.width = width

    def windows(self, text: str) -> list[tuple[int, int]]:
        """Where the pattern can match in ``text``: the whole text when the screen finds something there, else
        nowhere; with a ``width``, around each hit of the screen, from ``width`` characters before it to ``width``
        after it and on to the next white space (or the text's end), overlapping windows merged.

        Every match holds a hit of the screen, and ``finditer`` reports a hit that starts where that one does or runs
        over its start: so a match, no longer than ``width``, lies in the window of a reported hit. In a window the
        regex module reads the text before its start as in the whole text (lookbehinds, ``\\b``), and a window ends
        where the whole text has white space, which the pattern reads after a match as it reads the text's end. A
        match is therefore found in a window exactly when it is found in the whole text.
        """
        if self.width is None:
            return [(0, len(text))] if self.screen.search(text) is not None else []
        out: list[tuple[int, int]] = []
        width, n, space = self.width, len(text), _SPACE.search
        for hit in self.screen.finditer(text):
            a, b = max(0, hit.start() - width), hit.end() + width
            if b < n:
                after = space(text, b)
                b = after.start() if after is not None else n
            else:
                b = n
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(b, out[-1][1]))
            else:
                out.append((a, b))
        return out


class WindowedRegex(_InWindows):
    """A compiled pattern regex whose ``finditer`` over a whole text runs only on the pieces between white space that
    hold ``char`` (``WINDOWS``). A piece ends at ASCII white space or at the text's ends: a word boundary there reads
    the same whether the regex stops at the piece's end or sees the space after it, and the regex module reads the
    text before a piece's start."""

    def __init__(self, compiled: Any, char: str) -> None:
        super().__init__(compiled)
        self.char = char

    def windows(self, text: str) -> list[tuple[int, int]]:
        """The pieces of ``text`` between ASCII white space that hold ``char``, in order."""
        out: list[tuple[int, int]] = []
        at = text.find(self.char)
        while at >= 0:
            start = max(text.rfind(c, 0, at) for c in _ASCII_SPACE) + 1
            ends = [e for e in (text.find(c, at) for c in _ASCII_SPACE) if e >= 0]
            end = min(ends) if ends else len(text)
            out.append((start, end))
            at = text.find(self.char, end)
        return out


def window_of(pattern: Any) -> str | None:
    """The character of a Presidio ``Pattern`` in ``WINDOWS`` (None when it has none)."""
    return WINDOWS.get((str(pattern.name), regex_hash(str(pattern.regex))))


def screen_recognizer(recognizer: Any) -> int:
    """Give ``recognizer``'s screened patterns their screens; returns how many were screened.

    - A pattern regex compiled by Presidio's ``PatternRecognizer`` (``pattern.compiled_regex``) is compiled
      here, with the recognizer's flags, behind its screen; the pattern objects are copies (Presidio's
      predefined recognizers share theirs, also with an analyzer that must run them as they are).
    - The IBAN recognizer runs ``pattern.regex`` itself: when its every pattern is screened, it answers no
      result at once when no screen finds anything in the text.
    """
    from presidio_analyzer import pattern_recognizer

    engine: Any = getattr(pattern_recognizer, "re")  # the regex module Presidio compiles its patterns with

    patterns = list(getattr(recognizer, "patterns", None) or [])
    screens = [screen_of(p) for p in patterns]
    windows = [window_of(p) for p in patterns]
    if not any(screens) and not any(windows):
        return 0
    flags = recognizer.global_regex_flags
    copies = []
    for pattern, screen, window in zip(patterns, screens, windows):
        if screen is not None or window is not None:
            pattern = copy.copy(pattern)
            compiled = engine.compile(pattern.regex, flags=flags)
            pattern.compiled_regex = ScreenedRegex(compiled, screen, width_of(pattern)) if screen is not None else WindowedRegex(compiled, str(window))
            pattern.compiled_with_flags = flags
        copies.append(pattern)
    recognizer.patterns = copies
    # Presidio's own analyze runs the screened copies; one that runs ``pattern.regex`` itself is screened here.
    if all(screens) and type(recognizer).analyze in _analyzes_of_regex_text():
        plain = recognizer.analyze
        every = [s for s in screens if s is not None]

        def analyze(text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: Any = None) -> list[Any]:
            if isinstance(text, str) and not any(s.search(text) for s in every):
                return []
            found: list[Any] = plain(text, entities, nlp_artifacts, regex_flags)
            return found

        recognizer.analyze = analyze
    return sum(1 for s, w in zip(screens, windows) if s is not None or w is not None)


def _analyzes_of_regex_text() -> tuple[Any, ...]:
    """``analyze`` methods whose results come only from running each ``pattern.regex`` (not ``compiled_regex``)."""
    try:
        from presidio_analyzer.predefined_recognizers import IbanRecognizer
    except ImportError:
        return ()
    return (IbanRecognizer.analyze,)
