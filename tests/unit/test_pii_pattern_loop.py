"""Presidio's pattern loop without its per-pattern timing (guardrails.pii_pattern_loop): the same results."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from guardrails.pii_analyzer import build_analyzer, import_presidio
from guardrails.pii_pattern_loop import lean_analyze, presidio_loop_known
from tests.unit.test_pii_fast_path import english_entities

TEXTS = [
    "card 4111 1111 1111 1111 and 4111 1111 1111 1112, ssn 123-45-6789 or 000-12-3456, itin 912-70-1234",
    "passport 912345678, licence A1234567, bank 1234567890123, DEA AB1234567, NINO AB 12 34 56 C",
    "mail ana.lopez@correo.es, iban GB82 WEST 1234 5698 7654 32, ip 10.0.0.1 and fe80::1, mac 00:1a:2b:3c:4d:5e",
    "nothing to see here", "",
]


def _fields(results: list[Any]) -> list[tuple[Any, ...]]:
    def one(r: Any) -> tuple[Any, ...]:
        e = r.analysis_explanation
        return (r.entity_type, r.start, r.end, r.score, sorted(r.recognition_metadata.items()),
                (e.recognizer, e.pattern_name, e.pattern, e.original_score, e.score, e.validation_result, e.textual_explanation))
    return sorted(map(one, results), key=repr)


def test_the_lean_loop_gives_presidios_results_field_by_field() -> None:
    assert presidio_loop_known()  # the installed Presidio's loop is the one this module knows
    reference = build_analyzer(("en",), None, False, frozenset(english_entities()), reference=True)
    leaned, compared, validated = 0, 0, 0
    recognizers: list[Any] = list(reference.registry.recognizers)
    for recognizer in recognizers:
        if not getattr(recognizer, "patterns", None):
            continue
        expected = {text: _fields(recognizer.analyze(text, recognizer.supported_entities)) for text in TEXTS}
        if lean_analyze(recognizer):
            leaned += 1
            assert "analyze" in vars(recognizer)
            for text in TEXTS:
                assert _fields(recognizer.analyze(text, recognizer.supported_entities)) == expected[text], (recognizer.name, text)
                compared += len(expected[text])
                validated += sum(1 for f in expected[text] if f[-1][5] is not None)  # a checksum or rule ruled on it
            del recognizer.analyze  # the reference analyzer is shared: put Presidio's back
    assert leaned >= 10 and compared >= 10 and validated >= 2


def test_only_recognizers_that_run_presidios_loop_as_it_is_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import_presidio()
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer.predefined_recognizers import IbanRecognizer

    class OwnAnalyze(PatternRecognizer):
        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: Any = None) -> list[Any]:
            return []

    plain: Any = PatternRecognizer("THING", patterns=[Pattern("thing", r"\bthing\b", 0.6)])
    assert not lean_analyze(IbanRecognizer()) and not lean_analyze(OwnAnalyze("THING", patterns=plain.patterns))
    assert lean_analyze(plain) and not lean_analyze(plain)  # once
    assert [(r.start, r.end, r.score) for r in plain.analyze("a thing, things", ["THING"])] == [(2, 7, 0.6)]
    # Another Presidio release (its loop's source changed): Presidio's own loop runs.
    monkeypatch.setattr("guardrails.pii_pattern_loop.presidio_loop_known", lambda: False)
    assert not lean_analyze(PatternRecognizer("THING", patterns=[Pattern("thing", "thing", 0.6)]))


def test_a_pattern_that_times_out_is_skipped_with_a_warning_as_presidio_does(caplog: pytest.LogCaptureFixture) -> None:
    import_presidio()
    from presidio_analyzer import Pattern, PatternRecognizer

    class Slow:
        def finditer(self, text: str, **kwargs: Any) -> Any:
            raise TimeoutError("regex timed out")

    slow: Any = Pattern("slow", r"\d+", 0.6)
    recognizer: Any = PatternRecognizer("THING", patterns=[slow, Pattern("word", r"\bthing\b", 0.6)])
    assert lean_analyze(recognizer)
    recognizer.analyze("thing", ["THING"])  # compiles both patterns with the recognizer's flags
    slow.compiled_regex = Slow()
    with caplog.at_level(logging.WARNING, logger="guardrails.pii"):
        found = recognizer.analyze("my thing 123", ["THING"])
    assert [(r.start, r.end) for r in found] == [(3, 8)]  # the other pattern still ran
    assert "'slow' timed out" in caplog.text and "123" not in caplog.text
