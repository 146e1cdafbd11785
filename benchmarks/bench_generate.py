"""Guarded vs unguarded ``generate`` on a distilgpt2-sized GPT-2 with random weights.

Prints, in one run:
  1. time for N new tokens, unguarded and guarded (``--policy``, default: the built-in default
     policy), runs interleaved, the ratios, and the guard's own time measured inside the call;
  2. tokens generated for an answer the output policy blocks, with and without early stopping.

    .venv/bin/python benchmarks/bench_generate.py [--new-tokens 128] [--runs 5] [--threads 1] [--policy FILE]

The tokenizer is a byte-level BPE over synthetic words, as large as GPT-2's (50257 entries), so
decoding costs about what it costs with the real GPT-2 vocabulary.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import string
import sys
import time
from typing import Any


def build_model(vocab_size: int, n_layer: int, n_embd: int) -> tuple[Any, Any]:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    # A byte-level BPE vocabulary built directly (training one this size takes ~30 s): random
    # words, with and without the leading-space marker, each reachable through a chain of merges.
    rng = random.Random(0)
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {"<|endoftext|>": 0, **{c: i + 1 for i, c in enumerate(alphabet)}}
    merges: list[tuple[str, str]] = []
    while len(vocab) < vocab_size:
        word = ("\u0120" if rng.random() < 0.7 else "") + "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
        for k in range(2, len(word) + 1):
            if word[:k] not in vocab and len(vocab) < vocab_size:
                merges.append((word[: k - 1], word[k - 1]))
                vocab[word[:k]] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(fast),
        n_positions=1024,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_embd // 64,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    return GPT2LMHeadModel(config).eval(), fast  # type: ignore[no-untyped-call]


def timed(fn: Any) -> tuple[float, float, Any]:
    """Wall time and process CPU time (less sensitive to other load on a shared host)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


