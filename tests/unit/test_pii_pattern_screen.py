"""Per-pattern screens (guardrails.pii_pattern_screen): each finds something in every match of its pattern."""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrails.pii_analyzer import build_analyzer, import_presidio
from guardrails.pii_pattern_screen import SCREENS, WIDTHS, WINDOWS, ScreenedRegex, WindowedRegex, regex_hash, screen_of, width_of, window_of
from tests.unit.test_pii_fast_path import english_entities


@functools.cache
def screened_patterns() -> dict[tuple[str, str], tuple[Any, Any]]:
    """(name, hash) -> (Presidio's Pattern, its recognizer) for every screened pattern of the English recognizers."""
    analyzer = build_analyzer(("en",), None, False, frozenset(english_entities()), reference=True)
    out = {}
    for rec in analyzer.registry.recognizers:
        for p in getattr(rec, "patterns", None) or []:
            key = (p.name, regex_hash(p.regex))
            if key in SCREENS or key in WINDOWS:
                out[key] = (p, rec)
    return out


def test_every_screen_belongs_to_a_pattern_of_this_presidio() -> None:
    """A Presidio release that changes a screened regex leaves it unscreened: this says which to look at again."""
    assert sorted(set(SCREENS) - set(screened_patterns())) == []
    assert sorted(set(WINDOWS) - set(screened_patterns())) == []
    assert sorted(set(WIDTHS) - set(SCREENS)) == []  # a width belongs to a screened pattern


@pytest.mark.parametrize("key", sorted(SCREENS), ids=[k[0] for k in sorted(SCREENS)])
def test_screen_finds_something_in_every_match_of_its_pattern(key: tuple[str, str]) -> None:
    import_presidio()
    from presidio_analyzer import pattern_recognizer

    pattern, rec = screened_patterns()[key]
    engine: Any = getattr(pattern_recognizer, "re")
    compiled = engine.compile(pattern.regex, flags=rec.global_regex_flags)
    screen = re.compile(SCREENS[key])
    # Strings the pattern matches (case-insensitively, as Presidio runs it), inside random surroundings.
    generated = st.from_regex(re.compile(pattern.regex, re.IGNORECASE), fullmatch=True)
    around = st.text(alphabet="aZ09 :-._/\u0130\u0131\u017f\u212a\u0661", max_size=4)

    @settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(before=around, value=generated, after=around)
    def check(before: str, value: str, after: str) -> None:
        text = before + value + after
        for m in compiled.finditer(text):
            if m.group():
                assert screen.search(m.group()), (key[0], m.group())

    check()
    # Not vacuous: the pattern matches what it generates, the screen finds those.
    assert any(compiled.search(v) for v in ["fe80::1", "AB 12 34 56 C", "GB82WEST12345698765432", "AB1234567",
                                            "912345678", "X12345678", "A1234", "123456", "00:1a:2b:3c:4d:5e",
                                            "12345-6789", "123-456789", "123-45-6789", "123 45 6789", "12345678",
                                            "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "4111 1111 1111 1111",
                                            "::ffff:10.0.0.1", "64:ff9b::10.0.0.1"])


def test_letter_class_holds_every_letter_presidios_case_insensitive_classes_match() -> None:
    import_presidio()
    from presidio_analyzer import pattern_recognizer

    from guardrails.pii_pattern_screen import _LETTER

    engine: Any = getattr(pattern_recognizer, "re")
    flags = engine.IGNORECASE | engine.MULTILINE | engine.DOTALL
    letter = re.compile(_LETTER)
    for cls in ("[A-Z]", "[a-z]", "[a-ceghj-pr-tw-zA-CEGHJ-PR-TW-Z]"):
        compiled = engine.compile(cls, flags)
        assert [hex(i) for i in range(0x110000) if compiled.fullmatch(chr(i)) and not letter.fullmatch(chr(i))] == []


