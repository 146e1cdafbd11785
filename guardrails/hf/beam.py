"""Beam search under the output stage: blocked beams are pruned while the search runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guardrails.types import Context

if TYPE_CHECKING:
    from guardrails.engine import Engine


class BeamGuard:
    """Beam search: beams are reordered every step, so each check decodes whole beams.

    Blocked beams get -inf scores (a logits processor) and drop out; when every running beam
    is blocked, the stopping criterion ends the search. The final rows are checked after.
    """

    def __init__(self, guard: "Engine", tokenizer: Any, ctxs: list[Context], gen_start: int, every: int) -> None:
        self.guard = guard
        self.tokenizer = tokenizer
        self.ctxs = ctxs
        self.gen_start = gen_start
        self.every = max(1, every)
        self.steps = 0
        self.cache: dict[tuple[int, ...], bool] = {}
        self.all_blocked = False
        self.checks = 0

    def _blocked(self, ids: list[int], ctx: Context) -> bool:
        key = tuple(ids)
        hit = self.cache.get(key)
        if hit is None:
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            self.checks += 1
            hit = not self.guard.check_output(text, ctx=ctx).allowed if text else False
            self.cache[key] = hit
        return hit

    def logits_processor(self) -> Any:
        from transformers import LogitsProcessor

        owner = self

        class GuardrailsBeamPruner(LogitsProcessor):
            def __call__(self, input_ids: Any, scores: Any) -> Any:
                owner.steps += 1
                if owner.steps % owner.every:
                    return scores
                rows = input_ids.shape[0]
                blocked = []
                for r, ids in enumerate(input_ids[:, owner.gen_start :].tolist()):
                    ctx = owner.ctxs[r * len(owner.ctxs) // rows]
                    blocked.append(owner._blocked(ids, ctx))
                owner.all_blocked = bool(blocked) and all(blocked)
                if any(blocked):
                    scores = scores.clone()
                    for r, b in enumerate(blocked):
                        if b:
                            scores[r] = float("-inf")
                return scores

        return GuardrailsBeamPruner()

    def stopping_criterion(self) -> Any:
        from transformers import StoppingCriteria

        owner = self

        class GuardrailsBeamStop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                import torch

                return torch.full((input_ids.shape[0],), owner.all_blocked, dtype=torch.bool, device=input_ids.device)

        return GuardrailsBeamStop()
