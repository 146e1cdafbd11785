"""Per-pattern screens: a cheap regex that every match of one of Presidio's pattern regexes contains.

Presidio runs each recognizer's regexes with the ``regex`` package over the whole text, tens of
microseconds each on 1,000 characters even where nothing matches (the IPv6, UK NINO and IBAN regexes
above all). Each screen here is a short stdlib regex that finds something in every match of the
pattern it belongs to (``\\w`` and ``[^\\W\\d_]`` stand for the pattern's hex digits and letters, so case
folding cannot make the pattern match where the screen does not). When the screen finds nothing in
a text, the pattern cannot match there and is not run; otherwise the pattern runs as Presidio runs it.

A screen is tied to its pattern by name and by a hash of the regex text: a Presidio release that
changes a regex leaves that pattern unscreened (run as it is). tests/unit/test_pii_pattern_screen.py
checks every screen against strings generated from its pattern, and tests/unit/test_pii_fast_path.py
compares the filter's findings with Presidio's own.
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any, Iterator

_LETTER = r"[^\W\d_]"
# (pattern name, first 16 hex digits of sha256 of its regex) -> a regex every match of that pattern contains.
SCREENS: dict[tuple[str, str], str] = {
    ("IPv6", "c4f79b73053cd5f0"): r"::|\w:\w",  # eight groups (h:h), or a "::" compression
    ("IPv4_mapped", "5def597d3b4dac73"): r"::",
    ("IPv4_embedded", "66197b1f8e63cd27"): r":\d{1,3}\.",  # a colon right before the IPv4 part
    ("NINO (medium)", "21f524c59171e715"): rf"\d\d ?\d\d ?\d\d ?{_LETTER}",
    ("IBAN Generic", "1f98697e78e08d67"): rf"{_LETTER}{{2}}\d\d",
    ("USA DEA Certificate Number (weak)", "8b00da21c7ca480a"): rf"{_LETTER}\d{{7}}",
    ("Passport (very weak)", "31cb23903d565134"): r"\d{9}",
    ("Passport Next Generation (very weak)", "a4aad820a6663d66"): rf"{_LETTER}\d{{8}}",
    # Every alternative has a letter next to a digit, except the literal "A-Z]]" one (a "]" before digits).
    ("Driver License - Alphanumeric (weak)", "ab1eb0b240f24580"): rf"{_LETTER}\d|\d{_LETTER}|\]\d",
    ("Driver License - Digits (very weak)", "03317c267dbb76a2"): r"\d{6}",
    ("MAC_COLON_OR_HYPHEN", "a101077778af2f88"): r"\w\w[:-]\w\w[:-]\w\w[:-]\w\w[:-]\w\w[:-]\w\w",
    ("SSN1 (very weak)", "17f1d935dc2f3eff"): r"\d{5}-\d{4}",
    ("SSN2 (very weak)", "75527eba59550d4d"): r"\d{3}-\d{6}",
    ("SSN3 (very weak)", "213ac080713cf308"): r"\d{3}-\d\d-\d{4}",
    ("SSN4 (very weak)", "4e6bd6618bc9dd32"): r"\d{9}",
    ("SSN5 (medium)", "f2721d631f6158ff"): r"\d{3}[- .]\d\d[- .]\d{4}",
    ("Bank Account (weak)", "77ff5492baf67207"): r"\d{8}",
    ("Crypto (Medium)", "9d9a993fd6aee894"): r"[13]\w{25}",
    ("All Credit Cards (weak)", "f619fa242c932c37"): r"\d{4}[- ]?\d{3}",
}


def regex_hash(regex: str) -> str:
    return hashlib.sha256(regex.encode()).hexdigest()[:16]


def screen_of(pattern: Any) -> re.Pattern[str] | None:
    """The screen of a Presidio ``Pattern`` (None when it has none, e.g. its regex is not the one screened)."""
    screen = SCREENS.get((str(pattern.name), regex_hash(str(pattern.regex))))
    return re.compile(screen) if screen is not None else None


class ScreenedRegex:
    """A compiled pattern regex whose ``finditer`` over a whole text first looks for the pattern's screen."""

    def __init__(self, compiled: Any, screen: re.Pattern[str]) -> None:
        self._compiled = compiled
        self.screen = screen

    def finditer(self, text: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        if not args and isinstance(text, str) and self.screen.search(text) is None:
            return iter(())
        found: Iterator[Any] = self._compiled.finditer(text, *args, **kwargs)
        return found

    def __getattr__(self, name: str) -> Any:  # search, match, pattern, flags, ...: the regex's own
        return getattr(self._compiled, name)


def screen_recognizer(recognizer: Any) -> int:
    """Give ``recognizer``'s screened patterns their screens; returns how many were screened.

    - A pattern regex compiled by Presidio's ``PatternRecognizer`` (``pattern.compiled_regex``) is compiled
      here, with the recognizer's flags, behind its screen; the pattern objects are copies (Presidio's
      predefined recognizers share theirs, also with an analyzer that must run them as they are).
    - A recognizer whose ``analyze`` is Presidio's plain one, or the IBAN recognizer's (which runs
      ``pattern.regex`` itself), and whose every pattern is screened, answers no result at once when no
      screen finds anything in the text.
    """
    from presidio_analyzer import PatternRecognizer, pattern_recognizer

    engine: Any = getattr(pattern_recognizer, "re")  # the regex module Presidio compiles its patterns with

    patterns = list(getattr(recognizer, "patterns", None) or [])
    screens = [screen_of(p) for p in patterns]
    if not any(screens):
        return 0
    flags = recognizer.global_regex_flags
    copies = []
    for pattern, screen in zip(patterns, screens):
        if screen is not None:
            pattern = copy.copy(pattern)
            pattern.compiled_regex = ScreenedRegex(engine.compile(pattern.regex, flags=flags), screen)
            pattern.compiled_with_flags = flags
        copies.append(pattern)
    recognizer.patterns = copies
    if all(screens) and type(recognizer).analyze in _plain_analyzes(PatternRecognizer):
        plain = recognizer.analyze
        every = [s for s in screens if s is not None]

        def analyze(text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: Any = None) -> list[Any]:
            if isinstance(text, str) and not any(s.search(text) for s in every):
                return []
            found: list[Any] = plain(text, entities, nlp_artifacts, regex_flags)
            return found

        recognizer.analyze = analyze
    return sum(1 for s in screens if s is not None)


def _plain_analyzes(pattern_cls: Any) -> tuple[Any, ...]:
    """The ``analyze`` methods whose results come only from the recognizer's patterns."""
    out = [pattern_cls.analyze]
    try:
        from presidio_analyzer.predefined_recognizers import IbanRecognizer

        out.append(IbanRecognizer.analyze)
    except ImportError:
        pass
    return tuple(out)
