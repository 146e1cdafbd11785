"""Shared model runtime: resolve model keys to files, load each model once per process.

    path = resolve_model("org/name", offline=policy.offline)   # local path, package, cache, hub
    model = shared_model(("classifier", str(path)), lambda: load(path))

Encoder classifiers (micro-batching, chunking, ONNX) live in ``guardrails.runtime.encoder``;
it imports numpy, and torch/transformers only when a model loads, so it is not imported here.
"""

from guardrails.runtime.registry import clear_shared, shared_model
from guardrails.runtime.resolve import ModelNotFound, ModelSpec, is_offline, locate_model, resolve_model
from guardrails.runtime.threads import set_num_threads

__all__ = [
    "ModelNotFound",
    "ModelSpec",
    "clear_shared",
    "is_offline",
    "locate_model",
    "resolve_model",
    "set_num_threads",
    "shared_model",
]
