"""Server config loading: located errors, key sources, single-app mode, URL normalisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrails.server.config import (
    ServerConfigError,
    build_server_config,
    hash_key,
    load_server_config,
    normalize_upstream,
    single_app_config,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "server.yaml"
    path.write_text(text)
    return path


def test_config_valid_file_resolves_keys_and_relative_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GR_UNIT_KEY_A", "key-a")
    (tmp_path / "keys.txt").write_text("# comment\nkey-b1\n\nkey-b2\n")
    path = _write(tmp_path, """
upstream: http://127.0.0.1:8000
apps:
  a:
    policy: policies/a.yaml
    keys: [{env: GR_UNIT_KEY_A}]
  b:
    policy: default
    keys: [{file: keys.txt}]
    upstream: http://10.0.0.2:9000/custom/v1/
    block_style: error
""")
    loaded = load_server_config(path)
    assert loaded.config.upstream == "http://127.0.0.1:8000/v1"
    assert loaded.config.apps["b"].upstream == "http://10.0.0.2:9000/custom/v1"
    assert loaded.key_hashes == {hash_key("key-a"): "a", hash_key("key-b1"): "b", hash_key("key-b2"): "b"}
    assert loaded.policies == {"a": str((tmp_path / "policies" / "a.yaml").resolve()), "b": "default"}
    assert loaded.open_app is None
    assert "key-a" not in repr(loaded)


def test_config_every_problem_named_with_file_line_key(tmp_path: Path) -> None:
    path = _write(tmp_path, """
upstream: http://127.0.0.1:8000/v1
apps:
  a:
    keys: [{env: X}]
    block_style: loud
    limits: {max_tokens: 0, speed: 3}
