"""Weight pins (guardrails.weights_pin): which files, the hash cache, verification, writing pins into a policy's text."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml

import guardrails  # noqa: F401 - sets the policies' filter registry
from guardrails.errors import PolicyError
from guardrails.policy import load_policy
from guardrails.weights_pin import (
    HASH_CACHE_ENV,
    HashCache,
    WeightsPin,
    default_cache_path,
    hash_weights,
    set_pins,
    verify_pins,
    weight_files,
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache" / "weights-hashes.json"
    monkeypatch.setenv(HASH_CACHE_ENV, str(path))
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "model"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


# -- which files --------------------------------------------------------------------------------


def test_weight_files_are_the_top_level_safetensors_when_there_are_any(tmp_path: Path) -> None:
    root = folder(tmp_path, {"model-00001-of-00002.safetensors": b"a", "model-00002-of-00002.safetensors": b"b",
                             "pytorch_model.bin": b"c", "config.json": b"{}", "original/consolidated.pth": b"d",
                             "guardrails.yaml": b"name: x\n"})
    assert weight_files(root) == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]


def test_weight_files_fall_back_to_pickled_checkpoints(tmp_path: Path) -> None:
    root = folder(tmp_path, {"pytorch_model.bin": b"c", "extra.pt": b"e", "config.json": b"{}"})
    assert weight_files(root) == ["extra.pt", "pytorch_model.bin"]
    assert weight_files(folder(tmp_path / "empty", {"config.json": b"{}"})) == []


# -- the hash cache ---------------------------------------------------------------------------


def test_second_hash_of_an_unchanged_file_reads_nothing(tmp_path: Path, private_cache: Path) -> None:
    root = folder(tmp_path, {"model.safetensors": b"weights" * 1000})
    first = HashCache.default()
    assert first.path == private_cache
    assert hash_weights(root, cache=first) == {"model.safetensors": sha(b"weights" * 1000)}
    assert first.reads == 1 and first.bytes_read == 7000
    entry = json.loads(private_cache.read_text())["files"][os.path.realpath(root / "model.safetensors")]
    assert entry["sha256"] == sha(b"weights" * 1000) and entry["size"] == 7000
    again = HashCache.default()  # a new process: reads the cache file
    assert hash_weights(root, cache=again) == {"model.safetensors": sha(b"weights" * 1000)}
    assert again.reads == 0


def test_a_file_rewritten_in_place_is_hashed_again(tmp_path: Path) -> None:
    root = folder(tmp_path, {"model.safetensors": b"AAAA"})
    assert hash_weights(root, cache=HashCache.default())["model.safetensors"] == sha(b"AAAA")
    path = root / "model.safetensors"
    st = path.stat()
    path.write_bytes(b"AAAB")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # even with the old mtime put back (ctime moves on)
    cache = HashCache.default()
    assert hash_weights(root, cache=cache)["model.safetensors"] == sha(b"AAAB")
    assert cache.reads == 1


def test_cache_location_and_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HASH_CACHE_ENV)
    monkeypatch.setenv("GUARDRAILS_CACHE", str(tmp_path / "gr"))
    assert default_cache_path() == tmp_path / "gr" / "weights-hashes.json"
    monkeypatch.delenv("GUARDRAILS_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / ".cache" / "guardrails" / "weights-hashes.json"
    monkeypatch.setenv(HASH_CACHE_ENV, "off")
    assert default_cache_path() is None
    root = folder(tmp_path, {"model.safetensors": b"x"})
    cache = HashCache.default()
    hash_weights(root, cache=cache)
    hash_weights(root, cache=cache)
    assert cache.reads == 2  # no cache: read every time


def test_a_corrupt_cache_file_is_an_empty_cache(tmp_path: Path, private_cache: Path) -> None:
    private_cache.parent.mkdir(parents=True)
    private_cache.write_text("{not json")
    root = folder(tmp_path, {"model.safetensors": b"x"})
    assert hash_weights(root, cache=HashCache.default()) == {"model.safetensors": sha(b"x")}
    assert json.loads(private_cache.read_text())["version"] == 1


# -- verification -----------------------------------------------------------------------------


def test_verify_pins_names_each_file_that_differs_is_missing_or_unpinned(tmp_path: Path) -> None:
    root = folder(tmp_path, {"a.safetensors": b"A", "b.safetensors": b"B", "c.safetensors": b"C"})
    pin = WeightsPin(sha256={"a.safetensors": sha(b"A"), "b.safetensors": sha(b"not B"), "d.safetensors": sha(b"D")},
                     on_mismatch="warn")
    check = verify_pins(pin, root)
    assert not check.ok and check.on_mismatch == "warn"
    text = "\n".join(check.problems)
    assert "b.safetensors: sha256 differs" in text
    assert "c.safetensors: a weight file the pins do not list" in text
    assert "d.safetensors: pinned, but missing" in text
    assert "a.safetensors" not in text
    ok = verify_pins(WeightsPin(sha256={n: sha(n[0].upper().encode()) for n in weight_files(root)}), root)
    assert ok.ok and ok.checked == ("a.safetensors", "b.safetensors", "c.safetensors")
    assert "not available locally" in verify_pins(pin, None).problems[0]


@pytest.mark.parametrize("bad", [{"model.safetensors": "abc"}, {"../model.safetensors": "0" * 64}, {}, {"/etc/x": "0" * 64}])
def test_weights_pin_rejects_bad_entries(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        WeightsPin(sha256=bad)


def test_policy_weights_key_loads_and_shows(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    digest = "AB" * 32
    path.write_text(f"name: p\nweights:\n  on_mismatch: warn\n  sha256:\n    model.safetensors: {digest}\n")
    policy = load_policy(path)
    assert policy.weights is not None and policy.weights.sha256 == {"model.safetensors": digest.lower()}
    assert policy.to_dict()["weights"]["on_mismatch"] == "warn"
    assert "weights" not in load_policy("default").to_dict()  # no pins: not shown, the hash unchanged
    path.write_text("name: p\nweights:\n  on_mismatch: sometimes\n  sha256: {model.safetensors: xyz}\n")
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    assert "p.yaml:3: weights.on_mismatch" in str(err.value) and "p.yaml:4: weights.sha256" in str(err.value)


# -- writing pins into a file's text ----------------------------------------------------------

POLICY_TEXT = """\
# The publisher's policy.
name: tiny   # inline comment
input:
  - filter: regex
    patterns: ["x"]   # keep me
"""


def test_set_pins_appends_a_block_and_keeps_every_line() -> None:
    pins = {"model.safetensors": "a" * 64}
    out = set_pins(POLICY_TEXT, pins, "refuse")
    assert out.startswith(POLICY_TEXT)
    data = yaml.safe_load(out)
    assert data["weights"] == {"on_mismatch": "refuse", "sha256": pins}
    assert set_pins(out, pins, "refuse") == out  # pinning again changes nothing


def test_set_pins_replaces_an_existing_block_in_place() -> None:
    text = POLICY_TEXT + "weights:\n  on_mismatch: warn\n  sha256:\n    old.safetensors: " + "b" * 64 + "\n\n# next\nrefusal: nope\n"
    out = set_pins(text, {"model.safetensors": "c" * 64}, "warn")
    data = yaml.safe_load(out)
    assert data["weights"] == {"on_mismatch": "warn", "sha256": {"model.safetensors": "c" * 64}}
    assert data["refusal"] == "nope" and "old.safetensors" not in out
    assert out.startswith(POLICY_TEXT) and out.endswith("\n\n# next\nrefusal: nope\n")
