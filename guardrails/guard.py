"""``Guard``: the public facade. The check engine plus its integrations.

The layers: ``guardrails.engine.Engine`` runs a policy's checks and knows nothing of the
integrations; ``guardrails.hf`` (transformers wrappers) and ``guardrails.protect`` (the
decorator) are built on an Engine; ``Guard`` adds them to the Engine as methods, so that
``guard.wrap(model, tok)``, ``guard.wrap_pipeline(pipe)`` and ``@guard.protect`` read as one API.
A ``Guard`` is an ``Engine``: everything that takes an engine takes a guard.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from guardrails.engine import Engine
from guardrails.hf import GuardedPipeline
from guardrails.hf import wrap as _wrap
from guardrails.hf import wrap_pipeline as _wrap_pipeline
from guardrails.protect import protect as _protect

F = TypeVar("F", bound=Callable[..., Any])


class Guard(Engine):
    """Runs a policy: ``check_input`` before the model, ``check_output`` on what it generates;
    ``wrap`` / ``wrap_pipeline`` / ``protect`` put both stages around a model, a pipeline or a function.

    Per-call verdicts of the wrappers: pass ``verdicts=VerdictRecord()`` to the wrapped call
    (see ``guardrails.verdict.VerdictRecord``); ``last_verdicts`` is per wrapper, not per thread.
    """

    def wrap(self, model: Any, tokenizer: Any = None, **options: Any) -> Any:
        """Wrap a transformers model (or pipeline) so generate() is filtered on both stages."""
        return _wrap(self, model, tokenizer, **options)

    def wrap_pipeline(self, pipe: Any, **options: Any) -> GuardedPipeline:
        """Wrap a transformers text-generation pipeline."""
        return _wrap_pipeline(self, pipe, **options)

    def protect(self, fn: F) -> F:
        """Decorate a prompt -> text callable (sync, async or generator) with both stages."""
        return _protect(self, fn)


__all__ = ["Guard"]
