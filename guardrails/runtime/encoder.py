"""A shared sequence-classification runner: tokenizer + encoder model (torch or ONNX Runtime).

    clf = load_hf_classifier(resolve_model("org/model"), onnx=False)       # once per process
    scorer = shared_scorer(clf, max_batch=16, max_wait_ms=2)                # one batcher per model
    result = scorer.score(text)       # chunked, micro-batched; probabilities per chunk and label

Heavy imports (torch, transformers, onnxruntime) happen only when a model is loaded.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np

from guardrails.errors import FilterLoadError
from guardrails.runtime import threads
from guardrails.runtime.batching import MicroBatcher
from guardrails.runtime.chunking import Chunk, encode_chunks, pad_batch, window_size
from guardrails.runtime.registry import shared_model

logger = logging.getLogger(__name__)

Backend = Literal["torch", "onnx"]
RunFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (input_ids, attention_mask) -> logits


class SequenceClassifier:
    """A tokenizer and a classification model that turn token windows into label probabilities."""

    def __init__(
        self,
        tokenizer: Any,
        run: RunFn,
        labels: Sequence[str],
        *,
        multi_label: bool,
        window: int,
        backend: Backend,
        name: str,
    ) -> None:
        self.tokenizer = tokenizer
        self.run = run
        self.labels = tuple(labels)
        self.multi_label = multi_label
        self.window = window
        self.backend = backend
        self.name = name
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.special_tokens = len(tokenizer("", add_special_tokens=True)["input_ids"])
        # Fast tokenizers refuse concurrent calls that change truncation settings ("Already borrowed").
        self._tok_lock = threading.Lock()

    def encode(self, text: str, *, window: int | None = None, overlap: int = 64, max_chunks: int | None = None) -> list[Chunk]:
        """Split ``text`` into overlapping windows that fit the model (``window`` tokens at most)."""
        size = min(window or self.window, self.window)
        overlap = min(overlap, max(0, (size - self.special_tokens) // 2))  # at most half a chunk
        with self._tok_lock:
            return encode_chunks(self.tokenizer, text, window=size, overlap=overlap, max_chunks=max_chunks)

    def predict(self, chunks: Sequence[Chunk]) -> np.ndarray:
        """Label probabilities, one row per chunk (sigmoid for multi-label models, else softmax)."""
        ids, mask = pad_batch(chunks, self.pad_id)
        logits = np.asarray(self.run(ids, mask), dtype=np.float32)
        if self.multi_label or logits.shape[-1] == 1:
            return 1.0 / (1.0 + np.exp(-logits))
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class TextScores:
    """Probabilities of every label for every chunk of one text."""

    labels: tuple[str, ...]
    chunks: tuple[Chunk, ...]
    probs: np.ndarray  # (n_chunks, n_labels)


class TextScorer:
    """Scores whole texts: chunks them and runs the chunks through one micro-batcher."""

    def __init__(self, classifier: SequenceClassifier, *, max_batch: int = 16, max_wait_ms: float = 2.0, max_queue: int = 1024) -> None:
        self.classifier = classifier
        self.batcher: MicroBatcher[Chunk, np.ndarray] | None = None
        if max_batch > 1:
            self.batcher = MicroBatcher(
                self._predict_rows, max_batch=max_batch, max_wait_ms=max_wait_ms, max_queue=max_queue, name=classifier.name
            )

    def _predict_rows(self, chunks: list[Chunk]) -> list[np.ndarray]:
        return list(self.classifier.predict(chunks))

    def _submit(self, chunks: list[Chunk]) -> list[Future[np.ndarray]]:
        assert self.batcher is not None
        return [self.batcher.submit(c) for c in chunks]

    def score(self, text: str, *, window: int | None = None, overlap: int = 64, max_chunks: int | None = None) -> TextScores:
        """Chunk and score ``text`` (blocking)."""
        chunks = self.classifier.encode(text, window=window, overlap=overlap, max_chunks=max_chunks)
        if self.batcher is None:
            probs = self.classifier.predict(chunks)
        else:
            probs = np.stack([f.result() for f in self._submit(chunks)])
        return TextScores(self.classifier.labels, tuple(chunks), probs)

    async def ascore(self, text: str, *, window: int | None = None, overlap: int = 64, max_chunks: int | None = None) -> TextScores:
        """Chunk and score ``text`` without holding a thread while the batch runs."""
        if self.batcher is None:
            return await asyncio.to_thread(self.score, text, window=window, overlap=overlap, max_chunks=max_chunks)
        chunks = self.classifier.encode(text, window=window, overlap=overlap, max_chunks=max_chunks)
        rows = await asyncio.gather(*(asyncio.wrap_future(f) for f in self._submit(chunks)))
        return TextScores(self.classifier.labels, tuple(chunks), np.stack(rows))


def shared_scorer(classifier: SequenceClassifier, *, max_batch: int, max_wait_ms: float) -> TextScorer:
    """One scorer (and batcher) per model and batching setting, shared by every policy."""
    key = ("scorer", id(classifier), max_batch, float(max_wait_ms))
    return shared_model(key, lambda: TextScorer(classifier, max_batch=max_batch, max_wait_ms=max_wait_ms))


# -- loading -------------------------------------------------------------------------------------


def load_hf_classifier(path: Path, *, onnx: bool = False) -> SequenceClassifier:
    """A transformers sequence-classification model from a local folder, loaded once per process."""
    return shared_model(("hf-seqcls", str(path), onnx), lambda: _build_hf(path, onnx))


def _build_hf(path: Path, onnx: bool) -> SequenceClassifier:
    try:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
    except ImportError:
        raise FilterLoadError("this filter needs transformers and torch: pip install 'openweights-guardrails[models]'") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForSequenceClassification.from_pretrained(str(path))
    except Exception as exc:  # noqa: BLE001 - corrupt or foreign folders fail in many ways
        raise FilterLoadError(f"cannot load a sequence-classification model from {path}: {type(exc).__name__}: {exc}") from None
    config = model.config
    labels = [str(config.id2label.get(i, f"LABEL_{i}")) for i in range(config.num_labels)]
    multi_label = config.problem_type == "multi_label_classification"
    return from_torch_model(model, tokenizer, labels, multi_label=multi_label, onnx=onnx, source=path, name=path.name)


def from_torch_model(
    model: Any,
    tokenizer: Any,
    labels: Sequence[str],
    *,
    multi_label: bool,
    onnx: bool,
    source: Path,
    name: str,
) -> SequenceClassifier:
    """Wrap a loaded torch classifier (optionally run through ONNX Runtime) as a SequenceClassifier."""
    if not getattr(tokenizer, "is_fast", True):
        raise FilterLoadError(f"{name}: chunking needs a fast (tokenizers-backed) tokenizer")
    threads.apply_configured()
    model.eval()
    window = window_size(tokenizer, model.config)
    backend: Backend = "torch"
    run: RunFn = _torch_runner(model)
    if onnx:
        from guardrails.runtime.onnx_export import onnx_runner

        onnx_run = onnx_runner(model, tokenizer, source=source)
        if onnx_run is not None:
            run, backend = onnx_run, "onnx"
    logger.info("loaded classifier %s (%s, %d labels, window %d)", name, backend, len(labels), window)
    return SequenceClassifier(tokenizer, run, labels, multi_label=multi_label, window=window, backend=backend, name=name)


def _torch_runner(model: Any) -> RunFn:
    import torch

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
        return out.logits.float().numpy()  # type: ignore[no-any-return]

    return run
