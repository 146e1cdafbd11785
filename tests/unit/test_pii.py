"""The ``pii`` filter: entity detection with exact spans, each action, the vault round trip, custom recognizers."""

from __future__ import annotations

import logging
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from guardrails import Action, Context, Guard
from guardrails.errors import FilterLoadError, PolicyError
from guardrails.filters.pii import PiiConfig, PiiFilter, keyed_hash, mask
from guardrails.policy import load_policy

ALL = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "CRYPTO", "URL", "UK_NHS", "MAC_ADDRESS"]
_guards: dict[str, Guard] = {}


def guard(input_entry: dict[str, Any] | None = None, output_entry: dict[str, Any] | None = None) -> Guard:
    """A Guard with one pii entry per stage (cached: building one costs a Presidio warm-up)."""
    key = repr((input_entry, output_entry))
    if key not in _guards:
        policy = {
            "name": "pii-test",
            "input": [{"filter": "pii", **input_entry}] if input_entry is not None else [],
            "output": [{"filter": "pii", **output_entry}] if output_entry is not None else [],
        }
        _guards[key] = Guard.from_policy(policy)
    return _guards[key]


def found(text: str, **entry: Any) -> list[tuple[str, str]]:
    """(entity, exact matched text) for every span the filter reports."""
    v = guard({"action": "flag", **entry}).check_input(text)
    return sorted((s.label, text[s.start : s.end]) for x in v.violations for s in x.spans)


# -- detection: each entity type, a valid value and an invalid look-alike -----------------------

