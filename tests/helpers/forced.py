"""For tests that run tiny causal LMs (import after ``pytest.importorskip("torch")``): one torch thread per
module, and a logits processor that makes a random tiny model write a chosen answer."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import torch
import transformers


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    # Tiny models on a shared, busy host: two intra-op threads make each step 10-30x slower.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class ForcedAnswer(transformers.LogitsProcessor):
    """Makes a (random, tiny) model generate exactly ``ids``: what a model without safety training answers."""

    def __init__(self, ids: list[int], eos: int) -> None:
        self.ids, self.eos, self.start = ids, eos, None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.start is None:
            self.start = input_ids.shape[1]
        i = input_ids.shape[1] - self.start
        forced = torch.full_like(scores, float("-inf"))
        forced[:, self.ids[i] if i < len(self.ids) else self.eos] = 0.0
        return forced
