"""Guard a Hugging Face transformers model in one line: generate, chat, streaming, pipelines, @protect.

Offline (builds a tiny random-weight Llama with a chat template in a temp folder; its text is gibberish):
    python examples/wrap_transformers.py

With a real instruct model from the hub (or a local folder holding one):
    python examples/wrap_transformers.py --model meta-llama/Llama-3.2-1B-Instruct
    python examples/wrap_transformers.py --model Qwen/Qwen2.5-0.5B-Instruct --policy policies/support-bot.yaml

Needs the models extra: pip install 'openweights-guardrails[models]'.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

from guardrails import Guard, VerdictRecord


def build_tiny_chat_model(folder: Path) -> Path:
    """A 2-layer Llama with random weights and a locally trained tokenizer (no download)."""
    import string

    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = [
        "Hello! How can I help you today?",
        "Your order ships tomorrow; the tracking number follows by email.",
        "I can't help with that request.",
        "Please reset your password from the account page.",
    ]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    alphabet = sorted(set(string.printable) - set(string.whitespace) | {"\n", "\u2581"})
    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    tok.train_from_iterator(corpus * 8, trainers.BpeTrainer(vocab_size=300, special_tokens=specials, initial_alphabet=alphabet))
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    fast.chat_template = (
        "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
    )
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description="guard.wrap() on a transformers model")
    parser.add_argument("--model", help="hub id or local folder of a chat model (default: a tiny offline model)")
    parser.add_argument("--policy", default="default", help="policy file or built-in name (default: default)")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer, pipeline

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")  # verdict summaries, never text
    torch.set_num_threads(1)
    tmp = tempfile.TemporaryDirectory()
    source = args.model or str(build_tiny_chat_model(Path(tmp.name)))
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForCausalLM.from_pretrained(source)

    guard = Guard.from_policy(args.policy)
    guarded: Any = guard.wrap(model, tokenizer)  # the one line; everything else is ordinary transformers code

    # 1. Chat: the messages are checked (and redacted) before the model sees them.
    messages = [{"role": "user", "content": "My API key is sk_live_4eC39HqLyjWDarjtT1zdp7dc, is my order late?"}]
    inputs = guarded.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = guarded.generate(**inputs, max_new_tokens=32)
    answer = tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    verdicts = guarded.last_verdicts
    print("\n[chat] input action:", verdicts.inputs[0].action.value, "| model saw:", verdicts.inputs[0].messages[-1]["content"])
    print("[chat] answer:", repr(answer[:80]), "| output action:", verdicts.outputs[0].action.value)

    # 2. Streaming: the streamer only ever receives approved text; on a block, the refusal.
    #    generate() runs in a worker thread: a VerdictRecord receives this call's verdicts.
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    prompt = tokenizer("Tell me about shipping.", return_tensors="pt")
    rec: VerdictRecord[Any] = VerdictRecord()
    worker = threading.Thread(target=guarded.generate, kwargs={**prompt, "max_new_tokens": 32, "streamer": streamer, "verdicts": rec})
    worker.start()
    print("[stream] ", end="")
    for piece in streamer:
        print(piece, end="", flush=True)
    worker.join()
    assert rec.value is not None  # set when generate() returns
    print("\n[stream] tokens generated:", rec.value.new_tokens, "stopped early:", rec.value.stopped_early)

    # 3. Pipelines with chat messages.
    pipe = guard.wrap_pipeline(pipeline("text-generation", model=model, tokenizer=tokenizer))
    reply = pipe([{"role": "user", "content": "Where is my parcel?"}], max_new_tokens=16)
    print("[pipeline] assistant:", repr(reply[0]["generated_text"][-1]["content"][:80]))

    # 4. Any prompt -> text callable, including generators of chunks.
    @guard.protect
    def answer_fn(prompt: str) -> str:
        return f"You said: {prompt}"

    print("[protect]", answer_fn("my key is sk_live_4eC39HqLyjWDarjtT1zdp7dc"))
    tmp.cleanup()


if __name__ == "__main__":
    main()