VALID = [
    ("EMAIL_ADDRESS", "Write to jane.roe@example.org today", "jane.roe@example.org"),
    ("PHONE_NUMBER", "Phone: +44 20 7946 0958, thanks", "+44 20 7946 0958"),
    ("CREDIT_CARD", "my card is 4111 1111 1111 1111.", "4111 1111 1111 1111"),
    ("CREDIT_CARD", "pay with 5555555555554444 now", "5555555555554444"),
    ("IBAN_CODE", "IBAN GB82 WEST 1234 5698 7654 32 please", "GB82 WEST 1234 5698 7654 32"),
    ("US_SSN", "my SSN is 536-22-8726.", "536-22-8726"),
    ("IP_ADDRESS", "server at 192.168.1.20 is down", "192.168.1.20"),
    ("IP_ADDRESS", "v6 host 2001:db8::ff00:42:8329 answers", "2001:db8::ff00:42:8329"),
    ("CRYPTO", "send btc to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT now", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
    ("URL", "see https://example.com/path for details", "https://example.com/path"),
    ("UK_NHS", "NHS number 943 476 5919", "943 476 5919"),
    ("MAC_ADDRESS", "mac 00:1A:2B:3C:4D:5E on eth0", "00:1A:2B:3C:4D:5E"),
]

INVALID = [
    ("EMAIL_ADDRESS", "Write to jane.roe@@example.org today"),
    ("CREDIT_CARD", "my card is 4111 1111 1111 1112."),  # fails the Luhn check
    ("IBAN_CODE", "IBAN GB82 WEST 1234 5698 7654 33 please"),  # wrong check digits
    ("US_SSN", "my SSN is 078-05-1120."),  # the famous invalid sample number
    ("US_SSN", "my SSN is 000-12-3456."),  # area 000 is never issued
    ("IP_ADDRESS", "server at 999.168.1.20 is down"),
    ("CRYPTO", "send btc to 1BoatSLRHtKNngkdXEeobR76b53LETtpyU now"),  # bad checksum
    ("UK_NHS", "NHS number 943 476 5910"),  # bad check digit
    ("PHONE_NUMBER", "call extension 1234 later"),
]


@pytest.mark.parametrize(("entity", "text", "value"), VALID)
def test_pii_valid_value_found_with_exact_span(entity: str, text: str, value: str) -> None:
    assert (entity, value) in found(text, entities=ALL)


@pytest.mark.parametrize(("entity", "text"), INVALID)
def test_pii_invalid_lookalike_not_reported_as_entity(entity: str, text: str) -> None:
    assert entity not in {e for e, _ in found(text, entities=ALL)}


def test_pii_url_off_by_default_reported_when_listed() -> None:
    text = "docs at https://example.com/guide"
    assert found(text) == []
    assert found(text, entities=["URL"]) == [("URL", "https://example.com/guide")]


def test_pii_ordinary_numbers_not_reported() -> None:
    text = "Order 12345678 shipped in 2023, total 149.99 dollars, ticket #4521, version 1.2.3, room 12B at 10:30."
    assert found(text) == []


def test_pii_context_word_raises_weak_match_above_threshold() -> None:
    # A bare 9-digit number is a very weak SSN match; the word "social security" nearby lifts it.
    assert found("reference 536228726 attached") == []
    assert found("social security 536228726 attached") == [("US_SSN", "536228726")]


def test_pii_context_words_off_ignores_context_and_uses_other_analyzer() -> None:
    assert found("social security 536228726 attached", context_words=False) == []
    assert found("my SSN is 536-22-8726.", context_words=False) == [("US_SSN", "536-22-8726")]
    a = guard({"action": "flag", "context_words": False}).filters("input")[0].filter
    b = guard({"action": "flag"}).filters("input")[0].filter
    assert a._analyzer is not b._analyzer  # type: ignore[attr-defined]


def test_pii_entity_threshold_drops_low_scores() -> None:
    text = "reach me on (415) 555-2671 anytime"
    assert found(text) == [("PHONE_NUMBER", "(415) 555-2671")]
    assert found(text, thresholds={"PHONE_NUMBER": 0.9}) == []


def test_pii_allow_list_exact_value_not_reported() -> None:
    text = "write to support@example.com or jane.roe@example.org"
    assert found(text, allow_list=["support@example.com"]) == [("EMAIL_ADDRESS", "jane.roe@example.org")]


def test_pii_allow_list_regex_values_not_reported() -> None:
    text = "write to support@example.com or jane.roe@example.org"
    got = found(text, allow_list=[r".*@example\.com"], allow_list_match="regex")
    assert got == [("EMAIL_ADDRESS", "jane.roe@example.org")]


def test_pii_many_entities_all_found_with_exact_spans() -> None:
    values = [f"user{i}@example.org" for i in range(40)] + ["4111 1111 1111 1111", "192.168.7.7", "536-22-8726"]
    text = " and ".join(f"item {v}" for v in values)
    v = guard({"action": "redact"}).check_input(text)
    spans = sorted((s.start, s.end, s.label) for x in v.violations for s in x.spans)
    assert [text[s:e] for s, e, _ in spans] == values
    assert v.text == " and ".join(f"item <{lab}>" for _, _, lab in spans)


def test_pii_empty_and_blank_text_clean() -> None:
    g = guard({"action": "redact"})
    for text in ("", "   \n\t"):
        v = g.check_input(text)
        assert v.action is Action.ALLOW and v.text == text


def test_pii_very_long_text_finds_entities_at_exact_offsets() -> None:
    filler = "The quick brown fox jumps over the lazy dog. " * 2300  # about 100,000 characters
    text = filler + "Mail jane.roe@example.org now. " + filler[:5000] + "Card 4111 1111 1111 1111."
    v = guard({"action": "redact"}).check_input(text)
    spans = {s.label: (s.start, s.end) for x in v.violations for s in x.spans}
    start = len(filler) + len("Mail ")
    assert spans["EMAIL_ADDRESS"] == (start, start + len("jane.roe@example.org"))
    assert text[slice(*spans["CREDIT_CARD"])] == "4111 1111 1111 1111"
    assert v.text.endswith("Card <CREDIT_CARD>.") and len(spans) == 2


def test_pii_context_word_found_at_end_of_long_text_with_many_matches() -> None:
    text = " ".join(f"ref {n}" for n in range(100000000, 100000000 + 3000, 7)) + " and social security 536228726"
    got = found(text)
    assert got == [("US_SSN", "536228726")]


def test_pii_bisect_token_lookup_matches_presidio_scan() -> None:
    import spacy
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    from guardrails.pii_analyzer import _fast_enhancer

    doc = spacy.blank("en")("Call  +1 (212) 555-0199, or mail a.b@example.org; ssn:536-22-8726 \n end.")
    indices = [t.idx for t in doc]
    fast = _fast_enhancer()
    for start in range(len(doc.text) - 1):
        try:
            expected = LemmaContextAwareEnhancer._find_index_of_match_token("", start, doc, indices)
        except ValueError:
            continue
        assert fast._find_index_of_match_token("", start, doc, indices) == expected, start


# -- actions --------------------------------------------------------------------------------------

TEXT = "Mail jane.roe@example.org or call +44 20 7946 0958, card 4111 1111 1111 1111."


def test_pii_block_blocks_and_reports_entity_category() -> None:
    v = guard({"action": "block"}).check_input(TEXT)
    assert not v.allowed and v.action is Action.BLOCK
    assert {x.category for x in v.violations} >= {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"}


def test_pii_flag_keeps_text_and_allows() -> None:
    v = guard({"action": "flag"}).check_input(TEXT)
    assert v.allowed and v.action is Action.FLAG and v.text == TEXT


def test_pii_redact_writes_typed_placeholders() -> None:
    v = guard({"action": "redact"}).check_input(TEXT)
    assert v.action is Action.REDACT
    assert v.text == "Mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>, card <CREDIT_CARD>."
    d = v.to_dict()["violations"][0]
    assert d["category"] == d["spans"][0]["label"] == "EMAIL_ADDRESS"


def test_pii_mask_keeps_last_four_of_cards_and_phones_only() -> None:
    v = guard({"action": "mask"}).check_input(TEXT)
    assert v.action is Action.REDACT
    # e-mail fully masked (20 chars); "+44 20 7946 0958" and the card keep their last 4 digits
    assert v.text == f"Mail {'*' * 20} or call {'*' * 12}0958, card {'*' * 15}1111."


def test_pii_mask_custom_char_and_keep_last() -> None:
    v = guard({"action": "mask", "mask_char": "#", "keep_last": 2}).check_input("card 4111 1111 1111 1111")
    assert v.text == "card #################11"


def test_mask_short_value_keeps_at_most_half() -> None:
    assert mask("12-34", "*", 4) == "***34"
    assert mask("abc", "*", 0) == "***"


def test_pii_hash_keyed_stable_and_format_independent(monkeypatch: pytest.MonkeyPatch) -> None:
    g = guard({"action": "hash", "hash_key": "k1"})
    a = g.check_input("card 4111 1111 1111 1111").text
    b = g.check_input("card 4111-1111-1111-1111").text
    assert a == b and re.fullmatch(r"card <CREDIT_CARD:[0-9a-f]{16}>", a)
    assert a[len("card <CREDIT_CARD:") : -1] == keyed_hash(b"k1", "CREDIT_CARD", "4111111111111111")[:16]
    other = guard({"action": "hash", "hash_key": "k2"}).check_input("card 4111 1111 1111 1111").text
    assert other != a


def test_pii_hash_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDRAILS_PII_KEY", "k1")
    f = PiiFilter(PiiConfig(filter="pii", action="hash", hash_length=64))
    f.ensure_loaded()
    r = f.check("mail jane.roe@example.org", Context())
    assert r.findings[0].spans[0].replacement == f"<EMAIL_ADDRESS:{keyed_hash(b'k1', 'EMAIL_ADDRESS', 'jane.roe@example.org')}>"


def test_pii_hash_key_not_shown_in_policy_dump() -> None:
    policy = Guard.from_policy({"name": "p", "input": [{"filter": "pii", "action": "hash", "hash_key": "s3cret-key"}]}).policy
    assert "s3cret-key" not in str(policy.to_dict())


def test_pii_hash_without_key_warns_once_and_is_stable_in_process(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("GUARDRAILS_PII_KEY", raising=False)
    import guardrails.filters.pii as pii_module

    monkeypatch.setattr(pii_module, "_process_key", None)
    caplog.set_level(logging.WARNING, logger="guardrails.filters.pii")
    filters = [PiiFilter(PiiConfig(filter="pii", action="hash", id=f"h{i}")) for i in range(2)]
    outs = []
    for f in filters:
        f.ensure_loaded()
        outs.append(f.check("jane.roe@example.org", Context()).findings[0].spans[0].replacement)
    assert outs[0] == outs[1]
    assert sum("random per-process key" in r.getMessage() for r in caplog.records) == 1


# -- pseudonymisation and the vault -----------------------------------------------------------------

PSEUDO = {"action": "pseudonymize"}


def test_pii_pseudonymize_same_value_same_placeholder() -> None:
    ctx = Context()
    text = "a@example.org wrote to b@example.org, then a@example.org again"
    v = guard(PSEUDO).check_input(text, ctx=ctx)
    assert v.text == "<EMAIL_ADDRESS_1> wrote to <EMAIL_ADDRESS_2>, then <EMAIL_ADDRESS_1> again"
    assert ctx.vault == {"<EMAIL_ADDRESS_1>": "a@example.org", "<EMAIL_ADDRESS_2>": "b@example.org"}


def test_pii_pseudonymize_round_trip_restores_originals_in_output() -> None:
    g = guard(PSEUDO, {"action": "redact"})
    ctx = Context()
    prompt = "Draft a note to jane.roe@example.org about card 4111 1111 1111 1111."
    v = g.check_input(prompt, ctx=ctx)
    assert "jane.roe@example.org" not in v.text and "<EMAIL_ADDRESS_1>" in v.text
    answer = "Dear <EMAIL_ADDRESS_1>, your card <CREDIT_CARD_1> is blocked. Contact bob@example.net."
    out = g.check_output(answer, ctx=ctx)
    # The user's own values come back; a new address the model wrote is redacted.
    assert out.text == "Dear jane.roe@example.org, your card 4111 1111 1111 1111 is blocked. Contact <EMAIL_ADDRESS>."


def test_pii_pseudonymize_round_trip_through_stream() -> None:
    g = guard(PSEUDO, {"action": "redact"})
    ctx = Context()
    g.check_input("Write to jane.roe@example.org", ctx=ctx)
    stream = g.stream(ctx)
    answer = "Sure. I have written to <EMAIL_ADDRESS_1> and will copy you. " * 3
    pieces = [stream.push(answer[i : i + 5]) for i in range(0, len(answer), 5)]
    text = "".join(pieces) + stream.finish()
    assert text == answer.replace("<EMAIL_ADDRESS_1>", "jane.roe@example.org")


def test_pii_output_pseudonymize_new_value_not_added_to_vault() -> None:
    g = guard(PSEUDO, PSEUDO)
    ctx = Context()
    g.check_input("me: jane.roe@example.org", ctx=ctx)
    out = g.check_output("<EMAIL_ADDRESS_1> and jane.roe@example.org and bob@example.net", ctx=ctx)
    assert out.text == "jane.roe@example.org and jane.roe@example.org and <EMAIL_ADDRESS>"
    assert list(ctx.vault) == ["<EMAIL_ADDRESS_1>"]


def test_pii_vault_does_not_outlive_request() -> None:
    g = guard(PSEUDO, {"action": "redact"})
    g.check_input("Write to jane.roe@example.org", ctx=Context())
    out = g.check_output("Written to <EMAIL_ADDRESS_1>.", ctx=Context())
    assert out.text == "Written to <EMAIL_ADDRESS_1>."


def test_pii_pseudonymize_chat_messages_share_one_vault() -> None:
    g = guard(PSEUDO)
    ctx = Context()
    msgs = [{"role": "system", "content": "user is jane.roe@example.org"}, {"role": "user", "content": "mail jane.roe@example.org and b@example.org"}]
    v = g.check_input(msgs, ctx=ctx)
    assert v.messages is not None
    assert v.messages[0]["content"] == "user is <EMAIL_ADDRESS_1>"
    assert v.messages[1]["content"] == "mail <EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2>"


def test_pii_never_logs_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    g = guard(PSEUDO, {"action": "redact"})
    ctx = Context()
    g.check_input("Write to jane.roe@example.org, card 4111 1111 1111 1111", ctx=ctx)
    g.check_output("done: <EMAIL_ADDRESS_1>", ctx=ctx)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "jane.roe" not in logged and "4111" not in logged
    assert "jane.roe" not in repr(ctx)


# -- custom recognizers from policy YAML ------------------------------------------------------------

POLICY = """\
version: 1
name: hr
input:
  - filter: pii
    action: redact
    entities: [EMAIL_ADDRESS]
    recognizers:
      - entity: EMPLOYEE_ID
        patterns:
          - regex: "\\\\bEMP-\\\\d{6}\\\\b"
            score: 0.9
      - entity: BADGE_NUMBER
        patterns:
          - {regex: "\\\\b[A-Z]{2}\\\\d{5}\\\\b", score: 0.2}
        context: [badge]
      - entity: PROJECT
        deny_list: [Project Bluebird, Falcon]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_pii_custom_recognizers_from_yaml_found(tmp_path: Path) -> None:
    g = Guard.from_policy(_write(tmp_path, POLICY))
    text = "EMP-123456 on project bluebird with FALCON, mail jane.roe@example.org"
    v = g.check_input(text)
    assert v.text == "<EMPLOYEE_ID> on <PROJECT> with <PROJECT>, mail <EMAIL_ADDRESS>"


def test_pii_custom_recognizer_context_word_required_for_weak_pattern(tmp_path: Path) -> None:
    g = Guard.from_policy(_write(tmp_path, POLICY))
    assert g.check_input("code AB12345 shipped").text == "code AB12345 shipped"
    assert g.check_input("my badge AB12345 expired").text == "my badge <BADGE_NUMBER> expired"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("entities: [EMAIL_ADRESS]", "policy.yaml:5: input[0].entities: unknown entity 'EMAIL_ADRESS' (did you mean 'EMAIL_ADDRESS'?)"),
        ("entities: [ORGANIZATION]", "needs a NER model (the shipped tagger finds PERSON and LOCATION only): set ner_model:"),
        ("recognizers: [{entity: EMP_ID, patterns: [{regex: '(unclosed'}]}]", "not a valid regular expression"),
        ("recognizers: [{entity: EMP_ID}]", "needs 'patterns' or 'deny_list'"),
        ("recognizers: [{entity: emp_id, deny_list: [x]}]", "expected an upper-case entity name"),
        ("thresholds: {EMAIL_ADDRESS: 2}", "between 0 and 1"),
        ("action: shred", "expected one of block, flag, hash, mask, pseudonymize, redact"),
        ("languages: [english]", "expected language codes like 'en'"),
        ("allow_list_match: regex\n    allow_list: ['(x']", "allow_list[0]: not a valid regular expression"),
        ("thresholds: {EMAIL: 0.5}", "unknown entity 'EMAIL'"),
    ],
)
def test_pii_bad_policy_entry_error_names_file_line_and_problem(tmp_path: Path, entry: str, message: str) -> None:
    path = _write(tmp_path, f"version: 1\nname: bad\ninput:\n  - filter: pii\n    {entry}\n")
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    assert message in str(err.value)
    assert re.search(r"policy\.yaml:\d+: input\[0\]", str(err.value))


# -- NER configuration errors, sharing, default policy ----------------------------------------------

def test_pii_missing_spacy_model_load_error_says_how_to_install() -> None:
    f = PiiFilter(PiiConfig(filter="pii", ner_model="en_core_web_zz"))
    with pytest.raises(FilterLoadError, match=r"not installed.*pip install en-core-web-zz"):
        f.ensure_loaded()


def test_pii_missing_ner_model_through_engine_follows_on_error(tmp_path: Path) -> None:
    g = Guard.from_policy({"name": "p", "input": [{"filter": "pii", "ner_model": str(tmp_path / "nope")}]})
    v = g.check_input("hello")
    assert not v.allowed and v.errors and "does not exist" in (v.errors[0].error or "")


def test_pii_hub_ner_model_in_offline_policy_load_error_names_offline() -> None:
    g = Guard.from_policy({
        "name": "p", "offline": True,
        "input": [{"filter": "pii", "ner_model": "someorg/tiny-ner", "ner_engine": "transformers"}],
    })
    v = g.check_input("hello")
    assert not v.allowed and "offline mode is on" in (v.errors[0].error or "")


def test_pii_analyzer_shared_across_policies_and_built_before_check() -> None:
    a = guard({"action": "redact"}).filters("input")[0].filter
    same = [bf.filter for stage in ("input", "output") for bf in guard({"action": "block"}, {"action": "flag"}).filters(stage)]
    b = guard({"action": "block", "entities": ["CREDIT_CARD"]}).filters("input")[0].filter
    for f in (a, b, *same):
        f.ensure_loaded()
    assert isinstance(a, PiiFilter) and isinstance(b, PiiFilter)
    # One analyzer per set of entities (and languages), whatever the action or stage.
    assert len(same) == 2 and all(f._analyzer is a._analyzer for f in same)  # type: ignore[attr-defined]
    # Another set gets its own, holding only its recognizers, on the same tokenizer.
    assert b._analyzer is not a._analyzer
    assert set(b._analyzer.get_supported_entities("en")) == {"CREDIT_CARD"}
    assert set(a._analyzer.get_supported_entities("en")) == set(a.entities)
    assert b._analyzer.nlp_engine.nlp["en"] is a._analyzer.nlp_engine.nlp["en"]


def test_pii_default_policy_redacts_both_stages() -> None:
    g = Guard.from_policy("default")
    assert g.check_input("mail jane.roe@example.org").text == "mail <EMAIL_ADDRESS>"
    assert g.check_output("card 4111 1111 1111 1111").text == "card <CREDIT_CARD>"
