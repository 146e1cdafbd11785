"""safety_model end to end: tiny Llama Guard look-alikes in process, and a real local HTTP server."""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from guardrails.errors import PolicyError

from guardrails import Guard
from guardrails.filters.safety_model import SafetyModelFilter, conversation_turns
from guardrails.safety_prompts import build_prompt
from guardrails.types import Context, Stage
from tests.helpers.tiny_guard import (
    CONTENT_PARTS_TEMPLATE,
    LLAMA_GUARD_3_TEMPLATE,
    build_tiny_guard,
    chat,
    first_step_probability,
    train_tokenizer,
    turns,
)

pytestmark = pytest.mark.integration

pytest.importorskip("transformers")
pytest.importorskip("fastapi")

from fastapi import FastAPI, Request  # noqa: E402 - module level: the app's annotations are strings
from fastapi.responses import JSONResponse  # noqa: E402


def guard_for(entry: dict[str, Any], stage: str = "input", on_error: str = "block") -> Guard:
    return Guard.from_policy({"name": "t", stage: [{"filter": "safety_model", **entry}], "on_error": on_error})


def categories(verdict: Any) -> list[str]:
    return sorted(v.category for v in verdict.violations)


# -- in process -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return train_tokenizer(tmp_path_factory.mktemp("guard_tok"))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, tokenizer_dir: Path) -> dict[str, str]:
    root = tmp_path_factory.mktemp("guards")
    built = {
        "unsafe": build_tiny_guard(root / "unsafe", tokenizer_dir, answer="unsafe\nS1,S10"),
        "safe": build_tiny_guard(root / "safe", tokenizer_dir, answer="safe"),
        "garbage": build_tiny_guard(root / "garbage", tokenizer_dir, answer="Sure!"),
        "lg4": build_tiny_guard(root / "lg4", tokenizer_dir, answer="\n\nunsafe\nS9", fmt="llama_guard_4", chat_template=None),
        "parts": build_tiny_guard(root / "parts", tokenizer_dir, answer="unsafe\nS7", chat_template=CONTENT_PARTS_TEMPLATE),
        "close": build_tiny_guard(root / "close", tokenizer_dir, answer="", first_logits=(12.0, 11.0), forced_tail="\nS10"),
        "self_harm": build_tiny_guard(root / "self_harm", tokenizer_dir, answer="unsafe\nS11"),
    }
    return {k: str(v) for k, v in built.items()}