def test_fast_analyzer_runs_screened_copies_and_the_reference_presidios_own() -> None:
    fast = build_analyzer(("en",), None, False, frozenset({"IP_ADDRESS", "IBAN_CODE"}))
    reference = build_analyzer(("en",), None, False, frozenset({"IP_ADDRESS", "IBAN_CODE"}), reference=True)

    def ip(analyzer: Any) -> Any:
        return next(r for r in analyzer.registry.recognizers if "IP_ADDRESS" in r.supported_entities)

    fast_ipv6 = next(p for p in ip(fast).patterns if p.name == "IPv6")
    assert isinstance(fast_ipv6.compiled_regex, ScreenedRegex)
    assert not any(isinstance(p.compiled_regex, ScreenedRegex) for p in ip(reference).patterns)
    text = "host fe80::1%eth0 and 10.0.0.1, iban GB82 WEST 1234 5698 7654 32"
    found = {a: sorted((r.entity_type, r.start, r.end, r.score) for r in a.analyze(text, language="en")) for a in (fast, reference)}
    assert found[fast] == found[reference] and {e for e, *_ in found[fast]} == {"IP_ADDRESS", "IBAN_CODE"}
    assert fast.analyze("no addresses here: 12.5 and 3:4", language="en", entities=["IBAN_CODE"]) == []
    assert isinstance(fast_ipv6.compiled_regex, ScreenedRegex)  # Presidio did not compile it again (same flags)


def test_a_changed_regex_is_not_screened() -> None:
    import_presidio()
    from presidio_analyzer import Pattern

    assert screen_of(Pattern("IPv6", r"(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}", 0.6)) is None
    assert screen_of(Pattern("IPv6_renamed", "x", 0.6)) is None


def _same_spans_on_generated_texts(regex: str, compiled: Any, windowed: Any, alphabet: str, longest: int, gaps: list[str],
                                   parts: int) -> None:
    """``windowed`` finds the spans ``compiled`` finds on 300 texts: up to ``parts`` strings the pattern matches or
    pieces of ``alphabet`` (up to ``longest`` characters), each after one of ``gaps``."""
    generated = st.from_regex(re.compile(regex, re.IGNORECASE), fullmatch=True)
    piece = st.text(alphabet=alphabet, max_size=longest)
    gap = st.sampled_from(gaps)

    @settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(items=st.lists(st.tuples(gap, st.one_of(generated, piece)), max_size=parts), end=gap)
    def check(items: list[tuple[str, str]], end: str) -> None:
        text = "".join(g + v for g, v in items) + end
        whole = [m.span() for m in compiled.finditer(text, timeout=5)]
        assert [m.span() for m in windowed.finditer(text, timeout=5)] == whole, text

    check()


@pytest.mark.parametrize("key", sorted(WINDOWS), ids=[k[0] for k in sorted(WINDOWS)])
def test_a_windowed_pattern_finds_what_it_finds_in_the_whole_text(key: tuple[str, str]) -> None:
    """Run on the pieces between white space that hold its character, the pattern finds the same spans as on the
    whole text: also where a piece touches the text's ends, holds several of the characters, or sits next to
    punctuation, other scripts and other white space."""
    import_presidio()
    from presidio_analyzer import pattern_recognizer

    pattern, rec = screened_patterns()[key]
    engine: Any = getattr(pattern_recognizer, "re")
    compiled = engine.compile(pattern.regex, flags=rec.global_regex_flags)
    windowed = WindowedRegex(compiled, WINDOWS[key])
    gaps = ["", " ", "\t", "\n", "\u00a0", "\u3000", ", ", "; ", "<", ">", "(", ")", '"']
    _same_spans_on_generated_texts(pattern.regex, compiled, windowed, "aZ09@.-_+'!x\u00e9\u0661\u200b", 6, gaps, 5)
    texts = ["mail a.b@example.org, or c@d.co.uk\tnow", "x@y.com", "@", "a@b", "no at sign here", "\u00a0me@x.org\u00a0",
             "first@one.org@two.org third@three.org", "(bob@mail.com) <eve@e.io>"]
    for text in texts:
        assert [m.span() for m in windowed.finditer(text)] == [m.span() for m in compiled.finditer(text)], text
    assert sum(1 for t in texts for _ in compiled.finditer(t)) >= 6  # not vacuous


