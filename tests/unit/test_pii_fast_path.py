"""The pii filter's fast path (shared phone candidates, plausible-only phone parsing, context read around each
match) gives the findings and scores of Presidio's own recognizer and enhancer on the whole text's tokens."""

from __future__ import annotations

import functools
import random
from typing import Any

import pytest

from guardrails import Context
from guardrails.filters.pii import DEFAULT_ENTITIES, PiiFilter
from guardrails.pii_analyzer import PATTERN_ENTITIES, build_analyzer
from tests.helpers.pii_cases import load_cases
from tests.helpers.pii_reference import pii_filter
from tests.unit.test_pii_analyzer import MORE
from tests.unit.test_pii_phone import HAND_WRITTEN, random_texts, shared_texts

# Context words near and far, colons (a keyword can come from "word:" elsewhere), runs of spaces and newlines,
# stopwords between a context word and its match, matches at the very start and end.
CONTEXT_CASES = [
    "ssn 536228726",
    "536228726 is my ssn",
    "the:ssn of it is 536228726 and :the ssn: 078051120",
    "Phone:  212 555 0199\n\nMobile:\t(212) 555-0198 \n call 0171 2345678",
    "my ssn , which is the one that I gave you before , was 536228726 or so",
    "account " + "the " * 40 + "12345678 and acct: 87654321",
    "ip:10.0.0.1 " + "x " * 200 + "and passport number 912803456",
    "Mail jane.roe@example.org or call +44 20 7946 0958, card 4111 1111 1111 1111.",
]
# Near-misses and hits of the screened pattern regexes (guardrails.pii_pattern_screen): IPv6 forms, NINOs, IBANs,
# DEA numbers, passports, licences, MAC addresses, SSN forms, crypto wallets, cards; and the phone forms whose
# national reading fits no region's pattern (nine and sixteen digits after a phone word).
SCREEN_CASES = [
    "hosts fe80::1%eth0, ::1, 2001:db8::8a2e:370:7334, 1:2:3:4:5:6:7:8, ::ffff:10.0.0.1 and 64:ff9b::192.0.2.33 at 10:30",
    "NI number AB 12 34 56 C, QQ123456C, ab123456d; IBAN GB82 WEST 1234 5698 7654 32 and DE89370400440532013000 x",
    "DEA AB1234563, passport 912803456 or C03005988, driver license A1234567 / 12ABC34567 / A-Z]]123, lic 123456",
    "mac 00:1a:2b:3c:4d:5e, 00-1A-2B-3C-4D-5E, 001a.2b3c.4d5e; ssn 123-45-6789, 123 45 6789, 12345-6789, 123-456789",
    "wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT, card 4111-1111-1111-1111, acct 12345678901, itin 912-70-1234",
    "mobile 723 813 266, number 4081080225434352, tel 2025550199, (212) 555-0199, 0171 2345678, +49 30 901820",
]
ID_PARTS = "AB GB QQ X H V 9 1 3 :: : - . / ] fe80 ffff 10.0.0.1 0x DEA ssn iban mac tel".split()


def id_soup(n: int, seed: int = 5) -> list[str]:
    """Letters, digit runs, colons, hyphens and dots run together, as identifiers are written (seeded)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 30)):
            parts.append(rng.choice(ID_PARTS) if rng.random() < 0.4 else "".join(rng.choice("0123456789abcdefAB") for _ in range(rng.randint(1, 18))))
            parts.append(rng.choice(["", "", " ", "-", ":", "."]))
        out.append("".join(parts))
    return out


WORDS = (
    "ssn social security card phone tel call me on number : the a of order id ref acct no. ip ( ) + - . / , x ext "
    "00 011 +1 +44 passport driver license account bank : :: \n  the:x"
).split(" ")


def soup(n: int, seed: int = 11) -> list[str]:
    """Digit runs of every length among context words, stopwords, colons and separators (seeded)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 50)):
            kind = rng.random()
            if kind < 0.4:
                parts.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 22))))
            elif kind < 0.8:
                parts.append(rng.choice(WORDS))
            parts.append(rng.choice([" ", " ", "-", ".", "  ", "\n", ""]))
        out.append("".join(parts))
    return out


def joined(texts: list[str], size: int = 1000, n: int = 20) -> list[str]:
    """Texts of about ``size`` characters made of the given ones, as the benchmark builds them."""
    rng = random.Random(size)
    out = []
    for _ in range(n if texts else 0):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < size:
            parts.append(rng.choice(texts))
        out.append(" ".join(parts))
    return out


def all_texts() -> list[str]:
    cases = [c.text for c in load_cases()]
    base = HAND_WRITTEN + MORE + CONTEXT_CASES + SCREEN_CASES + cases + random_texts(100) + soup(150) + id_soup(150) + shared_texts()
    return list(dict.fromkeys(base + joined(shared_texts() or cases + MORE + CONTEXT_CASES)))


