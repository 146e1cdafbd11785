"""Guard a transformers model or text-generation pipeline in one line.

``guard.wrap(model, tokenizer)`` returns a proxy whose ``generate()`` checks the prompt before
the model runs and the answer *while* it is generated: a stopping criterion decodes the new
tokens of each row incrementally, feeds them to an ``OutputStream`` and stops a row as soon as
its answer is blocked. Every other attribute passes through to the model.

What callers get back:

- ``generate()`` returns what ``model.generate`` would: the caller's prompt ids followed by the
  answer ids. A blocked row (input or output) gets the policy's refusal instead of its answer;
  a redacted answer is re-encoded. Rows are independent.
- A streamer passed to ``generate()`` only ever receives approved (and redacted) text. On a block
  it receives the refusal text (``stream_refusal=False``: nothing), then the end of the stream.
- Verdicts (input per prompt row, output per returned row, as ``GenerationVerdicts``): per call,
  pass a record, ``generate(..., verdicts=rec)`` with ``rec = VerdictRecord()``, then read
  ``rec.value`` (also from a streamer's worker thread). ``guarded.last_verdicts`` is a convenience
  holding the latest call's verdicts: per wrapper, not per thread. Verdict summaries go to the
  ``guardrails`` loggers, never the text.

Chat: use ``guarded.apply_chat_template(messages, ...)`` (or ``generate(messages=...)``) so the
input filters see the messages; ids from the tokenizer's own template are checked as decoded text.
Options of ``wrap``: ``check_every_tokens`` (4), ``max_overhead`` (0.02 of generation time for
incremental checks; None = no limit), ``hold_chars`` / ``check_every_chars`` (OutputStream; default: the
policy's ``stream:``, 48 / 32),
``stream_refusal`` (True). Beam search: blocked beams are pruned, the returned rows are checked
after generation. With ``return_dict_in_generate`` only ``sequences`` is rewritten.

Modules: ``api`` (``wrap``, ``wrap_pipeline``), ``model`` (``GuardedModel``), ``pipeline``
(``GuardedPipeline``), ``prompts`` (input stage, chat templates, padding), ``generate`` (one
guarded generate call, step by step), ``monitor`` (checks while rows grow, stopping mid-stream),
``beam`` (beam pruning), ``streamer`` (what streamers receive), ``answers`` (answer ids: refusal,
redaction), ``verdicts`` (``GenerationVerdicts``), ``options`` (the options of ``wrap``).
"""

from guardrails.hf.api import wrap, wrap_pipeline
from guardrails.hf.model import GuardedModel
from guardrails.hf.options import DEFAULT_CHECK_EVERY_TOKENS, DEFAULT_MAX_OVERHEAD
from guardrails.hf.pipeline import GuardedPipeline
from guardrails.hf.verdicts import GenerationVerdicts
from guardrails.verdict import VerdictRecord

__all__ = ["DEFAULT_CHECK_EVERY_TOKENS", "DEFAULT_MAX_OVERHEAD", "GenerationVerdicts", "GuardedModel", "GuardedPipeline", "VerdictRecord", "wrap", "wrap_pipeline"]