class GuardClock:
    """Wall time spent in guard code during one guarded call (benchmark-only instrumentation).

    work = the per-token stopping criterion (incremental decoding and checks) + everything the
    wrapper does outside ``model.generate`` (input check, final output check, re-encoding).
    """

    def __init__(self, model: Any) -> None:
        from guardrails.hf.monitor import OutputMonitor

        self.hook = 0.0
        self.inner = 0.0
        step_fn = OutputMonitor.step
        generate_fn = model.generate

        def step(monitor: Any, input_ids: Any) -> Any:
            start = time.perf_counter()
            try:
                return step_fn(monitor, input_ids)
            finally:
                self.hook += time.perf_counter() - start

        def generate(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return generate_fn(*args, **kwargs)
            finally:
                self.inner += time.perf_counter() - start

        setattr(OutputMonitor, "step", step)
        setattr(model, "generate", generate)

    def reset(self) -> None:
        self.hook = self.inner = 0.0

    def work(self, wall: float) -> float:
        return self.hook + (wall - self.inner)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is steadiest on a shared host)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--embd", type=int, default=768)
    parser.add_argument("--vocab", type=int, default=50257)
    parser.add_argument("--policy", default="default", help="policy file or built-in name for [1] (default: default)")
    args = parser.parse_args()

    import torch

    from guardrails import Guard

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model, tok = build_model(args.vocab, args.layers, args.embd)
    model.to(args.device)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"model: GPT-2 n_layer={args.layers} n_embd={args.embd} vocab={len(tok)} params={params:.1f}M device={args.device} threads={args.threads} (built in {time.perf_counter() - t0:.1f} s)")

    prompt = "Please summarise the meeting notes and send them to the team before friday."
    enc = tok(prompt, return_tensors="pt").to(args.device)
    n = args.new_tokens
    gen = dict(max_new_tokens=n, min_new_tokens=n, do_sample=False)
    guard = Guard.from_policy(args.policy)
    guarded = guard.wrap(model, tok)

    clock = GuardClock(model)
    with torch.inference_mode():
        model.generate(**enc, max_new_tokens=8)  # warm-up
        guarded.generate(**enc, max_new_tokens=8)
        plain_t, guarded_t, plain_c, guarded_c, hook_t, guard_t, calls = [], [], [], [], [], [], []
        plain_out: Any = None
        guarded_out: Any = None

        def run_plain() -> None:
            nonlocal plain_out
            w, c, plain_out = timed(lambda: model.generate(**enc, **gen))
            plain_t.append(w)
            plain_c.append(c)

        def run_guarded() -> None:
            nonlocal guarded_out
            clock.reset()
            w, c, guarded_out = timed(lambda: guarded.generate(**enc, **gen))
            guarded_t.append(w)
            guarded_c.append(c)
            hook_t.append(clock.hook)
            guard_t.append(clock.work(w))
            calls.append(guarded.last_verdicts.checks[0])

        # Pairs in alternating order (AB BA AB ...), so that drifting load from other processes hits both alike.
        for i in range(args.runs):
            for run in (run_plain, run_guarded) if i % 2 == 0 else (run_guarded, run_plain):
                run()
    same = bool(torch.equal(plain_out, guarded_out))
    p, g = statistics.median(plain_t), statistics.median(guarded_t)
    pc, gc = statistics.median(plain_c), statistics.median(guarded_c)
    hook, work = statistics.median(hook_t), statistics.median(guard_t)
    outputs = ", ".join(b.id for b in guard.filters("output"))
    print(f"\n[1] {n} new tokens, policy {guard.policy.name!r} (output filters: {outputs}), {args.runs} interleaved runs")
    print(f"    unguarded  wall median {p * 1000:8.1f} ms  min {min(plain_t) * 1000:8.1f} ms  cpu median {pc * 1000:8.1f} ms  ({n / p:.1f} tokens/s)")
    print(f"    guarded    wall median {g * 1000:8.1f} ms  min {min(guarded_t) * 1000:8.1f} ms  cpu median {gc * 1000:8.1f} ms  ({n / g:.1f} tokens/s)")
    paired = statistics.median(gt / pt for gt, pt in zip(guarded_t, plain_t))
    print(f"    ratio guarded/unguarded: wall median {g / p:.4f}  median of paired runs {paired:.4f}  wall min/min {min(guarded_t) / min(plain_t):.4f}  cpu median {gc / pc:.4f}")
    print(f"    guard work per call (instrumented): median {work * 1000:.1f} ms = {work / p * 100:.2f} % of unguarded wall time"
          f"  (per-token hook {hook * 1000:.1f} ms, {statistics.median(calls)} checks)")
    print(f"    guarded ids identical to unguarded ids: {same}")

    # [2] A blocked answer: block on a word the model writes early, as a harmful phrase would be.
    answer = tok.decode(plain_out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    # A trigger a quarter into the answer that does not occur before.
    at = len(answer) // 4
    while at > 0 and answer[at : at + 6] in answer[: at + 5]:
        at += 1
    trigger = answer[at : at + 6]
    policy = {
        "version": 1,
        "name": "bench-block",
        "extends": args.policy,
        "output": [{"filter": "regex", "id": "harmful", "patterns": [re.escape(trigger)], "action": "block"}],
    }
    blocking = Guard.from_policy(policy).wrap(model, tok)
    with torch.inference_mode():
        t_block, _, _ = timed(lambda: blocking.generate(**enc, **gen))
    v = blocking.last_verdicts
    used = v.new_tokens[0]
    pos = answer.find(trigger)
    print(f"\n[2] answer blocked by an output filter (trigger at character {pos} of the answer)")
    print(f"    without early stop: {n} tokens generated, {p * 1000:.1f} ms (then blocked after generation)")
    print(f"    with early stop:    {used} tokens generated, {t_block * 1000:.1f} ms, stopped_early={v.stopped_early[0]}")
    print(f"    tokens saved: {n - used} of {n} ({(n - used) / n * 100:.1f} %), time saved {(1 - t_block / p) * 100:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
