"""``builtin``: the offline detector shipped in the package (no download, numpy only).

    - filter: builtin
      categories: {prompt_injection: 0.9, harmful_request: 0.8, sexual_content: off,
                   self_harm: {action: respond}}
      action: block

On prompts it scores prompt_injection, jailbreak, toxicity, harmful_request (a request for
anything in a hazard category) and each hazard category (guardrails.taxonomy); on answers,
harmful_response (an answer that carries out a harmful request, read together with its prompt),
toxicity and each hazard category. Only the categories listed are enforced (omitted: the
stage's measured defaults); ``off`` allows a category, which also stops ``harmful_request`` /
``harmful_response`` from counting it. ``FilterResult.scores`` always holds every score.
With chat messages, each user and tool message is scored on its own (the engine hands it one
part at a time) and the last ``turn_window`` turns of each role are also scored read together,
so an instruction split across turns is still seen. System and assistant messages are the
deployer's and the model's own words and are not read unless the entry's ``roles`` names them.
``action: redact`` removes the segment that scored (e.g. the injected instruction inside a tool
result or a retrieved document) and lets the rest of the text through.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from threading import Lock
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from guardrails.categories import CATEGORY_SETTING_SCHEMA, CategoryRule, action_override, parse_categories
from guardrails.conversation import role_group
from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.taxonomy import HAZARDS
from guardrails.types import Context, FilterResult, Finding, Span, Stage

INPUT_CATEGORIES = ("prompt_injection", "jailbreak", "harmful_request", "toxicity", *HAZARDS)
OUTPUT_CATEGORIES = ("harmful_response", "toxicity", *HAZARDS)
UMBRELLA = {"input": "harmful_request", "output": "harmful_response"}
# The prompt_injection threshold in tool messages (untrusted content), unless `untrusted:` says otherwise:
# chosen on the validation split of bipia_email (benchmarks/eval_indirect_injection.py), never on its test split.
UNTRUSTED_INJECTION = 0.5
# A hazard is named in an umbrella finding's label when its own score reaches this.
NAMED_HAZARD_SCORE = 0.3


class BuiltinConfig(FilterConfig):
    categories: dict[str, CategoryRule] | None = Field(
        None, description="Category -> threshold, off, or {threshold, action: block|flag|respond|off}; only these are "
                          "enforced. Default: the stage's categories at the thresholds measured at training time.",
        json_schema_extra={"additionalProperties": CATEGORY_SETTING_SCHEMA,
                           "propertyNames": {"enum": list(sorted(set(INPUT_CATEGORIES + OUTPUT_CATEGORIES)))}},
    )
    untrusted: dict[str, CategoryRule] | None = Field(
        None, description="Input categories enforced differently in tool messages (tool results, retrieved documents: "
                          "untrusted content, where any instruction aimed at the model is an injection), e.g. "
                          "{prompt_injection: 0.5}; merged over categories. Default: "
                          "{prompt_injection: 0.5}.",
        json_schema_extra={"additionalProperties": CATEGORY_SETTING_SCHEMA,
                           "propertyNames": {"enum": list(INPUT_CATEGORIES)}},
    )
    model: str | None = Field(None, description="Detector folder (meta.json + weights.npz, e.g. written by `guardrails "
                                                "adapt`), relative to the policy file; default: the shipped model.")

    @field_validator("model")
    @classmethod
    def _detector_folder(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        path = Path(value).expanduser()
        base = (info.context or {}).get("policy_dir")
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        if not path.is_dir():
            raise ValueError(f"detector folder not found: {path}")
        missing = [f for f in ("meta.json", "weights.npz") if not (path / f).is_file()]
        if missing:
            raise ValueError(f"{path} is not a detector folder (missing {', '.join(missing)})")
        return str(path.resolve())

    @field_validator("categories", mode="before")
    @classmethod
    def _known_categories(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return value
        stage = str((info.context or {}).get("stage") or "")
        known = {"input": INPUT_CATEGORIES, "output": OUTPUT_CATEGORIES}.get(stage, INPUT_CATEGORIES + OUTPUT_CATEGORIES)
        return parse_categories(value, set(known), what=f"{stage} category" if stage else "category")

    @field_validator("untrusted", mode="before")
    @classmethod
    def _known_untrusted(cls, value: Any) -> Any:
        return value if value is None else parse_categories(value, set(INPUT_CATEGORIES), what="input category")

    def respond_categories(self) -> tuple[str, ...]:
        rules = [*(self.categories or {}).items(), *(self.untrusted or {}).items()]
        return tuple(dict.fromkeys(c for c, rule in rules if rule.action == "respond"))


_SEGMENT_END = re.compile(r"\n+|(?<=[.!?])\s+")


def _segments(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    """The sentences and lines inside ``text[span]`` (offsets in ``text``, stripped of surrounding spaces)."""
    start, end = span
    out, pos = [], start
    for m in _SEGMENT_END.finditer(text, start, end):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, end))
    return [(a, b) for a, b in out if text[a:b].strip()]


@lru_cache(maxsize=4)
def _load(directory: str | None) -> Any:
    from guardrails.detector import DEFAULT_DIR, Detector

    return Detector.load(Path(directory) if directory else DEFAULT_DIR)


class _Recent:
    """The detections of the last few texts: an answer checked while it streams reads its prompt's
    scores dozens of times."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.items: OrderedDict[str, Any] = OrderedDict()
        self.lock = Lock()

    def get(self, detector: Any, text: str) -> Any:
        with self.lock:
            found = self.items.get(text)
            if found is not None:
                self.items.move_to_end(text)
                return found
        found = detector.score(text)
        with self.lock:
            self.items[text] = found
            if len(self.items) > self.size:
                self.items.popitem(last=False)
        return found


