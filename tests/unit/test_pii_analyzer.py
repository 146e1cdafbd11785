"""The shared Presidio analyzer: built for the asked entities only, tokenizing only when needed, same findings."""

from __future__ import annotations

from typing import Any

import pytest

from guardrails.filters.pii import DEFAULT_ENTITIES
from guardrails.pii_analyzer import TAGGER_ENTITIES, build_analyzer
from tests.helpers.pii_cases import load_cases
from tests.unit.test_pii_phone import HAND_WRITTEN, random_texts, shared_texts

MORE = [
    "My SSN is 536-22-8726 and my ssn number again 078-05-1120; passport 912803456",
    "IBAN GB82 WEST 1234 5698 7654 32, card 4111 1111 1111 1111, mac 00:1A:2B:3C:4D:5E",
    "Server 192.168.1.20 and 2001:db8::ff00:42:8329; visit https://example.com/a?b=1 or mail a.b@example.org",
    "Driver license D1234567, bank account 123456789012, ITIN 912-70-1234, NHS 943 476 5919, NINO AB123456C",
    "Medical license BM1234567 and DEA number AB1234563 of Dr Smith; btc 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    "Ruf mich an unter 030 1234567 oder schreib an max@beispiel.de; Kreditkarte 5555 5555 5555 4444",
]
ASKED = [DEFAULT_ENTITIES, ("CREDIT_CARD",), ("PHONE_NUMBER", "US_SSN", "URL", "UK_NHS", "DATE_TIME", "PERSON")]


def eager(analyzer: Any, text: str) -> Any:
    """Presidio's own NLP artifacts (every text tokenized up front), as SpacyNlpEngine makes them."""
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    return SpacyNlpEngine.process_text(analyzer.nlp_engine, text, "en")


def found(analyzer: Any, text: str, entities: tuple[str, ...], artifacts: Any = None) -> list[tuple[str, int, int, float]]:
    results = analyzer.analyze(text, language="en", entities=list(entities), score_threshold=0.01, nlp_artifacts=artifacts)
    return sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in results)


@pytest.fixture(scope="module")
def full() -> Any:
    return build_analyzer(("en",), None, True, None)


@pytest.mark.parametrize("asked", ASKED, ids=lambda a: f"{len(a)}-entities")
def test_restricted_analyzer_finds_what_the_full_registry_finds(full: Any, asked: tuple[str, ...]) -> None:
    part = build_analyzer(("en",), None, True, frozenset(asked))
    extra = TAGGER_ENTITIES if TAGGER_ENTITIES & set(asked) else frozenset()  # the tagger finds both or neither
    assert set(part.get_supported_entities("en")) == set(asked) | extra
    assert len(part.registry.recognizers) < len(full.registry.recognizers)
    texts = HAND_WRITTEN + MORE + [c.text for c in load_cases()] + random_texts(100) + shared_texts()
    differ = [t for t in texts if found(part, t, asked) != found(full, t, asked, eager(full, t))]
    assert differ == []
    assert sum(1 for t in texts if found(part, t, asked)) >= 4  # not vacuous, also without ../shared/data


def test_text_without_a_match_is_not_tokenized(full: Any) -> None:
    calls: list[str] = []
    pipeline = full.nlp_engine.nlp["en"]

    class Counting:
        def __call__(self, text: str) -> Any:
            calls.append(text)
            return pipeline(text)

        def __getattr__(self, name: str) -> Any:
            return getattr(pipeline, name)

    full.nlp_engine.nlp["en"] = Counting()
    try:
        assert found(full, "nothing personal in here, just prose", DEFAULT_ENTITIES) == []
        assert calls == []
        # A weak SSN match needs its context words ("ssn"): tokenized then, and the score raised.
        assert found(full, "my ssn 536-22-8726", ("US_SSN",))[0][3] > found(full, "my id 536-22-8726", ("US_SSN",))[0][3]
        assert calls == ["my ssn 536-22-8726"]  # no SSN context word in the other text: nothing to look around
    finally:
        full.nlp_engine.nlp["en"] = pipeline


def test_pattern_validation_is_back_after_presidio_imports() -> None:
    """Presidio's own patterns skip the compile check while it imports (start-up); patterns built later keep it."""
    from guardrails.pii_analyzer import import_presidio

    import_presidio()
    from presidio_analyzer import Pattern

    with pytest.raises(ValueError, match="Invalid regex"):
        Pattern("broken", "(unclosed", 0.5)
