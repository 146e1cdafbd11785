"""The shared model runtime: model resolution, micro-batching, chunk padding, thread settings."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from guardrails.errors import FilterLoadError
from guardrails.runtime import ModelNotFound, is_offline, locate_model, resolve_model, shared_model
from guardrails.runtime import threads
from guardrails.runtime.batching import MicroBatcher, QueueFull
from guardrails.runtime.chunking import Chunk, pad_batch, window_size
from guardrails.runtime.resolve import torch_hub_file

# -- resolve --------------------------------------------------------------------------------------


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "GUARDRAILS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


def test_is_offline_env_or_policy_sets_it(online: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not is_offline()
    assert is_offline(policy_offline=True)
    monkeypatch.setenv("GUARDRAILS_OFFLINE", "yes")
    assert is_offline()


def test_resolve_model_local_folder_returned_resolved(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    assert resolve_model(str(tmp_path / "m")) == (tmp_path / "m").resolve()


def test_resolve_model_missing_path_names_it(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="does not exist"):
        resolve_model(str(tmp_path / "nope"))


def test_resolve_model_package_folder_found() -> None:
    path = resolve_model("package://guardrails/policies")
    assert (path / "default.yaml").is_file()
    with pytest.raises(ModelNotFound, match="has no"):
        resolve_model("package://guardrails/no-such-folder")


def test_resolve_model_uncached_hub_id_offline_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, online: None) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    with pytest.raises(ModelNotFound, match="offline mode is on") as err:
        resolve_model("example-org/model", offline=True)
    assert isinstance(err.value, FilterLoadError)  # the engine treats it like any load failure


def test_resolve_model_url_found_in_torch_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    url = "https://example.org/releases/model-0123abcd.ckpt"
    assert torch_hub_file(url) == tmp_path / "hub" / "checkpoints" / "model-0123abcd.ckpt"
    assert locate_model(url) is None
    with pytest.raises(ModelNotFound, match="torch hub cache"):
        resolve_model(url, offline=True)
    torch_hub_file(url).parent.mkdir(parents=True)
    torch_hub_file(url).write_bytes(b"x")
    assert resolve_model(url, offline=True) == torch_hub_file(url)


def test_shared_model_built_once_under_concurrency() -> None:
    # The factory returns only once every thread has asked for the model, so each of them looks it up
    # while it is still being built: all eight race for it, whatever the scheduling.
    calls = []
    asked, lock, all_asked = [0], threading.Lock(), threading.Event()

    def factory() -> object:
        calls.append(1)
        assert all_asked.wait(timeout=30)
        return object()

    def ask() -> None:
        with lock:
            asked[0] += 1
            if asked[0] == 8:
                all_asked.set()
        results.append(shared_model(key, factory))

    key = ("test", "built-once")
    results: list[object] = []
    workers = [threading.Thread(target=ask) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert len(calls) == 1 and len(results) == 8 and len({id(r) for r in results}) == 1


# -- micro-batching -------------------------------------------------------------------------------


def _square_batches(sizes: list[int], queued: threading.Event):  # type: ignore[no-untyped-def]
    """Squares a batch; the first batch runs only once ``queued`` is set (every item submitted)."""

    def fn(items: list[int]) -> list[int]:
        sizes.append(len(items))
        assert queued.wait(timeout=30)
        return [i * i for i in items]

    return fn


def test_batcher_concurrent_items_share_batches_and_keep_their_results() -> None:
    sizes: list[int] = []
    queued = threading.Event()
    batcher = MicroBatcher(_square_batches(sizes, queued), max_batch=8, max_wait_ms=0)
    futures = [batcher.submit(i) for i in range(20)]
    queued.set()  # the rest waits in the queue while the first batch runs: later batches fill up to max_batch
    assert [f.result(timeout=30) for f in futures] == [i * i for i in range(20)]
    assert sum(sizes) == 20 and max(sizes) == 8 and len(sizes) <= 4
    batcher.close()


def test_batcher_zero_wait_batches_items_that_queue_during_a_run() -> None:
    sizes: list[int] = []
    queued = threading.Event()
    batcher = MicroBatcher(_square_batches(sizes, queued), max_batch=16, max_wait_ms=0)
    futures = [batcher.submit(i) for i in range(10)]
    queued.set()
    assert [f.result(timeout=30) for f in futures] == [i * i for i in range(10)]
    assert len(sizes) <= 2  # items queued while the first batch ran went together, in the next one
    batcher.close()


def test_batcher_error_reaches_every_caller_of_the_batch() -> None:
    def fail(items: list[int]) -> list[int]:
        raise ValueError("boom")

    batcher = MicroBatcher(fail, max_batch=4, max_wait_ms=20)
    futures = [batcher.submit(i) for i in range(3)]
    for f in futures:
        with pytest.raises(ValueError, match="boom"):
            f.result(timeout=30)
    with pytest.raises(ValueError):  # the worker survives a failed batch and serves the next one
        batcher(7)
    batcher.close()


def test_batcher_wrong_result_count_is_an_error() -> None:
    batcher: MicroBatcher[int, int] = MicroBatcher(lambda items: items[:-1], max_batch=4, max_wait_ms=0)
    with pytest.raises(RuntimeError, match="returned 0 results for 1 items"):
        batcher(1)
    batcher.close()


def test_batcher_full_queue_raises_queue_full() -> None:
    release, running = threading.Event(), threading.Event()

    def slow(items: list[int]) -> list[int]:
        running.set()
        release.wait(30)
        return items

    batcher = MicroBatcher(slow, max_batch=1, max_wait_ms=0, max_queue=2, queue_timeout_s=0.05)
    first = batcher.submit(0)
    assert running.wait(timeout=30)  # the worker holds item 0; the queue has room for 2 more
    waiting = [batcher.submit(1), batcher.submit(2)]
    with pytest.raises(QueueFull, match="queue full"):
        batcher.submit(3)
    release.set()
    assert [f.result(timeout=30) for f in [first, *waiting]] == [0, 1, 2]
    batcher.close()


def test_batcher_cancelled_item_is_skipped() -> None:
    seen: list[int] = []
    release, running = threading.Event(), threading.Event()

    def fn(items: list[int]) -> list[int]:
        running.set()
        release.wait(30)
        seen.extend(items)
        return items

    batcher = MicroBatcher(fn, max_batch=1, max_wait_ms=0)
    first = batcher.submit(0)
    assert running.wait(timeout=30)  # item 0 is running: items 1 and 2 wait in the queue
    cancelled: Future[int] = batcher.submit(1)
    assert cancelled.cancel()
    last = batcher.submit(2)
    release.set()
    assert first.result(timeout=30) == 0 and last.result(timeout=30) == 2
    assert seen == [0, 2]
    batcher.close()


def test_batcher_bad_settings_rejected() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(lambda x: x, max_batch=0)
    with pytest.raises(ValueError, match="max_wait_ms"):
        MicroBatcher(lambda x: x, max_wait_ms=-1)


# -- chunking helpers -----------------------------------------------------------------------------


def test_pad_batch_right_pads_and_masks() -> None:
    ids, mask = pad_batch([Chunk((1, 2, 3), 0, 5), Chunk((4,), 5, 6)], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert ids.dtype == np.int64 and mask.dtype == np.int64


def test_window_size_smallest_of_tokenizer_and_positions() -> None:
    bert = SimpleNamespace(max_position_embeddings=512, model_type="bert", pad_token_id=0)
    roberta = SimpleNamespace(max_position_embeddings=514, model_type="roberta", pad_token_id=1)
    assert window_size(SimpleNamespace(model_max_length=10**30), bert) == 512
    assert window_size(SimpleNamespace(model_max_length=128), bert) == 128
    assert window_size(SimpleNamespace(model_max_length=10**30), roberta) == 512  # positions 0-1 reserved


# -- threads --------------------------------------------------------------------------------------


def test_num_threads_from_env_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "_applied", None)
    monkeypatch.delenv("GUARDRAILS_NUM_THREADS", raising=False)
    assert threads.num_threads() is None
    monkeypatch.setenv("GUARDRAILS_NUM_THREADS", "3")
    assert threads.num_threads() == 3
    monkeypatch.setenv("GUARDRAILS_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="GUARDRAILS_NUM_THREADS: expected a positive integer, got 'many'"):
        threads.num_threads()