class BuiltinFilter(BaseFilter):
    """n-gram + cue network over normalised text, its segments and decoded payloads."""

    name = "builtin"
    Config = BuiltinConfig
    cost = 1
    actions = frozenset({"block", "flag", "redact"})
    default_roles = frozenset({"user", "tool"})
    default_parts = frozenset({"content", "tool_arguments"})
    turn_window = 6

    def __init__(self, config: BuiltinConfig) -> None:
        super().__init__(config)
        self.config: BuiltinConfig = config
        self._detector: Any = None
        self._rules: dict[str, dict[str, CategoryRule]] = {}
        self._recent = _Recent()

    def cacheable(self, ctx: Context) -> bool:
        return ctx.stage is Stage.INPUT  # an answer is read with its prompt

    def is_light(self) -> bool:
        return True  # numpy dot products over hashed n-grams, about 3 ms per 1,000 characters

    def load(self) -> None:
        self._detector = _load(self.config.model)
        shipped = self._detector.meta.get("thresholds", {})
        fallback = self.config.threshold
        for stage, names in (("input", INPUT_CATEGORIES), ("output", OUTPUT_CATEGORIES)):
            measured = shipped.get(stage, {})
            if self.config.categories is not None:
                rules = {c: r for c, r in self.config.categories.items() if c in names}
            else:
                rules = {c: CategoryRule(threshold=fallback) for c in measured}
            # A rule without a threshold takes the measured one (else 0.5).
            self._rules[stage] = {c: r if r.threshold is not None or r.off else
                                  r.model_copy(update={"threshold": float(measured.get(c, 0.5))}) for c, r in rules.items()}
        base = self._rules["input"]
        untrusted = self.config.untrusted
        if untrusted is None:  # default: injection enforced at least as strictly as UNTRUSTED_INJECTION, where enforced
            rule = base.get("prompt_injection")
            enforced = rule is not None and not rule.off and rule.threshold is not None
            untrusted = {"prompt_injection": rule.model_copy(update={"threshold": min(float(rule.threshold),  # type: ignore[union-attr,arg-type]
                                                                                       UNTRUSTED_INJECTION)})} if enforced else {}
        self._rules["untrusted"] = {**base, **{c: r if r.threshold is not None or r.off else
                                               r.model_copy(update={"threshold": base[c].threshold if c in base else 0.5})
                                               for c, r in untrusted.items()}}

    def _table(self, ctx: Context) -> dict[str, CategoryRule]:
        """The rules in force: the output stage's, the tool role's (untrusted content), or the input stage's."""
        if ctx.stage is Stage.OUTPUT:
            return self._rules.get("output", {})
        if role_group(ctx.role) == "tool" and ctx.role is not None:
            return self._rules.get("untrusted", {})
        return self._rules.get("input", {})

    def _rule(self, category: str, ctx: Context) -> CategoryRule | None:
        return self._table(ctx).get(category)

    def threshold_for(self, category: str, ctx: Context) -> float:
        rule = self._rule(category, ctx)
        return float(rule.threshold) if rule is not None and rule.threshold is not None else self.threshold

    def action_for(self, category: str, ctx: Context) -> str | None:
        rule = self._rule(category, ctx)
        return action_override(rule) if rule is not None else None

    def thresholds(self, stage: str = "input") -> dict[str, float]:
        """The enforced categories of a stage and their thresholds (after load)."""
        return {c: float(r.threshold) for c, r in self._rules.get(stage, {}).items() if not r.off and r.threshold is not None}

    def _scores(self, text: str, ctx: Context) -> tuple[dict[str, float], dict[str, tuple[int, int] | None]]:
        """Every category's score at this stage, and the span that scored it (single texts only)."""
        det = self._detector
        if ctx.stage is Stage.OUTPUT:
            answer = det.score(text)
            prompt = self._recent.get(det, ctx.prompt) if ctx.prompt else None
            scores = {c: answer.scores[c] for c in OUTPUT_CATEGORIES if c != "harmful_response"}
            scores["harmful_response"] = det.response_score(answer, prompt)
            scores = det.corrected(scores, answer, "output")
            spans: dict[str, tuple[int, int] | None] = {c: answer.spans.get(c) for c in OUTPUT_CATEGORIES}
            spans["harmful_response"] = None  # the whole answer, read with its prompt
            return scores, spans
        d = self._recent.get(det, text)
        scores = det.corrected({c: d.scores[c] for c in INPUT_CATEGORIES}, d, "input")
        return scores, {c: d.spans[c] for c in INPUT_CATEGORIES}

    def _narrowest(self, text: str, category: str, threshold: float, span: tuple[int, int]) -> tuple[int, int]:
        """For a redaction: the sentences or lines of ``span`` that reach the threshold by themselves (the
        injected instruction, not the document around it), as one range; the span itself when none does."""
        hits = [(a, b) for a, b in _segments(text, span) if self._recent.get(self._detector, text[a:b]).scores[category] >= threshold]
        return (hits[0][0], hits[-1][1]) if hits else span

    def check(self, text: str, ctx: Context) -> FilterResult:
        stage = "output" if ctx.stage is Stage.OUTPUT else "input"
        scores, spans = self._scores(text, ctx)
        rules = self._table(ctx)
        umbrella = UMBRELLA[stage]
        allowed = [c for c, r in rules.items() if r.off and c in HAZARDS]
        if allowed:
            # An umbrella score counts only the hazards still enforced: discount what an allowed
            # category explains (a sexual story on an adult platform is not a "harmful request").
            scores[umbrella] *= 1.0 - max(scores[c] for c in allowed)
        named = max(HAZARDS, key=lambda c: scores[c])
        findings = []
        for c, rule in rules.items():
            if rule.off or rule.threshold is None or scores[c] < rule.threshold:
                continue
            label = f"{umbrella}/{named}" if c == umbrella and scores[named] >= NAMED_HAZARD_SCORE else c
            span = spans.get(c)
            redacts = bool(text) and ctx.stage is Stage.INPUT and (self.action_for(c, ctx) or self.config.action) == "redact"
            if redacts and span is not None:
                span = self._narrowest(text, c, float(rule.threshold), span)
            if span and span[1] > span[0]:
                found: tuple[Span, ...] = (Span(span[0], span[1], label),)
            elif redacts:
                found = (Span(0, len(text), label),)  # scored on the whole text: redacting removes it all
            else:
                found = ()
            findings.append(Finding(c, round(scores[c], 4), found))
        return FilterResult(tuple(findings), {c: round(v, 4) for c, v in scores.items()})
