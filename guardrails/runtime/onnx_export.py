"""Optional ONNX Runtime execution of encoder classifiers.

The torch model is exported once (``torch.onnx.export``) to the guardrails cache
(``$GUARDRAILS_CACHE``, default ``~/.cache/guardrails``) under a key derived from the model files
and library versions, then checked against torch on a padded sample batch before it is used.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from guardrails.errors import FilterLoadError
from guardrails.runtime import threads

logger = logging.getLogger(__name__)

RunFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
MAX_ABS_DIFF = 1e-3  # logits; a larger gap means the export is wrong for this architecture


def cache_dir() -> Path:
    """Where exported ONNX files are kept."""
    return Path(os.environ.get("GUARDRAILS_CACHE") or Path.home() / ".cache" / "guardrails") / "onnx"


def onnx_runner(model: Any, tokenizer: Any, *, source: Path) -> RunFn | None:
    """An ONNX Runtime forward function equivalent to ``model``, or None (with a warning) if it differs."""
    try:
        import onnxruntime as ort  # type: ignore[import-untyped]
    except ImportError:
        raise FilterLoadError("onnx: true needs onnxruntime and onnx: pip install 'openweights-guardrails[onnx]'") from None
    path = cache_dir() / _cache_key(model, source) / "model.onnx"
    if not path.is_file():
        export(model, path)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle intra-op threads sleep instead of spinning: the host usually runs other work (the sidecar, the LLM).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    n = threads.num_threads()
    if n is not None:
        options.intra_op_num_threads = n
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]  # type: ignore[no-any-return]

    diff = _compare(model, tokenizer, run)
    if diff > MAX_ABS_DIFF:
        logger.warning("ONNX export of %s differs from torch by %.3g; using torch", source.name, diff)
        return None
    return run


def export(model: Any, path: Path) -> None:
    """Export a sequence-classification model with dynamic batch and sequence axes (atomic write)."""
    try:
        import onnx  # noqa: F401 - torch.onnx.export needs it
        import torch
    except ImportError:
        raise FilterLoadError("onnx: true needs onnx and torch: pip install 'openweights-guardrails[onnx]'") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    mask[1, 5:] = 0
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}}
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches
            # The TorchScript exporter: the dynamo exporter needs onnxscript and is slower to export.
            torch.onnx.export(
                model, (ids, mask), tmp, input_names=["input_ids", "attention_mask"], output_names=["logits"],
                dynamic_axes=axes, opset_version=17, dynamo=False,
            )
        os.replace(tmp, path)
    except Exception as exc:  # noqa: BLE001
        Path(tmp).unlink(missing_ok=True)
        raise FilterLoadError(f"ONNX export failed ({type(exc).__name__}: {exc}); set onnx: false") from None


def _cache_key(model: Any, source: Path) -> str:
    import torch
    import transformers

    digest = hashlib.sha256()
    digest.update(f"{type(model).__name__}|{torch.__version__}|{transformers.__version__}|{source.resolve()}".encode())
    files = [source] if source.is_file() else sorted(p for p in source.iterdir() if p.is_file())
    for f in files:
        st = f.stat()
        digest.update(f"|{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def _compare(model: Any, tokenizer: Any, run: RunFn) -> float:
    import torch

    texts = ["a short sample", "a somewhat longer sample text, to check that padding is handled"]
    enc = tokenizer(texts, padding=True, return_tensors="np")
    ids, mask = enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
    with torch.inference_mode():
        expected = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits.float().numpy()
    return float(np.abs(run(ids, mask) - expected).max())
