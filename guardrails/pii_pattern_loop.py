"""Presidio's pattern loop (``PatternRecognizer.analyze``) with the same results and less work per pattern.

For every pattern of a recognizer, on every check, Presidio reads the clock twice and builds a debug line's
arguments (the time one regex took to compile its iterator), even with debug logging off; it also sorts and
de-duplicates an empty result list. ``lean_analyze`` gives a recognizer an ``analyze`` that does the rest as
Presidio does: the same regexes with the same flags and timeout, the same validation and invalidation, the same
results with the same explanations, the same de-duplication, and the same warning when a regex times out.

It is tied to Presidio's loop by a hash of its source: a release that changes the loop runs its own. Only
recognizers that keep Presidio's ``analyze`` get it (a subclass with its own, e.g. the IBAN one, keeps it).
tests/unit/test_pii_fast_path.py compares the filter's findings with Presidio's own.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
from typing import Any

log = logging.getLogger("guardrails.pii")

# sha256 (first 16 hex digits) of the source of PatternRecognizer.analyze and of its __analyze_patterns.
_PRESIDIO_LOOP = ("12ba3f7e6cdb75f1", "a9f12c77810d2f1a")


@functools.lru_cache(maxsize=1)
def presidio_loop_known() -> bool:
    """Whether the installed Presidio's pattern loop is the one ``lean_analyze`` does the work of."""
    from presidio_analyzer import PatternRecognizer

    try:
        sources = (inspect.getsource(PatternRecognizer.analyze),
                   inspect.getsource(PatternRecognizer._PatternRecognizer__analyze_patterns))  # type: ignore[attr-defined]
    except (AttributeError, OSError, TypeError):
        return False
    return tuple(hashlib.sha256(s.encode()).hexdigest()[:16] for s in sources) == _PRESIDIO_LOOP


def lean_analyze(recognizer: Any) -> bool:
    """Give ``recognizer`` the lean ``analyze`` when it runs Presidio's pattern loop as it is; returns whether it did."""
    from presidio_analyzer import EntityRecognizer, PatternRecognizer, RecognizerResult
    from presidio_analyzer import pattern_recognizer as module

    cls = type(recognizer)
    if not (isinstance(recognizer, PatternRecognizer) and cls.analyze is PatternRecognizer.analyze
            and "analyze" not in vars(recognizer) and presidio_loop_known()):
        return False
    engine: Any = getattr(module, "re")  # the regex module Presidio compiles its patterns with
    name_key, id_key = RecognizerResult.RECOGNIZER_NAME_KEY, RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
    low, high = EntityRecognizer.MIN_SCORE, EntityRecognizer.MAX_SCORE
    rec: Any = recognizer

    def analyze(text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: int | None = None) -> list[Any]:
        flags = regex_flags if regex_flags else rec.global_regex_flags
        results: list[Any] = []
        for pattern in rec.patterns:
            if not pattern.compiled_regex or pattern.compiled_with_flags != flags:
                pattern.compiled_with_flags = flags
                pattern.compiled_regex = engine.compile(pattern.regex, flags=flags)
            try:
                for match in pattern.compiled_regex.finditer(text, timeout=module.REGEX_TIMEOUT_SECONDS):
                    start, end = match.span()
                    if start == end:
                        continue
                    value = text[start:end]
                    validation = rec.validate_result(value)
                    explanation = rec.build_regex_explanation(rec.name, pattern.name, pattern.regex, pattern.score, validation, flags)
                    result = RecognizerResult(entity_type=rec.supported_entities[0], start=start, end=end, score=pattern.score,
                                              analysis_explanation=explanation, recognition_metadata={name_key: rec.name, id_key: rec.id})
                    if validation is not None:
                        result.score = high if validation else low
                    if rec.invalidate_result(value):
                        result.score = low
                    if result.score > low:
                        results.append(result)
                    explanation.score = result.score
            except TimeoutError:
                log.warning("pii: regex pattern %r timed out after %s seconds, skipped", pattern.name, module.REGEX_TIMEOUT_SECONDS)
        return EntityRecognizer.remove_duplicates(results) if results else results

    rec.analyze = analyze
    return True
