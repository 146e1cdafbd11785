"""The entry points behind ``guard.wrap`` and ``guard.wrap_pipeline``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guardrails.hf.model import GuardedModel
from guardrails.hf.model_policy import bind_to_model
from guardrails.hf.pipeline import GuardedPipeline

if TYPE_CHECKING:
    from guardrails.bundled import ModelPolicyMode
    from guardrails.engine import Engine


def wrap(guard: "Engine", model: Any, tokenizer: Any = None, *, model_policy: "ModelPolicyMode | None" = None,
         **options: Any) -> Any:
    """Guard a transformers model (``GuardedModel``) or a text-generation pipeline (``GuardedPipeline``).

    ``model_policy``: what to do when the model ships its own ``guardrails.yaml`` and the guard's
    policy does not build on it: ``stack`` (default), ``refuse`` or ``ignore`` (``guardrails.hf.model_policy``)."""
    if tokenizer is None and hasattr(model, "model") and hasattr(model, "tokenizer") and hasattr(model, "task"):
        return GuardedPipeline(bind_to_model(guard, model.model, model_policy), model, **options)
    return GuardedModel(bind_to_model(guard, model, model_policy), model, tokenizer, **options)


def wrap_pipeline(guard: "Engine", pipe: Any, *, model_policy: "ModelPolicyMode | None" = None, **options: Any) -> GuardedPipeline:
    """Guard a transformers text-generation pipeline (``model_policy`` as in ``wrap``)."""
    return GuardedPipeline(bind_to_model(guard, getattr(pipe, "model", None), model_policy), pipe, **options)
