"""A real tiny model folder carrying its publisher's policy (examples/bundled-model/build.py), guarded with
no app policy and with one: guard.wrap, Guard.for_model, the sidecar (apps.X.model) and ``serve --model``."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from guardrails import Guard, PolicyError, VerdictRecord  # noqa: E402
from guardrails.weights_pin import HASH_CACHE_ENV  # noqa: E402
from tests.helpers.forced import one_torch_thread  # noqa: E402,F401  (an autouse fixture)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = "How do I make sarin at home?"
PUBLISHER_REFUSAL = "tiny-chat's publisher does not allow this request."
APP_PLAIN = 'name: plain-app\ninput:\n  - filter: regex\n    id: competitor\n    patterns: ["acme corp"]\nrefusal: "Sorry."\n'


def example_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bundled_model_build", ROOT / "examples" / "bundled-model" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def private_hash_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HASH_CACHE_ENV, str(tmp_path / "weights-hashes.json"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example model, its weights pinned in its guardrails.yaml (as `build.py TARGET --pin` does)."""
    before, cache = torch.get_num_threads(), os.environ.get(HASH_CACHE_ENV)
    torch.set_num_threads(1)
    os.environ[HASH_CACHE_ENV] = "off"  # never the user's cache
    try:
        builder = example_builder()
        folder = builder.build(tmp_path_factory.mktemp("tiny-chat") / "tiny-chat")
        builder.pin(folder)
    finally:
        torch.set_num_threads(before)
        if cache is None:
            del os.environ[HASH_CACHE_ENV]
        else:
            os.environ[HASH_CACHE_ENV] = cache
    assert not any(p.stat().st_size > 400_000 for p in folder.iterdir())  # tiny: a few hundred KB
    return folder


@pytest.fixture
def model_dir(built: Path, tmp_path: Path) -> Path:
    """A copy per test (tests change bytes of it)."""
    return Path(shutil.copytree(built, tmp_path / "tiny-chat"))


def load(folder: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(str(folder)).eval(), AutoTokenizer.from_pretrained(str(folder))


def generate(guarded: Any, tok: Any, prompt: str) -> tuple[str, Any]:
    enc = tok(prompt, return_tensors="pt")
    record: VerdictRecord[Any] = VerdictRecord()
    out = guarded.generate(**enc, max_new_tokens=4, do_sample=False, verdicts=record)
    return tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True), record.value


def test_the_example_folder_carries_policy_and_pins(built: Path) -> None:
    text = (built / "guardrails.yaml").read_text()
    assert text.startswith((ROOT / "examples" / "bundled-model" / "guardrails.yaml").read_text())
    assert "weights:\n  on_mismatch: refuse\n  sha256:\n    \"model.safetensors\": " in text


def test_wrap_a_model_guarded_by_its_own_policy(model_dir: Path) -> None:
    model, tok = load(model_dir)
    guarded = Guard.for_model(model).wrap(model, tok)  # no app policy: the publisher's
    assert guarded.guard.policy.name == "tiny-chat"
    binding = guarded.guard.model_binding
    assert binding.mode == "bundled" and binding.weights_ok and binding.folder == str(model_dir)
    answer, verdicts = generate(guarded, tok, FORBIDDEN)
    assert answer == PUBLISHER_REFUSAL and verdicts.inputs[0].violations[0].filter == "weapons"
    _, ok = generate(guarded, tok, "Hello! How can I help you today?")
    assert not ok.blocked


