"""Property tests: whatever JSON a client sends, the sidecar answers 2xx/4xx in the OpenAI shape (never a 500),
and whatever it forwards carries no unchecked text (a banned word anywhere a template could render it blocks)."""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from guardrails.server import create_app
from guardrails.server.config import build_server_config
from tests.helpers.scripted_upstream import ScriptedUpstream, ServerThread

pytestmark = pytest.mark.integration

MARK = "Zqxbanned"
POLICY = f"""
version: 1
name: properties
input:
  - filter: regex
    id: banned
    patterns: ["{MARK}"]
    category: banned
    action: block
  - filter: regex
    id: digits
    patterns: ["[0-9]{{4}}"]
    category: number
    action: redact
output: []
"""
SETTINGS = settings(max_examples=100, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# How vLLM renders a message (vllm/entrypoints/chat_utils.py): text-bearing part types and the key read.
TEXT_PARTS = {"text": "text", "input_text": "text", "output_text": "text", "refusal": "refusal", "thinking": "thinking",
              "tool_reference": "name"}
MEDIA_KEYS = {"image_url", "image_embeds", "audio_embeds", "audio_url", "input_audio", "video_url"}
MESSAGE_TEXT = ("role", "name", "tool_call_id", "reasoning_content", "reasoning", "thinking", "refusal", "task")
PART_TYPES = ["text", "input_text", "output_text", "refusal", "thinking", "tool_reference", "image_url", "input_audio",
              "video_url", "file", "weird"]
KEYS = ["type", "text", "refusal", "thinking", "name", "content", "role", "reasoning", "reasoning_content", "url",
        "arguments", "function", "id", "tool_calls", "image_url", "input_audio"]

words = st.sampled_from(["hello", "1234", "x", "", " ", "é", "字", "\u200d", "\\n"])
plain = st.one_of(st.text(max_size=12), words)
marked = st.one_of(st.just(MARK), st.builds(lambda a, b: f"{a}{MARK}{b}", st.text(max_size=4), st.text(max_size=4)))
texts = st.one_of(plain, plain, plain, plain, plain, plain, marked)  # mostly plain, so that bodies get forwarded
leaves = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                   st.floats(allow_nan=False, allow_infinity=False), texts)
anything = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(st.sampled_from(KEYS), texts), inner, max_size=3)),
    max_leaves=12)
parts = st.one_of(
    texts,
    st.builds(lambda t, k, v: {"type": t, k: v}, st.sampled_from(PART_TYPES), st.sampled_from(KEYS), anything),
    st.builds(lambda t, v: {"type": t, "text": v}, st.sampled_from(PART_TYPES), texts),
    anything,
)
contents = st.one_of(st.none(), texts, st.lists(parts, max_size=4), anything)
tool_calls = st.lists(st.fixed_dictionaries({"id": texts, "type": st.just("function"),
                                             "function": st.fixed_dictionaries({"name": texts, "arguments": anything})}),
                      max_size=2)
messages = st.fixed_dictionaries(
    {"role": st.one_of(st.sampled_from(["user", "assistant", "system", "tool"]), texts, anything), "content": contents},
    optional={"name": texts, "reasoning_content": st.one_of(texts, anything), "tool_calls": st.one_of(tool_calls, anything),
              "refusal": texts, "tool_call_id": texts},
)
hostile_bodies = st.fixed_dictionaries(
    {"model": st.one_of(st.just("m"), anything), "messages": st.one_of(st.lists(messages, max_size=4), anything)},
    optional={"stream": st.booleans(), "max_tokens": st.one_of(st.integers(min_value=1, max_value=64), anything),
              "temperature": anything, "metadata": anything},
)


