"""Policies that travel with the weights: a model folder's guardrails.yaml, ``extends: model``, weight pins.

The model folders here hold the example's policy (examples/bundled-model/guardrails.yaml) and a few
bytes standing in for the weights: loading a policy for a model never loads the model itself.
(tests/integration/test_bundled_model.py runs a real tiny model built by examples/bundled-model/build.py.)
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Iterator

import pytest

from guardrails import Guard, PolicyError
from guardrails.bundled import find_model_policy, model_key_of
from guardrails.cli.main import main
from guardrails.cli.policy_pin import pin_policy
from guardrails.policy import load_policy
from guardrails.runtime import ModelNotFound
from guardrails.weights_pin import HASH_CACHE_ENV

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_POLICY = ROOT / "examples" / "bundled-model" / "guardrails.yaml"
FORBIDDEN = "how do I make sarin at home"
REPO = "example-org/tiny-chat"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def private_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(HASH_CACHE_ENV, str(tmp_path / "cache" / "weights-hashes.json"))
    monkeypatch.setenv("GUARDRAILS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "cache"


def make_model(root: Path, *, policy: str | None = None, weights: bytes = b"weights v1") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text("{}")
    (root / "model.safetensors").write_bytes(weights)
    if policy is not None:
        (root / "guardrails.yaml").write_text(policy)
    return root


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "tiny-chat", policy=EXAMPLE_POLICY.read_text())


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


APP_EXTENDS = 'name: my-app\nextends: model\ninput:\n  - filter: regex\n    id: competitor\n    patterns: ["acme corp"]\nrefusal: "Sorry."\n'
APP_PLAIN = 'name: plain-app\ninput:\n  - filter: regex\n    id: competitor\n    patterns: ["acme corp"]\nrefusal: "Sorry."\n'


# -- finding and applying the model's policy --------------------------------------------------


def test_model_folder_policy_applies_with_no_app_policy(model: Path) -> None:
    guard = Guard.for_model(model)
    assert guard.policy.name == "tiny-chat"
    assert guard.model_binding is not None and guard.model_binding.mode == "bundled"
    assert guard.model_binding.policy_file == str(model / "guardrails.yaml")
    verdict = guard.check_input(FORBIDDEN)
    assert verdict.blocked and verdict.violations[0].filter == "weapons"
    assert guard.reply(verdict) == "tiny-chat's publisher does not allow this request."
    assert guard.check_input("key AKIAIOSFODNN7EXAMPLE").action.value == "redact"  # from its `extends: patterns-only`


def test_model_without_policy_gets_the_default_policy(tmp_path: Path) -> None:
    guard = Guard.for_model(make_model(tmp_path / "m"))
    assert guard.policy.name == "default" and guard.model_binding is not None and guard.model_binding.mode == "none"
    with pytest.raises(ModelNotFound, match="does not exist"):
        Guard.for_model(tmp_path / "nowhere")


def test_app_policy_extends_model(model: Path, tmp_path: Path) -> None:
    app = write(tmp_path / "app" / "app.yaml", APP_EXTENDS + "output:\n  - filter: regex\n    id: weapons\n    action: flag\n")
    guard = Guard.for_model(model, app)
    assert guard.policy.name == "my-app" and guard.model_binding is not None and guard.model_binding.mode == "extends"
    assert [b.id for b in guard.filters("input")] == ["length", "secrets", "weapons", "competitor"]
    assert guard.check_input(FORBIDDEN).blocked and guard.check_input("we love acme corp").blocked
    assert not guard.check_output("sarin").blocked  # an app may change an inherited entry (here: flag)
    assert str(model / "guardrails.yaml") in guard.policy.files
    assert guard.reply(guard.check_input(FORBIDDEN)) == "Sorry."


def test_an_app_extending_the_model_cannot_weaken_its_locked_floor(model: Path, tmp_path: Path) -> None:
    weaker = write(tmp_path / "app.yaml", "name: app\nextends: model\ninput:\n  - filter: regex\n    id: weapons\n    action: flag\n")
    with pytest.raises(PolicyError, match=r"app.yaml:6: input\[weapons\].action: .*weaker than the locked block"):
        Guard.for_model(model, weaker)
    stricter = write(tmp_path / "app2.yaml", r"""name: app
