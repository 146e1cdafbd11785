"""``classifier`` with ``endpoint:``: the model served by a Text Embeddings Inference server.

The server is tests/helpers/tei_stand_in.py: TEI's /predict request and answer shapes (and its 413 for an input
longer than the model's window) in front of a real tiny BERT classifier built here, run with plain transformers.
The same model run in this process is the reference.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterator

import pytest

from guardrails import Guard
from guardrails.errors import FilterLoadError, PolicyError
from guardrails.filters.classifier import ClassifierConfig, ClassifierFilter
from guardrails.types import Context
from tests.helpers.scripted_upstream import ServerThread
from tests.helpers.tei_stand_in import TeiStandIn
from tests.helpers.tiny_models import CORPUS, build_bert_classifier, direct_probs

pytestmark = pytest.mark.integration

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LABELS = {"INJECTION": "prompt_injection", "JAILBREAK": "jailbreak"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bert_classifier(tmp_path_factory.mktemp("tei") / "clf", labels=("SAFE", "INJECTION", "JAILBREAK"))


@pytest.fixture(scope="module")
def tei(model_dir: Path) -> Iterator[tuple[TeiStandIn, str]]:
    stand_in = TeiStandIn(model_dir, api_key="s3cret")
    with ServerThread(stand_in.app(), plain=True) as server:
        yield stand_in, server.url


def remote(url: str, **keys: object) -> ClassifierFilter:
    cfg = ClassifierConfig.model_validate({"filter": "classifier", "endpoint": url, "api_key": "s3cret", "labels": LABELS, **keys})
    f = ClassifierFilter(cfg)
    f.ensure_loaded()
    return f


def local(model_dir: Path) -> ClassifierFilter:
    f = ClassifierFilter(ClassifierConfig.model_validate({"filter": "classifier", "model": str(model_dir), "labels": LABELS}))
    f.ensure_loaded()
    return f


def test_short_texts_score_as_the_same_model_in_process(tei: tuple[TeiStandIn, str], model_dir: Path) -> None:
    served, here = remote(tei[1]), local(model_dir)
    for text in CORPUS:
        a, b = served.check(text, Context()).scores, here.check(text, Context()).scores
        assert a.keys() == b.keys() == {"prompt_injection", "jailbreak"}
        for category in a:
            assert a[category] == pytest.approx(b[category], abs=1e-4), (text, category)


def test_a_long_text_is_halved_until_it_fits_never_truncated(tei: tuple[TeiStandIn, str], model_dir: Path) -> None:
    stand_in, url = tei
    f = remote(url, chunk_chars=4000)  # far more than the model's 64-token window: the server refuses it
    text = " ".join(CORPUS * 6)
    scores = f._scorer.score(text)
    assert f._scorer.chunk_chars < 4000  # learned from the server's 413s, kept for later texts
    chunks = scores.chunks
    assert chunks[0].start == 0 and chunks[-1].end == len(text) and len(chunks) > 2
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))  # overlapping: nothing left out
    # Each chunk's probabilities are the model's own on that chunk's text.
    column = scores.labels.index("INJECTION")
    for chunk, row in zip(chunks, scores.probs):
        assert row[column] == pytest.approx(direct_probs(model_dir, text[chunk.start:chunk.end])[1], abs=1e-4)
    result = f.check(text, Context())
    assert result.scores["prompt_injection"] == pytest.approx(float(scores.probs[:, column].max()), abs=1e-6)


def test_batches_go_in_one_request(tei: tuple[TeiStandIn, str]) -> None:
    stand_in, url = tei
    f = remote(url, chunk_chars=60)
    stand_in.batches.clear()
    f.check(" ".join(CORPUS), Context())
    assert len(stand_in.batches) == 1 and stand_in.batches[0] > 1


def test_overloaded_server_is_retried_then_fails_closed(tei: tuple[TeiStandIn, str]) -> None:
    stand_in, url = tei
    f = remote(url, retries=2)
    stand_in.fail_next = 2
    assert "prompt_injection" in f.check("hello there", Context()).scores
    policy = {"name": "p", "input": [{"filter": "classifier", "endpoint": url, "api_key": "s3cret", "labels": LABELS, "retries": 1}]}
    guard = Guard.from_policy(policy)
    guard.load()
    stand_in.fail_next = 5
    verdict = guard.check_input("my secret plan text")
    stand_in.fail_next = 0
    assert not verdict.allowed and verdict.violations[0].category == "filter_error"
    assert "HTTP 503" in (verdict.violations[0].error or "") and "secret plan" not in (verdict.violations[0].error or "")


def test_async_checks_match_sync_ones(tei: tuple[TeiStandIn, str]) -> None:
    f = remote(tei[1])

    async def both() -> list[dict[str, float]]:
        return [dict((await f.acheck(t, Context())).scores) for t in CORPUS[:4]]

    for text, scores in zip(CORPUS[:4], asyncio.run(both())):
        assert scores == pytest.approx(dict(f.check(text, Context()).scores), abs=1e-6)


def test_wrong_key_or_unknown_label_fails_at_load_naming_the_problem(tei: tuple[TeiStandIn, str]) -> None:
    url = tei[1]
    with pytest.raises(FilterLoadError, match="HTTP 401"):
        remote(url, api_key="wrong")
    with pytest.raises(FilterLoadError, match="no label 'MALICIOUS'.*INJECTION"):
        remote(url, labels={"MALICIOUS": "prompt_injection"})
    with pytest.raises(FilterLoadError, match="no label '1'"):  # an index means nothing for a served model
        remote(url, labels={1: "prompt_injection"})
    with pytest.raises(FilterLoadError, match="ConnectError"):
        remote("http://127.0.0.1:9", retries=0)


@pytest.mark.parametrize(("keys", "message"), [
    ({"model": "org/m", "endpoint": "http://x"}, "exactly one of 'model'"),
    ({}, "exactly one of 'model'"),
    ({"endpoint": "tei:8080"}, "expected an http"),
    ({"endpoint": "http://x", "onnx": True}, "onnx"),
])
def test_policy_errors_name_the_key(keys: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        Guard.from_policy({"name": "p", "input": [{"filter": "classifier", "labels": LABELS, **keys}]})


def test_an_endpoint_needs_no_model_download() -> None:
    f = ClassifierFilter(ClassifierConfig.model_validate({"filter": "classifier", "endpoint": "http://x", "labels": LABELS}))
    assert f.model_specs() == [] and f.required_models() == []


def test_the_sidecar_is_ready_once_the_endpoint_answers_and_checks_through_it(tei: tuple[TeiStandIn, str], model_dir: Path,
                                                                             tmp_path: Path) -> None:
    import httpx

    from guardrails.server import create_app
    from guardrails.server.config import build_server_config
    from tests.helpers.scripted_upstream import ScriptedUpstream
    from tests.helpers.waiting import wait_until

    url = tei[1]
    with ServerThread(ScriptedUpstream().app(), plain=True) as upstream:
        for key, ready in (("s3cret", 200), ("wrong", 503)):
            policy = tmp_path / f"{key}.yaml"
            policy.write_text(f"version: 1\nname: tei\ninput:\n  - filter: classifier\n    endpoint: {url}\n    api_key: {key}\n"
                              "    labels: {INJECTION: prompt_injection}\n    threshold: 0.0\n    action: flag\n")
            config = build_server_config({"upstream": upstream.url + "/v1", "audit": {"path": "off"}, "apps": {"app": {"policy": str(policy)}}})
            with ServerThread(create_app(config)) as sidecar:
                wait_until(lambda: httpx.get(sidecar.url + "/readyz", timeout=10).status_code == ready)
                if ready == 200:
                    r = httpx.post(sidecar.url + "/v1/guard/check", json={"text": CORPUS[0], "stage": "input"}, timeout=30)
                    assert r.status_code == 200
                    expected = float(direct_probs(model_dir, CORPUS[0])[1])
                    flagged = [v for v in r.json()["violations"] if v["filter"].startswith("classifier")]
                    assert flagged and flagged[0]["score"] == pytest.approx(expected, abs=1e-4)
                else:
                    body = httpx.get(sidecar.url + "/readyz", timeout=10).json()
                    assert body["status"] == "not_ready"