def test_builder_llama_guard_3_equals_real_chat_template(tokenizer_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    tok.chat_template = LLAMA_GUARD_3_TEMPLATE
    for conversation in [("How do I bake bread?",), ("How do I bake bread?", " Mix flour and water. "), ("a", "b", "c")]:
        rendered = tok.apply_chat_template(chat(*conversation), tokenize=False, add_generation_prompt=True)
        assert rendered == build_prompt(turns(*conversation), "llama_guard_3")


def test_local_unsafe_answer_blocks_with_hazard_names(models: dict[str, str]) -> None:
    verdict = guard_for({"model": models["unsafe"]}).check_input("How do I hurt someone?")
    assert not verdict.allowed
    assert categories(verdict) == ["hate", "violent_crimes"]
    assert verdict.scores["safety_model"]["violent_crimes"] == pytest.approx(1.0, abs=1e-6)


def test_local_unenforced_categories_allowed_but_scored(models: dict[str, str]) -> None:
    verdict = guard_for({"model": models["unsafe"], "categories": ["S2", "privacy"]}).check_input("text")
    assert verdict.allowed and verdict.violations == ()
    assert set(verdict.scores["safety_model"]) == {"unsafe", "violent_crimes", "hate"}


def test_local_one_enforced_category_only_that_one_reported(models: dict[str, str]) -> None:
    verdict = guard_for({"model": models["unsafe"], "categories": ["hate"], "action": "flag"}).check_input("text")
    assert verdict.allowed and verdict.action.value == "flag"
    assert categories(verdict) == ["hate"]


def test_local_llama_guard_s11_is_self_harm_and_follows_the_category_rules(models: dict[str, str]) -> None:
    """One vocabulary: Llama Guard's S11 is the policy's self_harm, with the same per-category settings
    as the built-in detector (off, flag, respond with the policy's message)."""
    verdict = guard_for({"model": models["self_harm"]}).check_input("I don't want to be here anymore")
    assert categories(verdict) == ["self_harm"] and verdict.action.value == "block"
    support = "You are not alone; please talk to someone you trust."
    guard = Guard.from_policy({"name": "t", "input": [{"filter": "safety_model", "model": models["self_harm"],
                                                       "categories": {"self_harm": {"action": "respond"}, "S1": "block"}}],
                               "responses": {"self_harm": support}})
    responded = guard.check_input("I don't want to be here anymore")
    assert responded.action.value == "respond" and not responded.allowed
    assert responded.response == support == guard.reply(responded)
    assert responded.to_dict()["response"] == support
    off = guard_for({"model": models["self_harm"], "categories": {"self_harm": "off", "violent_crimes": 0.5}})
    assert off.check_input("I don't want to be here anymore").allowed


def test_local_safe_answer_allows(models: dict[str, str]) -> None:
    verdict = guard_for({"model": models["safe"]}).check_input(chat("How do I bake bread?"))
    assert verdict.allowed and verdict.violations == ()
    assert verdict.scores["safety_model"]["unsafe"] < 1e-6


def test_local_output_stage_rates_agent_turn_with_template(models: dict[str, str]) -> None:
    guard = guard_for({"model": models["unsafe"]}, stage="output")
    ctx = Context(messages=chat("How do I bake bread?"))  # type: ignore[arg-type]
    verdict = guard.check_output("Here is how to build a weapon.", ctx=ctx)
    assert not verdict.allowed
    bound = guard.filters("output")[0].filter
    assert isinstance(bound, SafetyModelFilter)
    rated = conversation_turns("Here is how to build a weapon.", Context(stage=Stage.OUTPUT, messages=chat("q")))  # type: ignore[arg-type]
    prompt = bound._backend.prompt(rated)  # type: ignore[union-attr]
    assert "'Agent' messages" in prompt and prompt.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_local_no_template_llama4_tokens_uses_llama_guard_4(models: dict[str, str]) -> None:
    guard = guard_for({"model": models["lg4"]})
    verdict = guard.check_input("How do I make a bomb?")
    assert categories(verdict) == ["indiscriminate_weapons"]
    backend = guard.filters("input")[0].filter._backend  # type: ignore[attr-defined]
    assert backend.prompt(turns("q")) == build_prompt(turns("q"), "llama_guard_4")


def test_local_content_parts_template_gets_parts(models: dict[str, str]) -> None:
    guard = guard_for({"model": models["parts"]})
    verdict = guard.check_input(chat("q", "a", "What is her home address?"))
    assert categories(verdict) == ["privacy"]
    backend = guard.filters("input")[0].filter._backend  # type: ignore[attr-defined]
    conversation = turns("q", "a", "What is her home address?")
    assert backend._parts is True
    assert backend.prompt(conversation) == build_prompt(conversation, "llama_guard_3")


def test_local_probability_below_greedy_reported_and_allowed(models: dict[str, str]) -> None:
    from transformers import AutoTokenizer

    expected = first_step_probability(len(AutoTokenizer.from_pretrained(models["close"])), 12.0, 11.0)
    verdict = guard_for({"model": models["close"]}).check_input("borderline")
    assert verdict.allowed
    assert verdict.scores["safety_model"]["unsafe"] == pytest.approx(expected, rel=1e-3)
    assert 0.2 < expected < 0.3


def test_local_threshold_under_probability_blocks_with_forced_categories(models: dict[str, str]) -> None:
    verdict = guard_for({"model": models["close"], "threshold": 0.2}).check_input("borderline")
    assert not verdict.allowed
    assert categories(verdict) == ["hate"]
    assert 0.2 < verdict.violations[0].score < 0.3


def test_local_garbage_answer_follows_on_error(models: dict[str, str]) -> None:
    closed = guard_for({"model": models["garbage"]}).check_input("text")
    assert not closed.allowed
    assert closed.errors and "AnswerParseError" in (closed.errors[0].error or "")
    opened = guard_for({"model": models["garbage"]}, on_error="allow").check_input("text")
    assert opened.allowed and opened.errors


def test_local_async_check_blocks(models: dict[str, str]) -> None:
    verdict = asyncio.run(guard_for({"model": models["unsafe"]}).acheck_input(chat("q", "a", "q2")))
    assert not verdict.allowed


def test_local_missing_model_path_is_filter_error(tmp_path: Path) -> None:
    verdict = guard_for({"model": str(tmp_path / "absent")}).check_input("text")
    assert not verdict.allowed and "ModelNotFound" in (verdict.errors[0].error or "")


# -- remote server --------------------------------------------------------------------------


class Script:
    """What the fake guard server answers, keyed by the requested model name."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        # "slow" models answer only once this is set (at the end of the module): a client that waits for
        # them waits for good, so only its own timeouts can end its check.
        self.release = threading.Event()

    def answer(self, model: str) -> tuple[int, str | None, bool]:
        """(status, text, held) for one request; a held answer waits for ``release``."""
        n = self.counts[model] = self.counts.get(model, 0) + 1
        if model.startswith("flaky"):
            return (503, None, False) if n <= 2 else (200, "unsafe\nS10", False)
        if model.startswith("slow"):
            return 200, "safe", True
        if model == "reject":
            return 400, None, False
        if model == "garbage":
            return 200, "I am a banana", False
        if "unsafe" in model:
            return 200, "unsafe\nS1", False
        return 200, "safe", False


def make_app(script: Script) -> Any:
    app = FastAPI()

    async def respond(request: Request, kind: str) -> Any:
        body = await request.json()
        script.requests.append({"kind": kind, "auth": request.headers.get("authorization"), **body})
        status, text, held = script.answer(body["model"])
        if held:
            await asyncio.to_thread(script.release.wait, 60)
        if status != 200:
            return JSONResponse({"error": {"message": "scripted failure"}}, status_code=status)
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
        if kind == "chat":
            choice["message"] = {"role": "assistant", "content": text}
            if body.get("logprobs"):
                choice["logprobs"] = {
                    "content": [
                        {
                            "token": "safe",
                            "logprob": math.log(0.7),
                            "top_logprobs": [{"token": "safe", "logprob": math.log(0.7)}, {"token": "unsafe", "logprob": math.log(0.3)}],
                        }
                    ]
                }
        else:
            choice["text"] = text
        return {"id": "x", "object": "chat.completion", "model": body["model"], "choices": [choice]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        return await respond(request, "chat")

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        return await respond(request, "completions")

    @app.get("/v1/models")
    async def list_models() -> Any:
        return {"object": "list", "data": [{"id": "guard-unsafe", "object": "model"}]}

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Script]]:
    import uvicorn

    script = Script()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(make_app(script), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started
    yield f"http://127.0.0.1:{port}", script
    script.release.set()
    srv.should_exit = True
    thread.join(5)
    sock.close()


def requests_for(script: Script, model: str) -> list[dict[str, Any]]:
    return [r for r in script.requests if r["model"] == model]


def test_remote_chat_unsafe_blocks_and_sends_guard_turns(server: tuple[str, Script], monkeypatch: pytest.MonkeyPatch) -> None:
    url, script = server
    monkeypatch.setenv("GUARD_TEST_KEY", "k-123")
    guard = guard_for({"endpoint": url, "endpoint_model": "guard-unsafe-a", "api_key": "${GUARD_TEST_KEY}"})
    messages = [{"role": "system", "content": "sys"}, *chat("q1", "a1", "q2")]
    verdict = guard.check_input(messages)
    assert categories(verdict) == ["violent_crimes"] and not verdict.allowed
    sent = requests_for(script, "guard-unsafe-a")[-1]
    assert sent["kind"] == "chat" and sent["auth"] == "Bearer k-123"
    assert sent["messages"] == chat("q1", "a1", "q2")
    assert sent["temperature"] == 0 and sent["max_tokens"] == 20


def test_remote_output_stage_sends_answer_as_assistant(server: tuple[str, Script]) -> None:
    url, script = server
    guard = guard_for({"endpoint": url + "/v1/", "endpoint_model": "guard-safe-b"}, stage="output")
    verdict = guard.check_output("the answer", ctx=Context(messages=chat("q")))  # type: ignore[arg-type]
    assert verdict.allowed
    assert requests_for(script, "guard-safe-b")[-1]["messages"] == chat("q", "the answer")


def test_remote_two_failures_then_success_retried(server: tuple[str, Script]) -> None:
    url, script = server
    verdict = guard_for({"endpoint": url, "endpoint_model": "flaky-1", "retries": 2, "backoff_ms": 10}).check_input("x")
    assert categories(verdict) == ["hate"]
    assert len(requests_for(script, "flaky-1")) == 3


def test_remote_retries_exhausted_is_filter_error(server: tuple[str, Script]) -> None:
    url, script = server
    verdict = guard_for({"endpoint": url, "endpoint_model": "flaky-2", "retries": 1, "backoff_ms": 10}).check_input("x")
    assert not verdict.allowed and "HTTP 503" in (verdict.errors[0].error or "")
    assert len(requests_for(script, "flaky-2")) == 2


def test_remote_client_error_not_retried(server: tuple[str, Script]) -> None:
    url, script = server
    before = len(requests_for(script, "reject"))
    verdict = guard_for({"endpoint": url, "endpoint_model": "reject", "retries": 3, "backoff_ms": 10}).check_input("x")
    assert verdict.errors and "HTTP 400" in (verdict.errors[0].error or "")
    assert len(requests_for(script, "reject")) == before + 1


def test_remote_slow_server_times_out_per_request(server: tuple[str, Script]) -> None:
    # The server never answers during the test: the check ends only through the per-request timeout,
    # once for the first try and once for its one retry.
    url, script = server
    verdict = guard_for({"endpoint": url, "endpoint_model": "slow-1", "request_timeout_ms": 200, "retries": 1, "backoff_ms": 10}).check_input("x")
    assert not verdict.allowed and "FilterTimeout" in (verdict.errors[0].error or "")
    deadline = time.monotonic() + 30  # the server may log the retry a moment after the client gave up on it
    while len(requests_for(script, "slow-1")) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(requests_for(script, "slow-1")) == 2


def test_remote_overall_timeout_bounds_retries(server: tuple[str, Script]) -> None:
    # Five retries of 300 ms tries would take 1.8 s; the entry's timeout_ms (400) ends the check first, so
    # at most two tries ever start and the error is the engine's timeout, not the filter's own.
    url, script = server
    guard = guard_for({"endpoint": url, "endpoint_model": "slow-2", "timeout_ms": 400, "request_timeout_ms": 300, "retries": 5, "backoff_ms": 10})
    verdict = asyncio.run(guard.acheck_input("x"))
    assert not verdict.allowed and "timeout after 400 ms" in (verdict.errors[0].error or "")
    assert len(requests_for(script, "slow-2")) <= 2


def test_remote_async_retry_then_success(server: tuple[str, Script]) -> None:
    url, script = server
    guard = guard_for({"endpoint": url, "endpoint_model": "flaky-3", "retries": 2, "backoff_ms": 10})
    verdict = asyncio.run(guard.acheck_input(chat("q")))
    assert categories(verdict) == ["hate"] and len(requests_for(script, "flaky-3")) == 3


def test_remote_completions_sends_llama_guard_4_prompt(server: tuple[str, Script]) -> None:
    url, script = server
    guard = guard_for({"endpoint": url, "endpoint_model": "llama-guard-4-unsafe", "api": "completions"})
    verdict = guard.check_input("How do I make a bomb?")
    assert categories(verdict) == ["violent_crimes"]
    sent = requests_for(script, "llama-guard-4-unsafe")[-1]
    assert sent["kind"] == "completions" and "<|begin_of_text|>" + sent["prompt"] == build_prompt(turns("How do I make a bomb?"), "llama_guard_4")


def test_remote_logprobs_scored_and_thresholded(server: tuple[str, Script]) -> None:
    url, _ = server
    plain = guard_for({"endpoint": url, "endpoint_model": "guard-safe-c", "logprobs": True}).check_input("x")
    assert plain.allowed and plain.scores["safety_model"]["unsafe"] == pytest.approx(0.3)
    strict = guard_for({"endpoint": url, "endpoint_model": "guard-safe-c", "logprobs": True, "threshold": 0.25}).check_input("x")
    assert not strict.allowed and categories(strict) == ["unsafe"]


def test_remote_endpoint_model_defaults_to_first_listed(server: tuple[str, Script]) -> None:
    url, script = server
    verdict = guard_for({"endpoint": url}).check_input("x")
    assert categories(verdict) == ["violent_crimes"]
    assert script.requests[-1]["model"] == "guard-unsafe"


def test_remote_garbage_and_missing_key_and_refused_are_filter_errors(server: tuple[str, Script], monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = server
    garbage = guard_for({"endpoint": url, "endpoint_model": "garbage"}).check_input("x")
    assert "AnswerParseError" in (garbage.errors[0].error or "")
    monkeypatch.delenv("GUARD_ABSENT_KEY", raising=False)
    # Dict policies interpolate ${VAR} like YAML files: a missing variable is a policy error, up front.
    with pytest.raises(PolicyError, match="environment variable GUARD_ABSENT_KEY is not set"):
        guard_for({"endpoint": url, "endpoint_model": "guard-safe", "api_key": "${GUARD_ABSENT_KEY}"})
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    refused = guard_for({"endpoint": f"http://127.0.0.1:{port}", "endpoint_model": "m", "retries": 1, "backoff_ms": 10}).check_input("x")
    assert not refused.allowed and "ConnectError" in (refused.errors[0].error or "")
