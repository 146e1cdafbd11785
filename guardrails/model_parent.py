"""``extends: model``: the reserved parent name for the policy bundled with the model a policy is loaded for.

A model folder (or hub repository) may carry ``guardrails.yaml``, its publisher's policy. An app
policy builds on it with ``extends: model``. Which model that is depends on how the policy is
loaded, not on the file: ``Guard.for_model(MODEL, policy=...)``, ``guard.wrap(model, tok)``,
``guardrails check --model`` and ``guardrails serve --model`` find the model's file
(``guardrails.bundled``) and load the policy inside ``loading_for(...)``, which this module keeps
for the duration of the load (a context variable: per thread and per asyncio task). The policy
loader asks ``model_policy_file()`` when it meets ``extends: model``; outside such a load, or for
a model without ``guardrails.yaml``, that is a clear error.

This module sits in the policy layer and only holds the answer; finding the file (local folder,
Hugging Face cache, hub) is ``guardrails.bundled``'s work, one layer up.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from guardrails.errors import PolicyError

MODEL_PARENT = "model"
BUNDLED_POLICY = "guardrails.yaml"


@dataclass(frozen=True)
class ModelParent:
    """The model a policy is being loaded for: its key (path or hub id), its ``guardrails.yaml``
    (None when it has none, or when it could not be found) and, then, why."""

    key: str
    policy_file: Path | None
    missing: str = ""


_current: contextvars.ContextVar[ModelParent | None] = contextvars.ContextVar("guardrails_model_parent", default=None)


@contextlib.contextmanager
def loading_for(parent: ModelParent) -> Iterator[ModelParent]:
    """Resolve ``extends: model`` to ``parent`` for the policies loaded inside this block."""
    token = _current.set(parent)
    try:
        yield parent
    finally:
        _current.reset(token)


def current_model() -> ModelParent | None:
    """The model the policy being loaded is loaded for, if any."""
    return _current.get()


def model_policy_file() -> Path:
    """The file ``extends: model`` names; PolicyError when no model was given or it has no policy."""
    parent = _current.get()
    if parent is None:
        raise PolicyError(
            f"'{MODEL_PARENT}' is the {BUNDLED_POLICY} bundled with the model this policy is loaded for, "
            "and no model was given: load it with Guard.for_model(MODEL, policy=...), "
            "guardrails check --model MODEL, guardrails serve --model MODEL or guardrails policy validate --model MODEL"
        )
    if parent.policy_file is None:
        why = parent.missing or f"it has no {BUNDLED_POLICY}"
        raise PolicyError(f"'{MODEL_PARENT}': model {parent.key!r} has no policy to build on: {why}")
    return parent.policy_file