def outcome(flt: PiiFilter, text: str) -> tuple[list[Any], list[tuple[str, float]]]:
    result = flt.check(text, Context())
    findings = sorted((f.category, f.score, tuple((s.start, s.end) for s in f.spans)) for f in result.findings)
    return findings, sorted(result.scores.items())


@functools.cache
def english_entities() -> list[str]:
    """Every pattern entity with an English recognizer (some are for other languages only)."""
    return sorted(PATTERN_ENTITIES & set(build_analyzer(("en",), None, False, None).get_supported_entities("en")))


ENTRIES = {
    "default": {},
    "names": {"entities": [*DEFAULT_ENTITIES, "PERSON", "LOCATION"]},
    "low-phone-threshold": {"thresholds": {"PHONE_NUMBER": 0.05, "US_BANK_NUMBER": 0.02}},
    "high-threshold": {"threshold": 0.6},
}


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES.values(), ids=list(ENTRIES))
def test_filter_findings_and_scores_match_presidio_reference(entry: dict[str, Any]) -> None:
    reference, fast = pii_filter(entry, True), pii_filter(entry, False)
    assert type(fast._analyzer.context_aware_enhancer).__name__ == "WindowedContextEnhancer"
    assert type(reference._analyzer.context_aware_enhancer).__name__ == "LemmaContextAwareEnhancer"
    # Entities reported only next to a context word are not looked for in a text without one of their words
    # (none with a threshold of 0.02: bank numbers score 0.05, driver licences up to 0.3 on their own).
    gated = set(fast._gated["en"]) if fast._gated else set()
    assert gated == set() if "thresholds" in entry else {"US_DRIVER_LICENSE", "US_PASSPORT"} <= gated
    got = {t: outcome(fast, t) for t in all_texts()}
    assert [t for t, out in got.items() if outcome(reference, t) != out] == []
    # Not vacuous: phone numbers found, and scores raised by context words.
    assert sum(1 for findings, _ in got.values() if any(f[0] == "PHONE_NUMBER" for f in findings)) >= 10
    # Bare 9-digit runs (0.05), bank numbers (0.05) and passports (0.1) reach 0.4 only by a context word before them,
    # one of them forty stopwords away; phone numbers go from 0.4 to 0.75.
    boosted = {(f[0], f[1]) for t in CONTEXT_CASES for f in got[t][0]}
    expected = {("US_SSN", 0.4), ("US_BANK_NUMBER", 0.4), ("US_PASSPORT", 0.4), ("PHONE_NUMBER", 0.75)}
    assert {e for e in expected if e[1] >= entry.get("threshold", 0.4)} <= boosted


@pytest.fixture(scope="module")
def analyzers() -> tuple[Any, Any]:
    everything = frozenset(english_entities())
    return build_analyzer(("en",), None, True, everything, reference=True), build_analyzer(("en",), None, True, everything)


@pytest.mark.slow
def test_analyzer_results_match_presidio_reference(analyzers: tuple[Any, Any]) -> None:
    """Every English pattern entity, without the filter's plausible-only hint: the analyzer's own results
    (all scores down to 0.01) are Presidio's."""
    reference, fast = analyzers

    def found(analyzer: Any, text: str) -> list[tuple[str, int, int, float]]:
        results = analyzer.analyze(text, language="en", entities=english_entities(), score_threshold=0.01)
        return sorted((r.entity_type, r.start, r.end, r.score) for r in results)

    texts = HAND_WRITTEN + MORE + CONTEXT_CASES + SCREEN_CASES + [c.text for c in load_cases()] + soup(100) + id_soup(150) + shared_texts()
    assert [t for t in texts if found(reference, t) != found(fast, t)] == []
    assert sum(1 for t in texts if any(r[3] < 0.4 for r in found(fast, t))) > 20  # weak matches compared too
    # Every screened pattern's entity is found somewhere (the screens let their matches through).
    screened = {"IP_ADDRESS", "UK_NINO", "IBAN_CODE", "MEDICAL_LICENSE", "US_PASSPORT", "US_DRIVER_LICENSE", "MAC_ADDRESS",
                "US_SSN", "US_BANK_NUMBER", "CRYPTO", "CREDIT_CARD"}
    assert screened <= {r[0] for t in SCREEN_CASES for r in found(fast, t)}


