"""The pii filter's screen: texts it lets skip Presidio are texts where Presidio finds nothing.

The screen (guardrails/pii_screen.py) claims that every match of a pattern entity contains one of a few
characters. These tests hold that claim against Presidio itself (the analyzer the filter builds) on
random texts made to come close to every pattern, on hand-written ones, and on ../shared/data's PII
rows when present; and check that the filter gives the same result with and without the screen.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from guardrails import Guard
from guardrails.filters.pii import DEFAULT_ENTITIES, PiiConfig, PiiFilter
from guardrails.pii_analyzer import shared_analyzer
from guardrails.pii_screen import NEEDS, entity_screen
from guardrails.types import Context, Stage

PII_ROWS = Path(__file__).resolve().parents[3] / "shared" / "data" / "pii.jsonl"
LANGUAGES = ("en", "de")

HAND_WRITTEN = [
    "hello", "no", "sure", "You're welcome!", "Thanks, that works.",
    "Call me at +1 212 555 0199 tomorrow", "mail jane@example.org", "card 4111 1111 1111 1111",
    "fe80::1ff:fe23:4567:890a", "::", "use :: as the prefix", "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF",
    "abcd.ef01.2345", "cafe.babe.face", "dead-beef", "DE89 3704 0044 0532 0130 00", "IBAN DE ab cd",
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "my ssn is 078-05-1120", "AB 12 34 56 C",
    "Anruf unter ０３０ １２３４５６７ bitte", "٠١٢٣٤٥٦٧٨٩ is a run of Arabic-Indic digits",
    "Ａｂｃ＠ｅｘａｍｐｌｅ．ｃｏｍ", "face.bead.cafe.dead", "ac:dc", "a-b-c-d-e-f",
]


def _analyze(text: str, language: str) -> list[object]:
    analyzer = shared_analyzer(LANGUAGES, None, True, frozenset(DEFAULT_ENTITIES))
    return list(analyzer.analyze(text, language=language, entities=list(DEFAULT_ENTITIES), score_threshold=0.0))


def _near_misses(seed: int, n: int) -> list[str]:
    """Texts of hex letters, separators and words: close to MAC, IPv6, e-mail and card shapes."""
    rng = random.Random(seed)
    alphabet = "abcdefABCDEF" * 4 + "xyzKLMNO" + "-.:  _/+%()" + "ſKİı"
    words = ["face", "cafe", "dead", "beef", "bad", "fee", "card", "ssn", "iban", "phone", "mail", "at", "dot"]
    out = []
    for _ in range(n):
        pieces = []
        for _ in range(rng.randint(1, 8)):
            if rng.random() < 0.3:
                pieces.append(rng.choice(words))
            else:
                pieces.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14))))
        out.append(rng.choice([" ", "", "-", ".", ":"]).join(pieces))
    return out


def _corpus() -> list[str]:
    texts = HAND_WRITTEN + _near_misses(0, 1500)
    if PII_ROWS.is_file():
        rows = [json.loads(line)["text"] for line in PII_ROWS.read_text(encoding="utf-8").splitlines() if line.strip()]
        texts += rows
        # The same rows with digits and '@' taken out: what is left must not be found either.
        texts += ["".join(c for c in t if not (c.isdigit() or c == "@")) for t in rows]
    return texts


def test_every_default_entity_has_a_screen() -> None:
    assert set(DEFAULT_ENTITIES) <= set(NEEDS)
    assert entity_screen(DEFAULT_ENTITIES) is not None
    # Entities found by other means (the name tagger, NER, custom recognizers) are never screened.
    assert entity_screen([*DEFAULT_ENTITIES, "PERSON"]) is None
    assert entity_screen(["EMPLOYEE_ID"]) is None


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_screened_out_text_is_one_presidio_finds_nothing_in(language: str) -> None:
    screen = entity_screen(DEFAULT_ENTITIES)
    assert screen is not None
    screened_out = [t for t in _corpus() if screen.search(t) is None]
    # Not vacuous: the corpus has many texts on both sides of the screen, and Presidio finds things in the others.
    assert len(screened_out) > 500
    found_elsewhere = [t for t in _corpus()[:40] if _analyze(t, language)]
    assert len(found_elsewhere) >= 8
    leaks = [t for t in screened_out if _analyze(t, language)]
    assert leaks == []


def test_each_entitys_screen_covers_its_own_matches() -> None:
    """Per entity: every match Presidio reports contains that entity's needed characters."""
    texts = [t for t in _corpus() if t]
    seen: set[str] = set()
    for text in texts[:600]:
        for r in _analyze(text, "en"):
            entity = r.entity_type  # type: ignore[attr-defined]
            value = text[r.start : r.end]  # type: ignore[attr-defined]
            assert entity_screen([entity]).search(value), (entity, len(value))  # type: ignore[union-attr]
            seen.add(entity)
    assert {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IP_ADDRESS", "MAC_ADDRESS"} <= seen


def test_the_filter_gives_the_same_result_with_and_without_the_screen() -> None:
    screened = PiiFilter(PiiConfig(filter="pii", languages=LANGUAGES))
    plain = PiiFilter(PiiConfig(filter="pii", languages=LANGUAGES))
    plain._screen = None  # the same filter, always running Presidio
    for filt in (screened, plain):
        filt.ensure_loaded()
    ctx = Context(stage=Stage.INPUT)
    texts = HAND_WRITTEN + _near_misses(1, 300)
    assert sum(screened.screen(t, ctx) is not None for t in texts) > 100
    for text in texts:
        assert screened.check(text, ctx) == plain.check(text, ctx)


def test_a_plain_text_is_checked_without_loading_presidio_and_a_pii_text_loads_it() -> None:
    guard = Guard.from_policy("default")
    pii = next(b.filter for b in guard._stages[Stage.INPUT] if b.filter.name == "pii")
    assert pii.load_on_demand
    verdict = guard.check_input("Thanks, that works. You're welcome!")
    assert verdict.allowed and not pii._loaded
    verdict = guard.check_input("Call me at +1 212 555 0199 or jane@example.org")
    assert pii._loaded
    assert {v.category for v in verdict.violations} == {"PHONE_NUMBER", "EMAIL_ADDRESS"}
    assert "555 0199" not in verdict.text and "jane@" not in verdict.text


def test_guard_load_still_loads_an_on_demand_filter_up_front() -> None:
    """The sidecar loads every filter before it is ready, so no request pays for Presidio."""
    guard = Guard.from_policy("default")
    guard.load()
    assert all(b.filter._loaded for stage in guard._stages.values() for b in stage)


def test_custom_recognizers_and_names_turn_the_screen_off() -> None:
    custom = PiiFilter(PiiConfig(filter="pii", recognizers=[{"entity": "EMPLOYEE_ID", "patterns": [{"regex": "EMP[A-Z]+"}]}],
                                 entities=["EMPLOYEE_ID"]))
    names = PiiFilter(PiiConfig(filter="pii", entities=["PERSON", "EMAIL_ADDRESS"]))
    for filt in (custom, names):
        assert not filt.load_on_demand
        assert filt.screen("no digits here", Context(stage=Stage.INPUT)) is None


def test_the_async_path_screens_too() -> None:
    guard = Guard.from_policy("default")
    pii = next(b.filter for b in guard._stages[Stage.INPUT] if b.filter.name == "pii")
    verdict = asyncio.run(guard.acheck_input("sure, go ahead"))
    assert verdict.allowed and not pii._loaded
    verdict = asyncio.run(guard.acheck_input("my card is 4111 1111 1111 1111"))
    assert pii._loaded and [v.category for v in verdict.violations] == ["CREDIT_CARD"]