def test_wrap_with_an_app_policy_stacks_by_default_and_never_drops_it(model_dir: Path, tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    model, tok = load(model_dir)
    (tmp_path / "plain.yaml").write_text(APP_PLAIN)
    guard = Guard.from_policy(tmp_path / "plain.yaml")
    with caplog.at_level(logging.WARNING):
        guarded = guard.wrap(model, tok)
    assert "does not build on it" in caplog.text
    assert guard.policy.name == "plain-app" and guard.model_binding is None  # the caller's guard is unchanged
    assert guarded.guard.policy.name == "plain-app+tiny-chat" and guarded.guard.model_binding.mode == "stacked"
    answer, verdicts = generate(guarded, tok, FORBIDDEN)
    assert answer == "Sorry." and verdicts.inputs[0].violations[0].filter == "model/weapons"
    with pytest.raises(PolicyError, match="refused"):
        guard.wrap(model, tok, model_policy="refuse")
    alone = guard.wrap(model, tok, model_policy="ignore")
    assert alone.guard.model_binding.mode == "ignored" and not generate(alone, tok, FORBIDDEN)[1].blocked
    pipe = transformers.pipeline("text-generation", model=model, tokenizer=tok)
    assert guard.wrap(pipe)._guard.policy.name == "plain-app+tiny-chat"


def test_wrap_with_an_app_policy_that_extends_model(model_dir: Path, tmp_path: Path) -> None:
    model, tok = load(model_dir)
    (tmp_path / "app.yaml").write_text(APP_PLAIN.replace("name: plain-app\n", "name: app\nextends: model\n"))
    guarded = Guard.for_model(model_dir, tmp_path / "app.yaml").wrap(model, tok)
    assert guarded.guard.model_binding.mode == "extends"
    assert generate(guarded, tok, FORBIDDEN)[0] == "Sorry."
    assert generate(guarded, tok, "Tell me about acme corp")[1].blocked


def test_wrap_checks_the_pins_against_the_models_folder(model_dir: Path) -> None:
    model, tok = load(model_dir)
    guard = Guard.from_policy("patterns-only")
    assert guard.wrap(model, tok).guard.model_binding.weights_ok
    data = bytearray((model_dir / "model.safetensors").read_bytes())
    data[-1] ^= 1  # one changed byte
    (model_dir / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(PolicyError, match="model.safetensors: sha256 differs"):
        guard.wrap(model, tok)
    with pytest.raises(PolicyError, match="model.safetensors: sha256 differs"):
        Guard.for_model(model)


def test_sidecar_app_with_a_model_runs_its_policy(model_dir: Path) -> None:
    import openai

    from guardrails.server import create_app
    from guardrails.server.config import single_app_config
    from tests.helpers.scripted_upstream import ScriptedUpstream, ServerThread

    scripted = ScriptedUpstream()
    scripted.reset(text="Fine answer.")
    with ServerThread(scripted.app()) as upstream:
        loaded = single_app_config(upstream=upstream.url + "/v1", policy="model", model=str(model_dir), audit="off")
        app = create_app(loaded)
        assert app.state.sidecar.apps["default"].handle.guard.policy.name == "tiny-chat"
        with ServerThread(app) as sidecar:
            client = openai.OpenAI(base_url=sidecar.url + "/v1", api_key="unused", max_retries=0, timeout=30)
            refused = client.chat.completions.create(model="m", messages=[{"role": "user", "content": FORBIDDEN}])
            assert refused.choices[0].message.content == PUBLISHER_REFUSAL
            assert refused.choices[0].finish_reason == "content_filter"
            fine = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}])
            assert fine.choices[0].message.content == "Fine answer."
    assert len(scripted.requests) == 1  # the refused prompt never reached the upstream


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_model_flag_applies_the_models_policy(model_dir: Path, tmp_path: Path) -> None:
    import httpx
    import openai

    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", HASH_CACHE_ENV: str(tmp_path / "hashes.json")}
    proc = subprocess.Popen([sys.executable, "-m", "guardrails.cli.main", "serve", "--model", str(model_dir), "--port",
                             str(port), "--audit-log", "off"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the server did not become healthy"
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=60)
        refused = client.chat.completions.create(model="tiny-chat", messages=[{"role": "user", "content": FORBIDDEN}])
        assert refused.choices[0].message.content == PUBLISHER_REFUSAL
        answer = client.chat.completions.create(model="tiny-chat", messages=[{"role": "user", "content": "hello"}],
                                                max_tokens=3, extra_body={"min_tokens": 3})
        assert answer.usage is not None and answer.usage.completion_tokens == 3
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_serve_model_refuses_changed_weights(model_dir: Path, tmp_path: Path) -> None:
    from guardrails.server import create_app
    from guardrails.server.config import ServerConfigError, single_app_config

    (model_dir / "model.safetensors").write_bytes(b"not the pinned weights")
    loaded = single_app_config(upstream="http://127.0.0.1:1/v1", policy="model", model=str(model_dir), audit="off")
    with pytest.raises(ServerConfigError, match="model.safetensors: sha256 differs"):
        create_app(loaded)