def test_the_fast_analyzer_runs_the_email_pattern_on_pieces_with_an_at_sign() -> None:
    fast = build_analyzer(("en",), None, False, frozenset({"EMAIL_ADDRESS"}))
    email = next(r for r in fast.registry.recognizers if "EMAIL_ADDRESS" in r.supported_entities)
    assert all(isinstance(p.compiled_regex, WindowedRegex) for p in email.patterns)
    assert window_of(email.patterns[0]) == "@"
    text = "write to ana.lopez@correo.es or to bob@example.org;thanks"
    assert sorted((r.start, r.end) for r in fast.analyze(text, language="en", entities=["EMAIL_ADDRESS"])) == [(9, 28), (35, 50)]


def _regex_width(regex: str) -> int:
    """The longest match of ``regex`` by stdlib's own parser (``re._parser`` from Python 3.11, ``sre_parse`` before)."""
    try:
        from re import _parser as parser  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_parse as parser
    return int(parser.parse(regex).getwidth()[1])


@pytest.mark.parametrize("key", sorted(WIDTHS), ids=[k[0] for k in sorted(WIDTHS)])
def test_a_pattern_run_in_windows_finds_what_it_finds_in_the_whole_text(key: tuple[str, str]) -> None:
    """Its width is its regex's longest match, and run in the windows around its screen's hits, the pattern finds the
    same spans as on the whole text: with matches side by side, near-misses, hits without a match, other scripts and
    every kind of white space between them."""
    import_presidio()
    from presidio_analyzer import pattern_recognizer

    pattern, rec = screened_patterns()[key]
    assert WIDTHS[key] == _regex_width(pattern.regex)
    engine: Any = getattr(pattern_recognizer, "re")
    compiled = engine.compile(pattern.regex, flags=rec.global_regex_flags)
    windowed = ScreenedRegex(compiled, re.compile(SCREENS[key]), WIDTHS[key])
    gaps = ["", " ", "\t", "\n", "\u00a0", "\u3000", ", ", "-", ".", "(", ")", "a", "7"]
    _same_spans_on_generated_texts(pattern.regex, compiled, windowed, "aZx09]-:. \u0130\u212a\u0661", 12, gaps, 6)
    texts = ["AB 12 34 56 C and CD123456D, JG 10 37 51 A PR123456B", "licence A1234567 or 12345678, passport 912345678 / X12345678",
             "DEA AB1234567 BC9123456 987654321", "a1 b22 c333 d4444 e55555 f666666 g7777777 h88888888 i999999999",
             "123456789012345678901234567890", "\u00a0Z12345678\u00a0", "A-Z]]12345 and A123B45C6"]
    for text in texts:
        assert [m.span() for m in windowed.finditer(text)] == [m.span() for m in compiled.finditer(text)], text
    assert sum(1 for t in texts for m in compiled.finditer(t) if m.group()) >= 2  # not vacuous


def test_the_fast_analyzer_runs_patterns_with_a_width_in_windows() -> None:
    fast = build_analyzer(("en",), None, False, frozenset({"US_PASSPORT", "US_DRIVER_LICENSE"}))
    patterns: list[Any] = [p for r in fast.registry.recognizers for p in getattr(r, "patterns", None) or []]
    windowed = [p for p in patterns if isinstance(p.compiled_regex, ScreenedRegex) and p.compiled_regex.width]
    assert {p.name for p in windowed} >= {"Passport (very weak)", "Driver License - Digits (very weak)"}
    assert all(p.compiled_regex.width == width_of(p) for p in windowed)
    text = "passport 912345678, licence A1234567; order 1234 5678 9012"
    passport = next(p for p in windowed if p.name == "Passport (very weak)")
    assert passport.compiled_regex.windows(text) == [(0, 27)]  # one hit (9-18): from 9 before it (0) to 9 after it, a space
    assert [m.span() for m in passport.compiled_regex.finditer(text)] == [(9, 18)]
