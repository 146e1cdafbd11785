"""The model's own policy when a model is wrapped: ``guard.wrap(model, tok, model_policy=...)``.

transformers keeps where a model was loaded from (``model.name_or_path``, ``config._name_or_path``):
a folder or a hub id. When that model ships ``guardrails.yaml`` (``guardrails.bundled``), the wrapper
runs it too, unless the guard's policy already builds on it (``extends: model``, or the guard was
made by ``Guard.for_model`` for this model):

- ``stack`` (the default): the wrapper runs a guard with both policies (the model's filters as
  ``model/<id>``); any block blocks. Logged (a warning when the option was left at its default).
- ``refuse``: PolicyError; build the guard with ``Guard.for_model(model, policy=...)`` and
  ``extends: model`` in the app policy.
- ``ignore``: the guard's policy alone, with a warning.

The weight pins of the model's policy and of the guard's are checked against the model's files
(a mismatch warns or refuses, as each pin says). The wrapper's ``guard.model_binding`` records it.
The guard passed in is never changed: the wrapper gets a copy (or a new guard, when stacked).
"""

from __future__ import annotations

import copy
import logging
from typing import Any, TypeVar

from guardrails.bundled import MODEL_POLICY_MODES, ModelBinding, ModelPolicyMode, combine, find_model_policy, model_key_of
from guardrails.bundled import check_weights
from guardrails.engine import Engine
from guardrails.errors import PolicyError
from guardrails.model_parent import loading_for
from guardrails.policy import load_policy
from guardrails.runtime.resolve import ModelNotFound

logger = logging.getLogger("guardrails.hf")

E = TypeVar("E", bound=Engine)


def bind_to_model(guard: E, model: Any, model_policy: ModelPolicyMode | None = None) -> E:
    """The guard a wrapper of ``model`` runs (see the module docstring)."""
    if model_policy is not None and model_policy not in MODEL_POLICY_MODES:
        raise ValueError(f"model_policy: expected one of {', '.join(MODEL_POLICY_MODES)}, got {model_policy!r}")
    key = model_key_of(model)
    if key is None:
        if guard.policy.weights is not None:
            logger.warning("policy %s pins weights, but the wrapped model does not say where it was loaded from "
                           "(no name_or_path): the pins are not checked", guard.policy.name)
        return guard
    existing: ModelBinding | None = getattr(guard, "model_binding", None)
    if existing is not None and existing.same_model(key):
        return guard  # Guard.for_model(this model): found, combined and checked already
    try:
        src = find_model_policy(key)
    except ModelNotFound:
        # name_or_path names a folder that is gone (or a path on another host): nothing to find there.
        logger.warning("the wrapped model was loaded from %r, which is not there now: its own policy and the "
                       "weight pins cannot be checked", key)
        return guard
    bundled = None
    if src.policy_file is not None:
        # The file comes with the model, not from the caller: it may not import modules (module:Class filters).
        with loading_for(src.parent()):
            try:
                bundled = load_policy(src.policy_file, trust_plugins=False)
            except PolicyError as exc:
                raise type(exc)([f"the policy bundled with model {key!r} cannot be loaded:", *exc.problems]) from None
    if src.status == "unknown":
        logger.warning("model %s: %s; running without its bundled policy, if it has one", key, src.detail)
    result = combine(src, bundled, guard.policy, model_policy)
    checks = check_weights(result.policy, bundled if result.binding.mode != "ignored" else None, src)
    if result.policy is guard.policy and bundled is None and not checks:
        return guard  # nothing to add and nothing to record: the wrapper runs the guard as it is
    bound = copy.copy(guard) if result.policy is guard.policy else type(guard)(result.policy)
    binding = ModelBinding(**{**result.binding.__dict__, "weights": checks})
    setattr(bound, "model_binding", binding)
    return bound