def test_context_words_read_around_a_match_are_the_whole_texts(analyzers: tuple[Any, Any]) -> None:
    """Every position of tricky texts: the stretch tokenized around it yields Presidio's surrounding words."""
    _, fast = analyzers
    enhancer = fast.context_aware_enhancer
    engine = fast.nlp_engine
    texts = CONTEXT_CASES + soup(40, seed=3) + ["  leading spaces: ssn 1", "a\u00a0b  c\t:d: e\n\nf", "x" * 300 + " 12", "ssn " + "9" * 400 + " 536228726"]
    checked = windowed = 0
    for text in texts:
        whole = engine._tokenize(text, "en")
        for start in sorted({t.idx for t in whole.tokens} | {len(text) // 2}):
            if start >= len(text) or text[start].isspace():
                continue
            lazy = engine.process_text(text, "en")
            got = enhancer._extract_surrounding_words(lazy, "", start)
            expected = enhancer._extract_surrounding_words(whole, "", start)
            assert sorted(got) == sorted(expected), (text, start)
            checked += 1
            windowed += lazy._done is None  # read from a stretch, the whole text not tokenized
    assert checked > 500 and windowed > 300  # short texts are tokenized whole (as cheap)


def test_a_context_word_out_of_reach_is_never_one_presidio_reads(analyzers: tuple[Any, Any]) -> None:
    """Where ``may_be_near`` rules a recognizer's context words out around a match, none of them is part of the
    keywords Presidio reads around it in the whole text's tokens; and it does rule them out often."""
    from presidio_analyzer import PatternRecognizer

    _, fast = analyzers
    enhancer = fast.context_aware_enhancer
    engine = fast.nlp_engine
    words_of = [r.context for r in fast.registry.recognizers if isinstance(r, PatternRecognizer) and r.context]
    rng = random.Random(11)
    fillers = ("the of and a to is - , ; ( ) : cannot don't gonna I'm it's e-mail 12 345-67 x9 Über café naïve "
               "order ref no. ok yes here there\n \t").split(" ")
    texts = CONTEXT_CASES + soup(60, seed=4) + [
        " ".join(rng.choice(fillers + ["phone", "ssn", "account", "license", "passport", "card"]) for _ in range(rng.randint(5, 60)))
        for _ in range(150)
    ]
    ruled_out = 0
    for text in texts:
        whole = engine._tokenize(text, "en")
        for start in sorted({t.idx for t in whole.tokens}):
            if text[start].isspace():
                continue
            lazy = engine.process_text(text, "en")
            read = enhancer._extract_surrounding_words(whole, "", start)
            for words in words_of:
                if not lazy.may_be_near(start, start + 1, words, enhancer.context_prefix_count + 1, enhancer.context_suffix_count + 1):
                    ruled_out += 1
                    assert not enhancer._find_supportive_word_in_context(read, words), (text, start, words)
    assert ruled_out > 2000


def test_word_segmenting_languages_use_the_whole_texts_tokens() -> None:
    """Chinese is segmented by its own tokenizer, not cut at whitespace: no stretches, no context gating."""
    from guardrails.pii_analyzer import context_gated, lemmas_are_words

    analyzer = build_analyzer(("en", "zh"), None, True, frozenset({"PHONE_NUMBER", "US_DRIVER_LICENSE"}))
    assert lemmas_are_words(analyzer, "en") and not lemmas_are_words(analyzer, "zh")
    assert context_gated(analyzer, "zh", ["US_DRIVER_LICENSE"], 0.4) == {}
    assert set(context_gated(analyzer, "en", ["US_DRIVER_LICENSE"], 0.4)) == {"US_DRIVER_LICENSE"}
    text = "我的电话是 212-555-0199，请打电话 " + "很好 " * 100
    lazy = analyzer.nlp_engine.process_text(text, "zh")
    assert lazy.around(text.index("212"), 6, 1) is lazy._done is not None


def test_a_recognizer_with_its_own_context_step_gets_its_results_and_the_others_as_presidio_gives_them() -> None:
    """The fast analyzer groups results by recognizer once; a recognizer that overrides enhance_using_context
    still gets its own results and every other recognizer's, as Presidio's AnalyzerEngine passes them."""
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer

    seen: list[tuple[list[str], list[str]]] = []

    class Boosting(PatternRecognizer):
        def enhance_using_context(self, text: str, raw_recognizer_results: list[Any], other_raw_recognizer_results: list[Any],
                                  nlp_artifacts: Any, context: Any = None) -> list[Any]:
            seen.append((sorted(r.entity_type for r in raw_recognizer_results), sorted(r.entity_type for r in other_raw_recognizer_results)))
            for r in raw_recognizer_results:
                r.score = min(1.0, r.score + 0.1 * len(other_raw_recognizer_results))
            return raw_recognizer_results

    text = "Ticket T-1234 and T-5678 from jane@example.org, call 212 555 0199 or bob@example.com"
    entities = ["TICKET", "EMAIL_ADDRESS", "PHONE_NUMBER"]
    found = []
    for stock in (False, True):
        analyzer = build_analyzer(("en",), None, True, frozenset({"EMAIL_ADDRESS", "PHONE_NUMBER"}))
        assert type(analyzer) is not AnalyzerEngine
        if stock:
            analyzer.__class__ = AnalyzerEngine
        analyzer.registry.add_recognizer(Boosting(supported_entity="TICKET", patterns=[Pattern("ticket", r"\bT-\d{4}\b", 0.3)]))
        found.append(sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in analyzer.analyze(text, language="en", entities=entities)))
    assert found[0] == found[1]
    assert seen[0] == seen[1] == (["TICKET", "TICKET"], ["EMAIL_ADDRESS", "EMAIL_ADDRESS", "PHONE_NUMBER"])
    assert [s for e, _, _, s in found[0] if e == "TICKET"] == [pytest.approx(0.6), pytest.approx(0.6)]