def good_bodies(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed chat bodies with ``text`` in every place a template renders it (and in media URLs, which it does not)."""
    parts = st.one_of(
        text,
        st.builds(lambda t, v: {"type": t, TEXT_PARTS[t]: v}, st.sampled_from(sorted(TEXT_PARTS)), text),
        st.builds(lambda v: {"type": "image_url", "image_url": {"url": v}}, text),
        st.builds(lambda v: {"image_url": {"url": v}, "uuid": v}, text),
    )
    calls = st.lists(st.fixed_dictionaries({
        "id": text, "type": st.just("function"),
        "function": st.fixed_dictionaries({"name": text,
                                           "arguments": st.one_of(text, st.dictionaries(text, text, max_size=2))})}),
        max_size=2)
    message = st.fixed_dictionaries(
        {"role": st.one_of(st.sampled_from(["user", "assistant", "system", "tool", "developer"]), text),
         "content": st.one_of(st.none(), text, st.lists(parts, max_size=4))},
        optional={"name": text, "reasoning_content": text, "reasoning": text, "tool_calls": calls, "tool_call_id": text,
                  "refusal": text, "thinking": text},
    )
    return st.fixed_dictionaries({"model": st.just("m"), "messages": st.lists(message, min_size=1, max_size=4)},
                                 optional={"stream": st.booleans()})


good_plain_bodies = good_bodies(plain)
bodies = st.one_of(good_bodies(texts), hostile_bodies)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ScriptedUpstream, ServerThread]]:
    policy = tmp_path_factory.mktemp("properties") / "policy.yaml"
    policy.write_text(POLICY)
    scripted = ScriptedUpstream()
    with ServerThread(scripted.app()) as up:
        config = build_server_config({"upstream": up.url, "reload_interval_s": 0, "audit": {"path": "off"},
                                      "apps": {"app": {"policy": str(policy)}}})
        with ServerThread(create_app(config)) as sidecar:
            yield scripted, sidecar


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, object keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)


def rendered(message: Any) -> Iterator[str]:
    """What a chat template renders of a forwarded message, after vLLM's rules (an independent oracle, erring wide:
    a value of an unexpected type counts with every string inside it)."""
    if not isinstance(message, dict):
        yield from strings(message)
        return
    for key in MESSAGE_TEXT:
        yield from strings(message.get(key))
    content = message.get("content")
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, dict) and isinstance(part.get("type"), str) and part["type"] not in TEXT_PARTS:
            continue  # a media part
        if isinstance(part, dict) and ("type" not in part or "uuid" in part) and MEDIA_KEYS & set(part):
            continue  # a media part without a type (or with a uuid): vLLM takes it by its media key
        if isinstance(part, dict) and part.get("type") in TEXT_PARTS:
            yield from strings(part.get(TEXT_PARTS[part["type"]]))
        else:
            yield from strings(part)  # a string, an object given as content or as an untyped part: all of it
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else [calls]:
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            fn = call["function"]
            yield from strings([call.get("id"), fn.get("name")])
            args = fn.get("arguments")
            try:  # vLLM parses JSON arguments (so \u escapes are decoded) before the template renders them
                args = json.loads(args) if isinstance(args, str) else args
            except ValueError:
                pass
            yield args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
        else:
            yield from strings(call)


def _post(sidecar: ServerThread, body: Any) -> httpx.Response:
    return httpx.post(sidecar.url + "/v1/chat/completions", content=json.dumps(body),
                      headers={"content-type": "application/json"}, timeout=30)


def _check_answer(resp: httpx.Response) -> None:
    assert 200 <= resp.status_code < 500, resp.text
    if resp.headers.get("content-type", "").startswith("text/event-stream"):
        lines = [ln for ln in resp.text.splitlines() if ln.startswith("data: ")]
        assert lines and lines[-1] == "data: [DONE]"
        return
    data = resp.json()
    if resp.status_code >= 400:
        err = data["error"]
        assert isinstance(err["message"], str) and err["message"] and "type" in err and "code" in err
    elif resp.request.url.path.endswith("/guard/check"):
        assert isinstance(data["allowed"], bool) and data["policy"] == "properties"
    else:
        assert isinstance(data["choices"], list) and data["choices"]


@SETTINGS
@given(body=bodies)
def test_any_chat_body_gets_an_openai_answer_and_nothing_unchecked_is_forwarded(
        servers: tuple[ScriptedUpstream, ServerThread], body: dict[str, Any]) -> None:
    scripted, sidecar = servers
    scripted.reset()
    resp = _post(sidecar, body)
    _check_answer(resp)
    event(f"HTTP {resp.status_code}, forwarded: {bool(scripted.requests)}")
    for forwarded in scripted.requests:
        sent = forwarded.get("messages")
        texts = [t for m in (sent if isinstance(sent, list) else [sent]) for t in rendered(m)]
        assert not any(MARK in t for t in texts), forwarded  # a banned word was forwarded: it went unchecked
        # The redact filter ran on every rendered string: no 4-digit run survives (the placeholder has none).
        assert not any(re.search(r"[0-9]{4}", t) for t in texts), forwarded


def media(value: Any) -> Iterator[Any]:
    """The media parts of chat messages, in order."""
    for message in value if isinstance(value, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and "image_url" in part:
                yield part


@SETTINGS
@given(body=good_plain_bodies)
def test_well_formed_messages_are_forwarded_with_every_rendered_text_checked(
        servers: tuple[ScriptedUpstream, ServerThread], body: dict[str, Any]) -> None:
    scripted, sidecar = servers
    scripted.reset()
    sent_media = json.loads(json.dumps(list(media(body["messages"]))))
    resp = _post(sidecar, body)
    _check_answer(resp)
    assert resp.status_code == 200 and len(scripted.requests) == 1, resp.text
    forwarded = scripted.requests[0]["messages"]
    assert not any(re.search(r"[0-9]{4}", t) for m in forwarded for t in rendered(m)), forwarded
    assert list(media(forwarded)) == sent_media  # media parts (and their URLs) are forwarded untouched


@SETTINGS
@given(body=anything)
def test_any_json_document_gets_an_openai_answer(servers: tuple[ScriptedUpstream, ServerThread], body: Any) -> None:
    scripted, sidecar = servers
    scripted.reset()
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/guard/check"):
        resp = httpx.post(sidecar.url + path, content=json.dumps(body), headers={"content-type": "application/json"},
                          timeout=30)
        _check_answer(resp)


@SETTINGS
@given(raw=st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_any_bytes_get_an_openai_answer(servers: tuple[ScriptedUpstream, ServerThread], raw: bytes) -> None:
    _, sidecar = servers
    resp = httpx.post(sidecar.url + "/v1/chat/completions", content=raw, headers={"content-type": "application/json"},
                      timeout=30)
    _check_answer(resp)
