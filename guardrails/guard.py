"""``Guard``: the public facade. The check engine plus its integrations.

The layers: ``guardrails.engine.Engine`` runs a policy's checks and knows nothing of the
integrations; ``guardrails.hf`` (transformers wrappers) and ``guardrails.protect`` (the
decorator) are built on an Engine; ``Guard`` adds them to the Engine as methods, so that
``guard.wrap(model, tok)``, ``guard.wrap_pipeline(pipe)`` and ``@guard.protect`` read as one API.
A ``Guard`` is an ``Engine``: everything that takes an engine takes a guard.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from guardrails.bundled import ModelBinding, ModelPolicyMode, PolicySource, load_for_model, model_key_of
from guardrails.engine import Engine
from guardrails.errors import PolicyError
from guardrails.hf import GuardedPipeline
from guardrails.hf import wrap as _wrap
from guardrails.hf import wrap_pipeline as _wrap_pipeline
from guardrails.protect import protect as _protect

if TYPE_CHECKING:
    from guardrails.signing import TrustedKeys

F = TypeVar("F", bound=Callable[..., Any])
G = TypeVar("G", bound="Guard")


class Guard(Engine):
    """Runs a policy: ``check_input`` before the model, ``check_output`` on what it generates;
    ``wrap`` / ``wrap_pipeline`` / ``protect`` put both stages around a model, a pipeline or a function.

    Per-call verdicts of the wrappers: pass ``verdicts=VerdictRecord()`` to the wrapped call
    (see ``guardrails.verdict.VerdictRecord``); ``last_verdicts`` is per wrapper, not per thread.
    """

    # How this guard's policy relates to the model it was built for (Guard.for_model) or wraps:
    # the model's bundled guardrails.yaml, the weight pin checks. None: not built for a model.
    model_binding: ModelBinding | None = None

    @classmethod
    def for_model(
        cls: type[G],
        model: str | os.PathLike[str] | Any,
        policy: PolicySource | None = None,
        *,
        model_policy: ModelPolicyMode | None = None,
        trust_plugins: bool | Sequence[str] = False,
        trusted_keys: "TrustedKeys | None" = None,
        offline: bool | None = None,
        revision: str | None = None,
        verify_weights: bool = True,
    ) -> G:
        """A guard for a model: its folder, hub id, or a loaded transformers model (``name_or_path``).

        Without ``policy`` it runs the model's own ``guardrails.yaml`` (the publisher's policy;
        the built-in ``default`` when the model has none). With ``policy`` (name, file, dict or
        Policy) it runs that policy, which builds on the model's with ``extends: model``; a policy
        that does not is handled as ``model_policy`` says: ``stack`` (default: both run),
        ``refuse`` (PolicyError) or ``ignore`` (the app policy alone, with a warning).
        The weight pins of both policies are checked against the model's files (``verify_weights``).
        ``guard.model_binding`` records the outcome. See ``guardrails.bundled``."""
        key = str(model) if isinstance(model, (str, os.PathLike)) else model_key_of(model)
        if key is None:
            raise PolicyError(f"Guard.for_model: cannot tell where this {type(model).__name__} was loaded from "
                              "(no name_or_path); pass its folder or hub id")
        found = load_for_model(key, policy, model_policy=model_policy, trust_plugins=trust_plugins,
                               trusted_keys=trusted_keys, offline=offline, revision=revision,
                               verify_weights=verify_weights)
        guard = cls(found.policy)
        guard.model_binding = found.binding
        return guard

    def wrap(self, model: Any, tokenizer: Any = None, **options: Any) -> Any:
        """Wrap a transformers model (or pipeline) so generate() is filtered on both stages.

        A model loaded from a folder or hub repository that ships ``guardrails.yaml`` is guarded by
        that policy too: when this guard's policy does not build on it (``extends: model``), the
        ``model_policy=`` option decides: ``stack`` (default: both run), ``refuse`` or ``ignore``.
        Weight pins are checked against the model's files. See ``guardrails.hf.model_policy``."""
        return _wrap(self, model, tokenizer, **options)

    def wrap_pipeline(self, pipe: Any, **options: Any) -> GuardedPipeline:
        """Wrap a transformers text-generation pipeline (the model's own policy applies as in ``wrap``)."""
        return _wrap_pipeline(self, pipe, **options)

    def protect(self, fn: F) -> F:
        """Decorate a prompt -> text callable (sync, async or generator) with both stages."""
        return _protect(self, fn)


__all__ = ["Guard"]
