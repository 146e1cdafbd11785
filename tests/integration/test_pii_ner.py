"""The ``pii`` filter with NER: a tiny spaCy pipeline and a tiny transformers model, both trained here."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrails import Context, Guard
from tests.helpers.pii_models import build_hf_ner, build_spacy_ner

pytestmark = pytest.mark.integration

SENTENCE = "Alice Johnson lives in Paris and works for Acme Corporation."


@pytest.fixture(scope="module")
def spacy_ner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_spacy_ner(tmp_path_factory.mktemp("spacy_ner"))


@pytest.fixture(scope="module")
def hf_ner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hf_ner(tmp_path_factory.mktemp("hf_ner"))


def _guard(input_entry: dict[str, object], output_entry: dict[str, object] | None = None) -> Guard:
    return Guard.from_policy({
        "name": "ner",
        "input": [{"filter": "pii", **input_entry}],
        "output": [{"filter": "pii", **output_entry}] if output_entry else [],
    })


def test_pii_spacy_ner_finds_person_location_organization_with_exact_spans(spacy_ner: Path) -> None:
    v = _guard({"action": "redact", "ner_model": str(spacy_ner)}).check_input(SENTENCE)
    spans = sorted((s.label, SENTENCE[s.start : s.end]) for x in v.violations for s in x.spans)
    assert spans == [("LOCATION", "Paris"), ("ORGANIZATION", "Acme Corporation"), ("PERSON", "Alice Johnson")]
    assert v.text == "<PERSON> lives in <LOCATION> and works for <ORGANIZATION>."


def test_pii_spacy_ner_keeps_pattern_entities_and_respects_entity_list(spacy_ner: Path) -> None:
    g = _guard({"action": "redact", "ner_model": str(spacy_ner), "entities": ["PERSON", "EMAIL_ADDRESS"]})
    assert g.check_input(SENTENCE).text == "<PERSON> lives in Paris and works for Acme Corporation."
    assert g.check_input("mail jane.roe@example.org").text == "mail <EMAIL_ADDRESS>"
    assert g.check_input("The weather is nice today.").violations == ()


def test_pii_spacy_ner_pseudonymize_round_trip(spacy_ner: Path) -> None:
    g = _guard({"action": "pseudonymize", "ner_model": str(spacy_ner)}, {"action": "redact", "ner_model": str(spacy_ner)})
    ctx = Context()
    v = g.check_input(SENTENCE, ctx=ctx)
    assert v.text == "<PERSON_1> lives in <LOCATION_1> and works for <ORGANIZATION_1>."
    out = g.check_output("Hello <PERSON_1>, how is <LOCATION_1>?", ctx=ctx)
    assert out.text == "Hello Alice Johnson, how is Paris?"


def test_pii_spacy_ner_analyzer_shared_between_guards(spacy_ner: Path) -> None:
    a = _guard({"action": "redact", "ner_model": str(spacy_ner)}).filters("input")[0].filter
    b = _guard({"action": "block", "ner_model": str(spacy_ner), "entities": ["PERSON"]}).filters("input")[0].filter
    c = _guard({"action": "flag", "ner_model": str(spacy_ner)}).filters("input")[0].filter
    for f in (a, b, c):
        f.ensure_loaded()
    # One analyzer per entity set (it holds only that set's recognizers); the spaCy pipeline is loaded once.
    assert a._analyzer is c._analyzer  # type: ignore[attr-defined]
    assert a._analyzer is not b._analyzer  # type: ignore[attr-defined]
    assert a._analyzer.nlp_engine.nlp["en"] is b._analyzer.nlp_engine.nlp["en"]  # type: ignore[attr-defined]


def test_pii_transformers_ner_maps_labels_to_entities(hf_ner: Path) -> None:
    v = _guard({"action": "redact", "ner_model": str(hf_ner)}).check_input(SENTENCE)
    spans = sorted((s.label, SENTENCE[s.start : s.end]) for x in v.violations for s in x.spans)
    assert spans == [("LOCATION", "Paris"), ("ORGANIZATION", "Acme Corporation"), ("PERSON", "Alice Johnson")]


def test_pii_transformers_ner_long_text_uses_stride_and_keeps_offsets(hf_ner: Path) -> None:
    # Longer than the model's 64 positions: the pipeline must window it and keep absolute offsets.
    text = "The weather is nice today. " * 20 + SENTENCE
    v = _guard({"action": "flag", "ner_model": str(hf_ner), "entities": ["PERSON"]}).check_input(text)
    spans = [(s.start, s.end) for x in v.violations for s in x.spans]
    start = text.index("Alice")
    assert spans == [(start, start + len("Alice Johnson"))]


def test_pii_ner_wrong_engine_for_folder_load_error(spacy_ner: Path) -> None:
    v = _guard({"action": "redact", "ner_model": str(spacy_ner), "ner_engine": "transformers"}).check_input("hi")
    assert not v.allowed and "not a transformers model folder" in (v.errors[0].error or "")