""")
    with pytest.raises(ServerConfigError) as info:
        load_server_config(path)
    problems = info.value.problems
    assert f"{path}:6: apps.a.block_style: expected 'refusal' or 'error', got 'loud'" in problems
    assert f"{path}:7: apps.a.limits.max_tokens: expected a number greater than 0, got 0" in problems
    assert f"{path}:7: apps.a.limits.speed: unknown key" in problems


def test_config_inline_key_rejected_without_echoing_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "upstream: http://h:1/v1\napps:\n  a:\n    keys: [sk-live-very-secret-value]\n")
    with pytest.raises(ServerConfigError) as info:
        load_server_config(path)
    assert "sk-live-very-secret-value" not in str(info.value)
    assert f"{path}:4: apps.a.keys[0]: expected {{env: VAR}} or {{file: PATH}}" in str(info.value)


def test_config_missing_env_key_and_key_file_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GR_UNIT_UNSET", raising=False)
    path = _write(tmp_path, "upstream: http://h:1/v1\napps:\n  a:\n    keys: [{env: GR_UNIT_UNSET}, {file: nope.txt}]\n")
    with pytest.raises(ServerConfigError) as info:
        load_server_config(path)
    text = str(info.value)
    assert f"{path}:4: apps.a.keys[0].env: environment variable GR_UNIT_UNSET is not set or empty" in text
    assert "apps.a.keys[1].file: cannot read key file" in text


def test_config_several_apps_each_need_keys_and_an_upstream() -> None:
    with pytest.raises(ServerConfigError, match="with several apps, each needs 'keys'"):
        build_server_config({"upstream": "http://h:1", "apps": {"a": {}, "b": {}}})
    with pytest.raises(ServerConfigError, match="no upstream for app"):
        build_server_config({"apps": {"a": {}}})


def test_config_same_key_for_two_apps_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GR_UNIT_K1", "same")
    monkeypatch.setenv("GR_UNIT_K2", "same")
    with pytest.raises(ServerConfigError, match="the same key is also given to app 'a'"):
        build_server_config({"upstream": "http://h:1", "apps": {"a": {"keys": [{"env": "GR_UNIT_K1"}]},
                                                                "b": {"keys": [{"env": "GR_UNIT_K2"}]}}})


def test_config_single_app_without_keys_is_open() -> None:
    loaded = single_app_config(upstream="http://127.0.0.1:8000", policy="default")
    assert loaded.open_app == "default"
    with pytest.raises(ServerConfigError, match="--upstream: upstream: expected an http"):
        single_app_config(upstream="localhost:8000")


def test_config_normalize_upstream_adds_v1_only_to_bare_hosts() -> None:
    assert normalize_upstream("http://h:8000/") == "http://h:8000/v1"
    assert normalize_upstream("https://h/api/v1") == "https://h/api/v1"
    with pytest.raises(ValueError):
        normalize_upstream("h:8000")


def test_config_bad_yaml_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "apps:\n  a: [unclosed\n")
    with pytest.raises(ServerConfigError, match=f"{path}:\\d+: invalid YAML"):
        load_server_config(path)


def test_config_example_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_KEY", "example-support-key")
    monkeypatch.setenv("INTERNAL_KEY", "example-internal-key")
    example = Path(__file__).resolve().parents[2] / "examples" / "server.yaml"
    loaded = load_server_config(example)
    assert set(loaded.config.apps) == {"support", "internal-tools"}
    assert all(Path(p).is_file() for p in loaded.policies.values())
    assert loaded.config.apps["internal-tools"].block_style == "error"


def test_checks_run_on_the_event_loop_only_when_cheap(tmp_path: Path) -> None:
    """String-only policies run inline up to HEAVY_UNITS; light ones (pii, builtin) only on short texts; model ones
    never; heavy checks of any policy go to a thread, one of at most max_heavy_checks at once."""
    import asyncio
    import threading

    from guardrails.server.state import HEAVY_UNITS, INLINE_CHARS, GuardHandle, Sidecar

    patterns = GuardHandle.build("patterns-only")
    default = GuardHandle.build("default")
    assert patterns.inline and patterns.light
    assert default.light and not default.inline
    # A PII filter with an NER model is not light work, nor is a custom filter that does not say it is.
    (tmp_path / "ner.yaml").write_text("version: 1\ninput:\n  - filter: pii\n    ner_model: some/ner-folder\n")
    (tmp_path / "custom.yaml").write_text(
        "version: 1\ninput:\n  - filter: tests.helpers.fakes:PatternCostFilter\n    word: x\n")
    assert not GuardHandle.build(str(tmp_path / "ner.yaml")).light
    assert not GuardHandle.build(str(tmp_path / "custom.yaml"), trust_plugins=["tests.helpers"]).light

    sc = Sidecar.__new__(Sidecar)  # run() needs only its heavy-check bound
    sc.heavy_checks = asyncio.Semaphore(1)

    async def thread_of(handle: GuardHandle, size: int | None) -> int:
        return await sc.run(handle, threading.get_ident, size=size)

    async def main() -> tuple[int, ...]:
        return (threading.get_ident(), await thread_of(patterns, HEAVY_UNITS), await thread_of(patterns, HEAVY_UNITS + 1),
                await thread_of(default, INLINE_CHARS), await thread_of(default, INLINE_CHARS + 1),
                await thread_of(default, None))

    loop_thread, patterns_inline, patterns_heavy, short_default, long_default, unknown = asyncio.run(main())
    assert patterns_inline == loop_thread and short_default == loop_thread
    assert patterns_heavy != loop_thread and long_default != loop_thread and unknown != loop_thread


def test_config_model_folder_relative_to_the_config_file_else_a_hub_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "models" / "tiny-chat").mkdir(parents=True)
    monkeypatch.chdir(tmp_path.parent)  # not the config's folder: a relative model path must not depend on the cwd
    path = _write(tmp_path, """
upstream: http://127.0.0.1:8000
apps:
  local: {policy: model, model: models/tiny-chat, keys: [{env: GR_UNIT_M1}]}
  hub: {policy: model, model: example-org/tiny-chat, keys: [{env: GR_UNIT_M2}]}
""")
    monkeypatch.setenv("GR_UNIT_M1", "m1")
    monkeypatch.setenv("GR_UNIT_M2", "m2")
    loaded = load_server_config(path)
    assert loaded.config.apps["local"].model == str((tmp_path / "models" / "tiny-chat").resolve())
    assert loaded.config.apps["hub"].model == "example-org/tiny-chat"