extends: model
input:
  - filter: regex
    id: weapons
    patterns: ['\b(nerve agent|sarin|vx gas|weaponi[sz]ed anthrax)\b', 'tabun']
""")
    assert Guard.for_model(model, stricter).check_input("tabun please").blocked


def test_extends_model_without_a_model_is_a_clear_error(tmp_path: Path) -> None:
    app = write(tmp_path / "app.yaml", APP_EXTENDS)
    with pytest.raises(PolicyError) as err:
        Guard.from_policy(app)
    assert "app.yaml:2: extends: 'model'" in str(err.value) and "no model was given" in str(err.value)
    assert "Guard.for_model" in str(err.value)


def test_cli_policy_validate_and_show_resolve_extends_model_with_model(model: Path, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    app = write(tmp_path / "app" / "app.yaml", APP_EXTENDS)
    assert main(["policy", "validate", str(app)]) == 2
    assert "no model was given" in capsys.readouterr().err
    assert main(["policy", "validate", "--model", str(model), str(app)]) == 0
    assert "ok (policy 'my-app'" in capsys.readouterr().out
    assert main(["policy", "show", "--model", str(model), "--json", str(app)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {"weapons", "competitor"} <= {e.get("id") or e["filter"] for e in shown["input"]}


def test_extends_model_of_a_model_without_policy_is_a_clear_error(tmp_path: Path) -> None:
    app = write(tmp_path / "app.yaml", APP_EXTENDS)
    with pytest.raises(PolicyError, match=r"model .* has no policy to build on: there is no guardrails.yaml in"):
        Guard.for_model(make_model(tmp_path / "bare"), app)


def test_bundled_policy_extends_only_within_its_own_folder(tmp_path: Path) -> None:
    write(tmp_path / "outside.yaml", "name: outside\n")
    model = make_model(tmp_path / "models" / "m", policy="name: m\nextends: ../../outside.yaml\n")
    with pytest.raises(PolicyError, match="outside the folder of the policy that extends it"):
        Guard.for_model(model)
    write(model / "base.yaml", 'name: base\ninput:\n  - filter: regex\n    patterns: ["zzz"]\n')
    (model / "guardrails.yaml").write_text("name: m\nextends: base.yaml\n")
    assert Guard.for_model(model).check_input("zzz").blocked
    # ... and an app policy's own folder does not widen what the model's file may read.
    app = write(tmp_path / "app.yaml", "name: app\nextends: model\n")
    (model / "guardrails.yaml").write_text("name: m\nextends: ../../app.yaml\n")
    with pytest.raises(PolicyError, match="outside the folder"):
        Guard.for_model(model, app)


def test_app_policy_not_extending_model_is_stacked_refused_or_ignored(model: Path, tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    app = write(tmp_path / "plain.yaml", APP_PLAIN)
    with caplog.at_level(logging.WARNING, logger="guardrails.bundled"):
        stacked = Guard.for_model(model, app)  # the default: both run, said out loud
    assert "does not build on it" in caplog.text
    assert stacked.model_binding is not None and stacked.model_binding.mode == "stacked"
    assert stacked.policy.name == "plain-app+tiny-chat"
    assert [b.id for b in stacked.filters("input")] == ["model/length", "model/secrets", "model/weapons", "competitor"]
    verdict = stacked.check_input(FORBIDDEN)
    assert verdict.blocked and verdict.violations[0].filter == "model/weapons"
    assert stacked.reply(verdict) == "Sorry."  # the app's refusal
    assert set(stacked.policy.files) >= {str(app.resolve()), str(model / "guardrails.yaml")}
    with pytest.raises(PolicyError, match="does not build on it .*refused"):
        Guard.for_model(model, app, model_policy="refuse")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="guardrails.bundled"):
        ignored = Guard.for_model(model, app, model_policy="ignore")
    assert "does NOT run" in caplog.text
    assert ignored.policy.name == "plain-app" and not ignored.check_input(FORBIDDEN).blocked


def test_model_key_of_reads_where_transformers_loaded_from() -> None:
    class Config:
        _name_or_path = "org/from-config"

    class Model:
        config = Config()

    class Named(Model):
        name_or_path = "/models/x"

    class Pipe:
        task = "text-generation"
        tokenizer = None
        model = Named()

    assert model_key_of(Model()) == "org/from-config"
    assert model_key_of(Named()) == "/models/x"
    assert model_key_of(Pipe()) == "/models/x"
    assert model_key_of(object()) is None
    with pytest.raises(PolicyError, match="cannot tell where"):
        Guard.for_model(object())


def test_the_example_policies_load(model: Path) -> None:
    policy = load_policy(EXAMPLE_POLICY)
    assert policy.name == "tiny-chat" and {cfg.id for cfg in policy.input} >= {"weapons"}
    guard = Guard.for_model(model, EXAMPLE_POLICY.with_name("app.yaml"))  # the deployer's example
    assert guard.model_binding is not None and guard.model_binding.mode == "extends"
    assert guard.check_input("tell me about tabun").blocked and guard.check_input(FORBIDDEN).blocked
    assert guard.check_input("our internal-codename").blocked and not guard.check_input("hello").blocked


# -- weight pins ------------------------------------------------------------------------------


def test_pins_matching_load_changed_byte_refuses_naming_the_file(model: Path) -> None:
    pins = pin_policy(model, model / "guardrails.yaml")
    assert pins == {"model.safetensors": hashlib.sha256(b"weights v1").hexdigest()}
    text = (model / "guardrails.yaml").read_text()
    assert text.startswith(EXAMPLE_POLICY.read_text())  # the publisher's text and comments are kept
    guard = Guard.for_model(model)
    assert guard.model_binding is not None and guard.model_binding.weights_ok
    assert guard.model_binding.weights[0].checked == ("model.safetensors",)
    (model / "model.safetensors").write_bytes(b"weights v2")
    with pytest.raises(PolicyError) as err:
        Guard.for_model(model)
    assert "model.safetensors: sha256 differs from the pin" in str(err.value)
    assert "on_mismatch: refuse" in str(err.value)
    assert Guard.for_model(model, verify_weights=False).policy.name == "tiny-chat"


def test_pins_on_mismatch_warn_logs_and_flags_the_guard(model: Path, caplog: pytest.LogCaptureFixture) -> None:
    pin_policy(model, model / "guardrails.yaml", on_mismatch="warn")
    (model / "model.safetensors").write_bytes(b"fine-tuned")
    with caplog.at_level(logging.WARNING, logger="guardrails.bundled"):
        guard = Guard.for_model(model)
    assert "model.safetensors: sha256 differs" in caplog.text and "on_mismatch: warn" in caplog.text
    assert guard.model_binding is not None and not guard.model_binding.weights_ok
    assert guard.model_binding.to_dict()["weights"][0]["problems"][0].startswith("model.safetensors")
    (model / "extra.safetensors").write_bytes(b"x")
    pin_policy(model, model / "guardrails.yaml")  # re-pinning keeps on_mismatch: warn
    assert "on_mismatch: warn" in (model / "guardrails.yaml").read_text()
    assert Guard.for_model(model).model_binding.weights_ok  # type: ignore[union-attr]


def test_an_app_policy_cannot_waive_the_models_pins(model: Path, tmp_path: Path) -> None:
    pin_policy(model, model / "guardrails.yaml")
    (model / "model.safetensors").write_bytes(b"swapped")
    digest = hashlib.sha256(b"swapped").hexdigest()
    app = write(tmp_path / "app.yaml", APP_EXTENDS + f"weights:\n  on_mismatch: warn\n  sha256:\n    model.safetensors: {digest}\n")
    with pytest.raises(PolicyError, match="differ from the pinned weights"):
        Guard.for_model(model, app)
    guard = Guard.for_model(model, write(tmp_path / "plain.yaml", APP_PLAIN), model_policy="ignore")
    assert guard.model_binding is not None and guard.model_binding.weights == ()  # ignored: its pins too


def test_app_pins_are_checked_against_the_model(tmp_path: Path) -> None:
    bare = make_model(tmp_path / "bare")
    app = write(tmp_path / "app.yaml", APP_PLAIN)
    pin_policy(bare, app)
    assert Guard.for_model(bare, app).model_binding.weights_ok  # type: ignore[union-attr]
    (bare / "model.safetensors").write_bytes(b"other")
    with pytest.raises(PolicyError, match=r"(?s)app.yaml: weights: .*model.safetensors: sha256 differs"):
        Guard.for_model(bare, app)


def test_pin_refuses_a_folder_without_weight_files(tmp_path: Path) -> None:
    empty = make_model(tmp_path / "empty")
    (empty / "model.safetensors").unlink()
    with pytest.raises(PolicyError, match="no weight files"):
        pin_policy(empty, write(tmp_path / "p.yaml", "name: p\n"))


# -- the CLI ----------------------------------------------------------------------------------


def test_cli_policy_pin_then_check_model(model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "pin", str(model), str(model / "guardrails.yaml"), "--on-mismatch", "refuse"]) == 0
    out = capsys.readouterr()
    assert hashlib.sha256(b"weights v1").hexdigest() + "  model.safetensors" in out.out
    assert main(["check", "--model", str(model), FORBIDDEN]) == 1
    assert main(["check", "--model", str(model), "--json", "hello"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["policy"] == "tiny-chat" and result["model"]["mode"] == "bundled" and result["model"]["weights_ok"]
    (model / "model.safetensors").write_bytes(b"tampered")
    assert main(["check", "--model", str(model), "hello"]) == 2
    assert "model.safetensors: sha256 differs" in capsys.readouterr().err


def test_cli_check_model_with_policy_and_model_policy(model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = write(tmp_path / "plain.yaml", APP_PLAIN)
    assert main(["check", "--model", str(model), "--policy", str(app), FORBIDDEN]) == 1  # stacked
    assert main(["check", "--model", str(model), "--policy", str(app), "--model-policy", "ignore", FORBIDDEN]) == 0
    assert main(["check", "--model", str(model), "--policy", str(app), "--model-policy", "refuse", FORBIDDEN]) == 2
    assert "refused (model_policy='refuse')" in capsys.readouterr().err


# -- hub ids: the Hugging Face cache ----------------------------------------------------------


def hf_cache(root: Path, files: dict[str, bytes], *, no_exist: tuple[str, ...] = ()) -> Path:
    """A Hugging Face hub cache holding REPO at COMMIT: snapshot files are links into blobs/."""
    repo = root / ("models--" + REPO.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for name, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / name).symlink_to(Path("../../blobs") / blob.name)
    for name in no_exist:
        marker = repo / ".no_exist" / COMMIT / name
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return snapshot


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from huggingface_hub import constants

    root = tmp_path / "hf-hub"
    root.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(root))
    yield root


def test_hub_id_resolved_from_the_local_cache(hub_cache: Path, private_caches: Path) -> None:
    policy = EXAMPLE_POLICY.read_bytes()
    weights = b"hub weights"
    snapshot = hf_cache(hub_cache, {"config.json": b"{}", "model.safetensors": weights, "guardrails.yaml": policy})
    src = find_model_policy(REPO)
    assert src.status == "found" and src.folder == snapshot and not src.fetched
    # Copied out of the cache's blob links, as a plain file (where a signature check finds FILE.sig).
    assert src.policy_file == private_caches / "model-policies" / "models--example-org--tiny-chat" / COMMIT / "guardrails.yaml"
    assert src.policy_file.read_bytes() == policy and not src.policy_file.is_symlink()
    guard = Guard.for_model(REPO)
    assert guard.policy.name == "tiny-chat" and guard.check_input(FORBIDDEN).blocked
    # Pins are checked against the snapshot's files (links into blobs/).
    pinned = (snapshot / "guardrails.yaml").read_text() + (
        f"weights:\n  sha256:\n    model.safetensors: {hashlib.sha256(b'other').hexdigest()}\n")
    shutil.rmtree(hub_cache)
    hub_cache.mkdir()
    hf_cache(hub_cache, {"model.safetensors": weights, "guardrails.yaml": pinned.encode()})
    with pytest.raises(PolicyError, match="model.safetensors: sha256 differs"):
        Guard.for_model(REPO)


def test_hub_id_known_absent_or_unknown_offline(hub_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hf_cache(hub_cache, {"model.safetensors": b"w"}, no_exist=("guardrails.yaml",))
    assert find_model_policy(REPO).status == "absent"  # the hub said so earlier (.no_exist)
    assert Guard.for_model(REPO).model_binding.mode == "none"  # type: ignore[union-attr]
    src = find_model_policy("example-org/never-downloaded")
    assert src.status == "unknown" and "models prefetch --model" in src.detail
    with caplog.at_level(logging.WARNING, logger="guardrails.bundled"):
        guard = Guard.for_model("example-org/never-downloaded", write(tmp_path / "plain.yaml", APP_PLAIN))
    assert guard.model_binding is not None and guard.model_binding.mode == "unknown" and "offline" in caplog.text
    with pytest.raises(PolicyError, match="offline, and the local cache does not say"):
        Guard.for_model("example-org/never-downloaded", write(tmp_path / "app.yaml", APP_EXTENDS))


def test_models_list_and_prefetch_verify_show_the_models_policy(hub_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hf_cache(hub_cache, {"model.safetensors": b"w", "guardrails.yaml": EXAMPLE_POLICY.read_bytes()})
    assert main(["models", "list", "--model", REPO, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["models"]
    assert rows[0]["model"] == REPO and rows[0]["status"] == "present" and rows[0]["filters"] == ["model policy"]
    assert main(["models", "prefetch", "--verify", "--model", REPO]) == 0
    assert main(["models", "prefetch", "--verify", "--model", "example-org/never-downloaded"]) == 1
    assert "missing    example-org/never-downloaded" in capsys.readouterr().out


def test_hub_policy_signature_is_checked_from_the_cache(hub_cache: Path, tmp_path: Path) -> None:
    signing = pytest.importorskip("guardrails.signing")
    private, public, key_id = signing.generate_key_pair(tmp_path / "keys", "publisher")
    staged = write(tmp_path / "stage" / "guardrails.yaml", EXAMPLE_POLICY.read_text())
    signing.sign_file(staged, signing.load_private_key(private))
    files = {"model.safetensors": b"w", "guardrails.yaml": staged.read_bytes(),
             "guardrails.yaml.sig": (tmp_path / "stage" / "guardrails.yaml.sig").read_bytes()}
    hf_cache(hub_cache, files)
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    shutil.copy(public, trusted / public.name)
    guard = Guard.for_model(REPO, trusted_keys=trusted)
    assert guard.policy.name == "tiny-chat" and guard.policy_signer == key_id
    shutil.rmtree(hub_cache)
    hub_cache.mkdir()
    hf_cache(hub_cache, {**files, "guardrails.yaml": files["guardrails.yaml"].replace(b"sarin", b"salt")})
    with pytest.raises(PolicyError, match="guardrails.yaml"):
        Guard.for_model(REPO, trusted_keys=trusted)


# -- the sidecar reloads a model's own policy ---------------------------------------------------


@pytest.mark.integration
def test_sidecar_app_running_the_models_policy_reloads_when_it_changes(model: Path) -> None:
    import httpx

    from guardrails.server import create_app
    from guardrails.server.config import build_server_config
    from tests.helpers.scripted_upstream import ScriptedUpstream, ServerThread

    with ServerThread(ScriptedUpstream().app()) as upstream:
        config = build_server_config({"upstream": upstream.url, "reload_interval_s": 0.1, "audit": {"path": "off"},
                                      "apps": {"app": {"policy": "model", "model": str(model)}}})
        with ServerThread(create_app(config)) as sidecar:
            def check(text: str) -> dict[str, object]:
                return dict(httpx.post(sidecar.url + "/v1/guard/check", json={"text": text}, timeout=10).json())

            assert check("tell me about tabun")["allowed"] is True
            policy = model / "guardrails.yaml"
            text = policy.read_text()
            assert "sarin" in text
            tmp = policy.with_suffix(".tmp")
            tmp.write_text(text.replace("sarin", "sarin|tabun"))
            tmp.replace(policy)  # write-then-rename, as docs/sidecar.md asks
            deadline = time.monotonic() + 30  # a hang guard only: the reload polls every 0.1 s
            while check("tell me about tabun")["allowed"] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert check("tell me about tabun")["allowed"] is False
