#!/usr/bin/env python3
"""Build "tiny-chat", an example model folder that carries its publisher's policy.

    python examples/bundled-model/build.py /tmp/tiny-chat          # the model + guardrails.yaml
    python examples/bundled-model/build.py /tmp/tiny-chat --pin    # ... with the weights pinned

It writes a tiny Llama (random weights, about 300 KB, a byte-level BPE tokenizer trained here on a
few sentences, a chat template) with ``save_pretrained``, and copies this folder's
``guardrails.yaml`` (the publisher's policy) next to the weights. ``--pin`` then runs what
``guardrails policy pin TARGET TARGET/guardrails.yaml`` runs: the sha256 of the weight files goes
into the copied policy. Nothing is downloaded; the same seed builds the same weights.

The weights are not committed to the repository: build them where you need them (the tests do).
Needs torch, transformers and tokenizers (pip install 'openweights-guardrails[models]').
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
POLICY = HERE / "guardrails.yaml"

CORPUS = [
    "Hello! How can I help you today? I can answer questions, write and summarise.",
    "How do I reset my password? Open the settings page and choose 'forgot password'.",
    "The weather today is sunny and warm, with a light breeze from the west.",
    "Please summarise the meeting notes and send them to the team by Friday.",
    "Thank you for your help! Have a wonderful day.",
    "0123456789 !?.,;:'\"()[]{}<>@#$%^&*-_=+/\\| abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ",
]
SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|pad|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n{{ message['content'] }}<|eot_id|>"
    "{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


def build(target: Path, *, seed: int = 0, policy: Path | None = POLICY) -> Path:
    """Write the tiny model (and, unless ``policy`` is None, its guardrails.yaml) into ``target``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    target.mkdir(parents=True, exist_ok=True)
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    raw.train_from_iterator(CORPUS * 3, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                                  pad_token="<|pad|>", model_max_length=512)
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(str(target))
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, initializer_range=0.2,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(str(target))
    if policy is not None:
        shutil.copyfile(policy, target / "guardrails.yaml")
    return target


def pin(target: Path) -> dict[str, str]:
    """Pin the weights of ``target`` in ``target/guardrails.yaml`` (as ``guardrails policy pin`` does)."""
    from guardrails.cli.policy_pin import pin_policy

    return pin_policy(target, target / "guardrails.yaml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("target", type=Path, help="folder to write the model into (created)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pin", action="store_true", help="pin the weights in the copied guardrails.yaml")
    parser.add_argument("--no-policy", action="store_true", help="write the model only (no guardrails.yaml)")
    args = parser.parse_args(argv)
    build(args.target, seed=args.seed, policy=None if args.no_policy else POLICY)
    print(f"wrote {args.target}: " + ", ".join(sorted(p.name for p in args.target.iterdir())))
    if args.pin and not args.no_policy:
        pins = pin(args.target)
        print(f"pinned {len(pins)} weight file(s) in {args.target / 'guardrails.yaml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
