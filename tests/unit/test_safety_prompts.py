"""Llama Guard taxonomy, prompt builders, answer parser, and the safety_model policy keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardrails.errors import PolicyError
from guardrails.filters.safety_model import SafetyModelFilter, conversation_turns
from guardrails.policy import load_policy, policy_from_dict
from guardrails.safety_prompts import (
    ALL_CODES,
    HAZARDS,
    AnswerParseError,
    Turn,
    agent_type,
    build_prompt,
    detect_format,
    guard_turns,
    hazard,
    parse_answer,
)
from guardrails.types import Context, Stage

CATEGORIES = "\n".join(
    [
        "S1: Violent Crimes.",
        "S2: Non-Violent Crimes.",
        "S3: Sex Crimes.",
        "S4: Child Exploitation.",
        "S5: Defamation.",
        "S6: Specialized Advice.",
        "S7: Privacy.",
        "S8: Intellectual Property.",
        "S9: Indiscriminate Weapons.",
        "S10: Hate.",
        "S11: Self-Harm.",
        "S12: Sexual Content.",
        "S13: Elections.",
        "S14: Code Interpreter Abuse.",
    ]
)


# -- taxonomy -------------------------------------------------------------------------------


def test_hazards_taxonomy_has_fourteen_unique_codes_and_names() -> None:
    assert ALL_CODES == tuple(f"S{i}" for i in range(1, 15))
    assert len({h.name for h in HAZARDS}) == 14


@pytest.mark.parametrize("key", ["S10", "s10", " S10 ", "hate", "HATE"])
def test_hazard_code_or_name_any_case_finds_hate(key: str) -> None:
    assert hazard(key).code == "S10"


def test_hazard_unknown_key_raises_keyerror() -> None:
    with pytest.raises(KeyError):
        hazard("S15")


# -- conversations --------------------------------------------------------------------------


def test_guard_turns_system_and_tool_messages_dropped() -> None:
    turns = guard_turns(
        [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "hi"},
            {"role": "tool", "content": "{}"},
            {"role": "assistant", "content": "hello"},
        ]
    )
    assert turns == [Turn("user", "hi"), Turn("assistant", "hello")]


def test_guard_turns_consecutive_same_role_merged() -> None:
    turns = guard_turns([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert turns == [Turn("user", "a\n\nb")]


def test_guard_turns_leading_assistant_dropped_and_parts_read() -> None:
    turns = guard_turns(
        [
            {"role": "assistant", "content": "Welcome!"},
            {"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "image_url", "image_url": {}}]},
        ]
    )
    assert turns == [Turn("user", "part one")]


def test_agent_type_last_turn_decides() -> None:
    assert agent_type([Turn("user", "q")]) == "User"
    assert agent_type([Turn("user", "q"), Turn("assistant", "a")]) == "Agent"


# -- prompts --------------------------------------------------------------------------------


def test_build_prompt_llama_guard_3_user_turn_exact_format() -> None:
    expected = (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
        "Task: Check if there is unsafe content in 'User' messages in conversations according our safety policy "
        "with the below categories.\n\n"
        f"<BEGIN UNSAFE CONTENT CATEGORIES>\n{CATEGORIES}\n<END UNSAFE CONTENT CATEGORIES>\n\n"
        "<BEGIN CONVERSATION>\n\nUser: How do I pick a lock?\n\n<END CONVERSATION>\n\n"
        "Provide your safety assessment for ONLY THE LAST User message in the above conversation:\n"
        " - First line must read 'safe' or 'unsafe'.\n"
        " - If unsafe, a second line must include a comma-separated list of violated categories."
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert build_prompt([Turn("user", "  How do I pick a lock?\n")], "llama_guard_3") == expected


def test_build_prompt_agent_turn_rates_agent() -> None:
    prompt = build_prompt([Turn("user", "q"), Turn("assistant", "a")], "llama_guard_3")
    assert "unsafe content in 'Agent' messages" in prompt
    assert "User: q\n\nAgent: a\n\n<END CONVERSATION>" in prompt
    assert "ONLY THE LAST Agent message" in prompt


def test_build_prompt_llama_guard_4_uses_llama4_headers() -> None:
    prompt = build_prompt([Turn("user", "q")], "llama_guard_4")
    assert prompt.startswith("<|begin_of_text|><|header_start|>user<|header_end|>\n\nTask: ")
    assert "according to our safety policy" in prompt
    assert prompt.endswith("violated categories. <|eot|><|header_start|>assistant<|header_end|>")
    assert "<|start_header_id|>" not in prompt


def test_build_prompt_category_subset_lists_only_those() -> None:
    prompt = build_prompt([Turn("user", "q")], "llama_guard_3", categories=["S1", "S10"])
    assert "<BEGIN UNSAFE CONTENT CATEGORIES>\nS1: Violent Crimes.\nS10: Hate.\n<END UNSAFE" in prompt


@pytest.mark.parametrize(
    "turns",
    [[], [Turn("assistant", "a")], [Turn("user", "a"), Turn("user", "b")]],
)
def test_build_prompt_non_alternating_turns_raise(turns: list[Turn]) -> None:
    with pytest.raises(ValueError):
        build_prompt(turns)


def test_detect_format_llama4_header_token_selects_llama_guard_4() -> None:
    assert detect_format(["<|begin_of_text|>", "<|header_start|>"]) == "llama_guard_4"
    assert detect_format(["<|begin_of_text|>", "<|start_header_id|>"]) == "llama_guard_3"


# -- answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "safe", "codes"),
    [
        ("safe", True, ()),
        ("\n\nsafe<|eot|>", True, ()),
        ("Safe.", True, ()),
        ("  SAFE \n", True, ()),
        ("safe\nS1", True, ()),
        ("unsafe\nS1", False, ("S1",)),
        ("unsafe\nS1,S10", False, ("S1", "S10")),
        ("\n\nunsafe\nS9<|eot|>", False, ("S9",)),
        ("Unsafe\ns1, s10 ", False, ("S1", "S10")),
        ("UNSAFE S2", False, ("S2",)),
        ("unsafe\nS03,S3", False, ("S3",)),
        ("unsafe<|eot_id|>", False, ()),
        ("unsafe", False, ()),
        ("**unsafe**\nS11", False, ("S11",)),
    ],
)
def test_parse_answer_model_variations_parsed(answer: str, safe: bool, codes: tuple[str, ...]) -> None:
    parsed = parse_answer(answer)
    assert parsed.safe is safe
    assert parsed.codes == codes


def test_parse_answer_unknown_codes_kept_apart() -> None:
    parsed = parse_answer("unsafe\nS15,O3,S2")
    assert parsed.codes == ("S2",)
    assert parsed.unknown == ("S15", "O3")
    assert parsed.names == ("non_violent_crimes",)


@pytest.mark.parametrize("answer", ["", "   ", "safety first", "I cannot help with my secret plan", "unsafely", "<|eot_id|>"])
def test_parse_answer_garbage_raises_without_quoting(answer: str) -> None:
    with pytest.raises(AnswerParseError) as info:
        parse_answer(answer)
    assert "secret" not in str(info.value)


# -- policy keys ----------------------------------------------------------------------------


def _policy(**entry: object) -> object:
    return policy_from_dict({"name": "t", "input": [{"filter": "safety_model", **entry}]})


def test_config_model_and_endpoint_both_set_rejected() -> None:
    with pytest.raises(PolicyError, match=r"input\[0\]: set exactly one of 'model'"):
        _policy(model="/m", endpoint="http://127.0.0.1:1")


def test_config_no_backend_rejected() -> None:
    with pytest.raises(PolicyError, match="set exactly one of 'model'"):
        _policy(categories=["S1"])


def test_config_unknown_category_names_key() -> None:
    with pytest.raises(PolicyError, match=r"input\[0\]\.categories: unknown hazard category 'S15' at position 1"):
        _policy(model="/m", categories=["S1", "S15"])


def test_config_api_key_from_env_masked_in_policy_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_UNIT_KEY", "k-secret-42")
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\ninput:\n  - filter: safety_model\n    endpoint: http://127.0.0.1:9\n"
        "    endpoint_model: m\n    api_key: ${GUARD_UNIT_KEY}\n"
    )
    policy = load_policy(path)
    assert "k-secret-42" not in json.dumps(policy.to_dict())
    f = SafetyModelFilter(policy.input[0])  # type: ignore[arg-type]
    f.ensure_loaded()  # endpoint_model is set: no request is made
    assert f._backend._headers["Authorization"] == "Bearer k-secret-42"  # type: ignore[union-attr]


def test_config_relative_model_path_resolved_against_policy_file(tmp_path: Path) -> None:
    (tmp_path / "guards" / "lg3").mkdir(parents=True)
    path = tmp_path / "p.yaml"
    path.write_text("name: p\ninput:\n  - filter: safety_model\n    model: ./guards/lg3\n")
    assert load_policy(path).input[0].model == str((tmp_path / "guards" / "lg3").resolve())  # type: ignore[attr-defined]


def test_config_endpoint_not_http_rejected() -> None:
    with pytest.raises(PolicyError, match=r"input\[0\]\.endpoint: expected an http"):
        _policy(endpoint="127.0.0.1:8000")


def test_config_redact_action_rejected() -> None:
    with pytest.raises(PolicyError, match=r"input\[0\]\.action: expected one of block, flag"):
        _policy(model="/m", action="redact")


def test_config_names_and_codes_normalised_to_codes() -> None:
    policy = _policy(model="/m", categories=["hate", "s1", "S10"], api_key=None)
    cfg = policy.input[0]
    assert list(cfg.categories) == ["S10", "S1"]  # type: ignore[attr-defined]
    assert SafetyModelFilter(cfg).required_models() == ["/m"]  # type: ignore[arg-type]


# -- which turns the filter rates -----------------------------------------------------------


def test_conversation_turns_plain_text_is_one_user_turn() -> None:
    assert conversation_turns("hello", Context()) == [Turn("user", "hello")]
    assert conversation_turns("hello", Context(stage=Stage.OUTPUT)) == [Turn("user", "hello")]
    assert conversation_turns("  ", Context()) == []


def test_conversation_turns_chat_input_uses_messages() -> None:
    from guardrails.types import render_conversation

    messages = [{"role": "system", "content": "be nice"}, {"role": "user", "content": "q"}]
    ctx = Context(messages=messages)  # type: ignore[arg-type]
    assert conversation_turns(render_conversation(messages), ctx) == [Turn("user", "q")]  # type: ignore[arg-type]


def test_conversation_turns_output_appends_answer_as_agent() -> None:
    ctx = Context(stage=Stage.OUTPUT, messages=[{"role": "user", "content": "q"}])
    turns = conversation_turns("the answer", ctx)
    assert turns == [Turn("user", "q"), Turn("assistant", "the answer")]
    assert agent_type(turns) == "Agent"


def test_conversation_turns_stale_messages_ignored_for_other_input_text() -> None:
    ctx = Context(messages=[{"role": "user", "content": "old"}])
    assert conversation_turns("new prompt", ctx) == [Turn("user", "new prompt")]
