"""The entry points behind ``guard.wrap`` and ``guard.wrap_pipeline``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guardrails.hf.model import GuardedModel
from guardrails.hf.pipeline import GuardedPipeline

if TYPE_CHECKING:
    from guardrails.engine import Engine


def wrap(guard: "Engine", model: Any, tokenizer: Any = None, **options: Any) -> Any:
    """Guard a transformers model (``GuardedModel``) or a text-generation pipeline (``GuardedPipeline``)."""
    if tokenizer is None and hasattr(model, "model") and hasattr(model, "tokenizer") and hasattr(model, "task"):
        return GuardedPipeline(guard, model, **options)
    return GuardedModel(guard, model, tokenizer, **options)


def wrap_pipeline(guard: "Engine", pipe: Any, **options: Any) -> GuardedPipeline:
    """Guard a transformers text-generation pipeline."""
    return GuardedPipeline(guard, pipe, **options)
