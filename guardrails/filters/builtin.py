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
With chat messages, each user / tool message is scored on its own and the user turns are also
scored joined, so an instruction split across turns is still seen. System and assistant messages
are the deployer's and the model's own words and are not scored.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from threading import Lock
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from guardrails.categories import CATEGORY_SETTING_SCHEMA, CategoryRule, action_override, parse_categories
from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.taxonomy import HAZARDS
from guardrails.types import Context, FilterResult, Finding, Span, Stage

INPUT_CATEGORIES = ("prompt_injection", "jailbreak", "harmful_request", "toxicity", *HAZARDS)
OUTPUT_CATEGORIES = ("harmful_response", "toxicity", *HAZARDS)
SKIPPED_ROLES = frozenset({"system", "developer", "assistant"})
UMBRELLA = {"input": "harmful_request", "output": "harmful_response"}
# A hazard is named in an umbrella finding's label when its own score reaches this.
NAMED_HAZARD_SCORE = 0.3


class BuiltinConfig(FilterConfig):
    categories: dict[str, CategoryRule] | None = Field(
        None, description="Category -> threshold, off, or {threshold, action: block|flag|respond|off}; only these are "
                          "enforced. Default: the stage's categories at the thresholds measured at training time.",
        json_schema_extra={"additionalProperties": CATEGORY_SETTING_SCHEMA,
                           "propertyNames": {"enum": list(sorted(set(INPUT_CATEGORIES + OUTPUT_CATEGORIES)))}},
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

    def respond_categories(self) -> tuple[str, ...]:
        return tuple(c for c, rule in (self.categories or {}).items() if rule.action == "respond")


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
    conversation = True
    actions = frozenset({"block", "flag"})

    def __init__(self, config: BuiltinConfig) -> None:
        super().__init__(config)
        self.config: BuiltinConfig = config
        self._detector: Any = None
        self._rules: dict[str, dict[str, CategoryRule]] = {}
        self._recent = _Recent()

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

    def _rule(self, category: str, ctx: Context) -> CategoryRule | None:
        return self._rules.get("output" if ctx.stage is Stage.OUTPUT else "input", {}).get(category)

    def threshold_for(self, category: str, ctx: Context) -> float:
        rule = self._rule(category, ctx)
        return float(rule.threshold) if rule is not None and rule.threshold is not None else self.threshold

    def action_for(self, category: str, ctx: Context) -> str | None:
        rule = self._rule(category, ctx)
        return action_override(rule) if rule is not None else None

    def thresholds(self, stage: str = "input") -> dict[str, float]:
        """The enforced categories of a stage and their thresholds (after load)."""
        return {c: float(r.threshold) for c, r in self._rules.get(stage, {}).items() if not r.off and r.threshold is not None}

    def _texts(self, text: str, ctx: Context) -> list[str]:
        messages = ctx.messages if ctx.stage is Stage.INPUT else None
        if not messages:
            return [text]
        texts = []
        user_turns = []
        for m in messages:
            content = m.get("content")
            if isinstance(content, list):
                content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
            if not isinstance(content, str) or not content.strip():
                continue
            role = m.get("role", "user")
            if role in SKIPPED_ROLES:
                continue
            texts.append(content)
            if role == "user":
                user_turns.append(content)
        if len(user_turns) > 1:
            texts.append("\n".join(user_turns))
        return texts or [""]

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
        texts = self._texts(text, ctx)
        single = len(texts) == 1 and texts[0] is text
        scores = {c: 0.0 for c in INPUT_CATEGORIES}
        spans = {}
        for t in texts:
            d = self._recent.get(det, t)
            mine = det.corrected({c: d.scores[c] for c in INPUT_CATEGORIES}, d, "input")
            for c in INPUT_CATEGORIES:
                if c not in spans or mine[c] > scores[c]:
                    scores[c] = mine[c]
                    spans[c] = d.spans[c] if single else None
        return scores, spans

    def check(self, text: str, ctx: Context) -> FilterResult:
        stage = "output" if ctx.stage is Stage.OUTPUT else "input"
        scores, spans = self._scores(text, ctx)
        rules = self._rules[stage]
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
            found = (Span(span[0], span[1], label),) if span and span[1] > span[0] else ()
            findings.append(Finding(c, round(scores[c], 4), found))
        return FilterResult(tuple(findings), {c: round(v, 4) for c, v in scores.items()})
