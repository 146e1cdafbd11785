"""``pii``: personal data found by Presidio; block, flag, redact, mask, hash or pseudonymise it.

Pseudonymisation replaces each value of a prompt by a placeholder (``<EMAIL_ADDRESS_1>``; the
same value gets the same placeholder within a request) and records it in ``ctx.vault``; the
engine puts the originals back into that request's output. Hashing is a keyed HMAC-SHA256:
set ``hash_key`` (or the environment variable ``GUARDRAILS_PII_KEY``) for hashes that stay
stable across processes and restarts; without one a random per-process key is used.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from guardrails.errors import FilterLoadError
from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.linear_regex import MAX_PATTERNS, compile_linear
from guardrails.pii_phone import only_plausible_phones, plausible_phone
from guardrails.pii_screen import entity_screen
from guardrails.thresholds import Threshold
from guardrails.types import Context, FilterResult, Finding, Span, Stage

logger = logging.getLogger(__name__)

DEFAULT_ENTITIES = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "CRYPTO",
    "US_ITIN", "US_PASSPORT", "US_BANK_NUMBER", "US_DRIVER_LICENSE", "UK_NINO", "MAC_ADDRESS",
    "MEDICAL_LICENSE",
)
# Found by the shipped name tagger without any model; listed in entities: to turn them on.
NAME_ENTITIES = ("PERSON", "LOCATION")
# Score thresholds of the shipped name tagger's entities unless the policy's thresholds: says otherwise
# (a ner_model's scores use the entry's threshold). Chosen on synthetic sentences; docs/pii.md.
DEFAULT_THRESHOLDS = {"PERSON": 0.8, "LOCATION": 0.9}
HASH_KEY_ENV = "GUARDRAILS_PII_KEY"
_ENTITY_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_WARM_UP = "warm-up: test@example.com, 192.168.10.1, +1 212 555 0199, 4111 1111 1111 1111, https://example.com"


class PatternSpec(BaseModel):
    """One regular expression of a custom recognizer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regex: str = Field(description="RE2 regular expression (linear time; matched case-insensitively, '.' matches newlines).")
    score: float = Field(0.6, ge=0, le=1, description="Score of a match before context words.")
    name: str | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str) -> str:
        _compile_pattern(regex)
        return regex


class RecognizerSpec(BaseModel):
    """A custom recognizer declared in the policy: patterns and/or a deny list for one entity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: str = Field(description="Entity type it reports, e.g. EMPLOYEE_ID (upper case).")
    name: str | None = Field(None, description="Recognizer name; defaults to the entity.")
    patterns: tuple[PatternSpec, ...] = Field((), max_length=MAX_PATTERNS)
    deny_list: tuple[str, ...] = Field((), max_length=10_000, description="Exact words or phrases (case-insensitive, whole words).")
    deny_list_score: float = Field(1.0, ge=0, le=1)
    context: tuple[str, ...] = Field((), description="Words near a match that raise its score.")

    @field_validator("entity")
    @classmethod
    def _entity_name(cls, entity: str) -> str:
        if not _ENTITY_NAME.match(entity):
            raise ValueError(f"expected an upper-case entity name like EMPLOYEE_ID, got {entity!r}")
        return entity

    @model_validator(mode="after")
    def _has_a_matcher(self) -> "RecognizerSpec":
        if not self.patterns and not self.deny_list:
            raise ValueError("a recognizer needs 'patterns' or 'deny_list' (or both)")
        return self


class PiiConfig(FilterConfig):
    """Keys of a ``pii`` policy entry."""

    action: str = "redact"
    # Fields that entity names are checked against come first (validators see earlier fields only).
    recognizers: tuple[RecognizerSpec, ...] = Field((), max_length=200, description="Custom recognizers (regex with context, deny lists).")
    ner_model: str | None = Field(None, description="spaCy package/folder or transformers token-classification folder.")
    ner_engine: Literal["auto", "spacy", "transformers"] = "auto"
    ner_labels: dict[str, str] = Field(default_factory=dict, description="NER model label -> entity type, added to the defaults.")
    offline: bool = Field(False, description="Never fetch a transformers ner_model from the hub (set by the policy's offline: true).")
    entities: tuple[str, ...] | None = Field(
        None, description="Entity types to find; default: the common pattern entities (plus PERSON, LOCATION, ORGANIZATION with ner_model). "
        "PERSON and LOCATION work without a model (the shipped tagger) when listed here."
    )
    thresholds: dict[str, Threshold] = Field(default_factory=dict, description="Per-entity score thresholds (override threshold).")
    languages: tuple[str, ...] = Field(("en",), min_length=1, description="Languages whose recognizers run (each adds one pass).")
    allow_list: tuple[str, ...] = Field(
        (), max_length=10_000, description="Values never reported (exact text, or RE2 regexes with allow_list_match: regex)."
    )
    allow_list_match: Literal["exact", "regex"] = "exact"
    context_words: bool = Field(
        True, description="Let words near a weak match (e.g. 'ssn') raise its score; false skips tokenizing (faster, pattern-only)."
    )
    mask_char: str = Field("*", min_length=1, max_length=1)
    keep_last: int = Field(4, ge=0, description="Characters left visible at the end by action: mask.")
    keep_last_entities: tuple[str, ...] = ("CREDIT_CARD", "PHONE_NUMBER", "IBAN_CODE", "US_BANK_NUMBER")
    hash_key: SecretStr | None = Field(None, description="HMAC key for action: hash, e.g. ${GUARDRAILS_PII_KEY}.")
    hash_length: int = Field(16, ge=8, le=64, description="Hex digits of the HMAC kept in the replacement.")

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for lang in value:
            if not re.fullmatch(r"[a-z]{2,3}", lang):
                raise ValueError(f"expected language codes like 'en', got {lang!r}")
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value

    @field_validator("allow_list")
    @classmethod
    def _allow_list_strings(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not v for v in value):
            raise ValueError("allow_list entries must not be empty")
        return value

    @field_validator("entities", "thresholds", "keep_last_entities")
    @classmethod
    def _known_entities(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or "recognizers" not in info.data:
            return value  # a broken recognizers: entry is reported on its own
        from guardrails.pii_analyzer import NER_ENTITIES, NER_LABELS, PATTERN_ENTITIES, TAGGER_ENTITIES

        custom = {r.entity for r in info.data["recognizers"]}
        ner = (set(NER_ENTITIES) | set(NER_LABELS.values()) | set(info.data.get("ner_labels", {}).values())) if info.data.get("ner_model") else set()
        known = PATTERN_ENTITIES | TAGGER_ENTITIES | custom | ner
        for entity in value:
            if entity in known:
                continue
            if entity in NER_ENTITIES:
                raise ValueError(
                    f"entity {entity!r} needs a NER model (the shipped tagger finds PERSON and LOCATION only): set ner_model: to a spaCy pipeline "
                    f"(e.g. en_core_web_sm, installed with pip) or a transformers token-classification folder"
                )
            close = difflib.get_close_matches(entity, sorted(known | NER_ENTITIES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown entity {entity!r}{hint}; custom entities need an entry under recognizers:")
        return value

    @model_validator(mode="after")
    def _allow_list_regexes(self) -> "PiiConfig":
        if self.allow_list_match == "regex":
            for i, item in enumerate(self.allow_list):
                try:
                    compile_linear(item)
                except ValueError as exc:
                    raise ValueError(f"allow_list[{i}]: {exc}") from None
        return self

    def resolved_entities(self) -> tuple[str, ...]:
        """The entities this entry looks for, custom recognizers' entities included."""
        from guardrails.pii_analyzer import DEFAULT_NER_ENTITIES

        base = self.entities if self.entities is not None else DEFAULT_ENTITIES + (DEFAULT_NER_ENTITIES if self.ner_model else ())
        extra = tuple(r.entity for r in self.recognizers if r.entity not in base)
        return tuple(dict.fromkeys(base + extra))

    def threshold_of(self, entity: str, default: float) -> float:
        """The score an entity needs: the policy's thresholds:, else the shipped tagger's default (no
        ner_model), else ``default``."""
        if entity in self.thresholds:
            return float(self.thresholds[entity])
        return default if self.ner_model else DEFAULT_THRESHOLDS.get(entity, default)


_process_key_lock = threading.Lock()
_process_key: bytes | None = None


def _random_process_key() -> bytes:
    global _process_key
    with _process_key_lock:
        if _process_key is None:
            _process_key = secrets.token_bytes(32)
            logger.warning(
                "pii: no hash_key and no %s set; hashing with a random per-process key "
                "(hashes change on restart and differ between replicas)", HASH_KEY_ENV
            )
        return _process_key


class PiiFilter(BaseFilter):
    """Finds personal data with Presidio; the policy's action decides what happens to each value."""

    name = "pii"
    Config = PiiConfig
    cost = 1
    actions = frozenset({"block", "flag", "redact", "mask", "hash", "pseudonymize"})
    default_threshold = 0.4

    def __init__(self, config: PiiConfig) -> None:
        super().__init__(config)
        self.config: PiiConfig = config
        self.entities = config.resolved_entities()
        self._analyzer: Any = None
        self._by_language: dict[str, list[str]] = {}
        # Per language: entities whose matches can only be reported next to a context word (pii_analyzer.context_gated).
        self._gated: dict[str, dict[str, tuple[str, ...]]] = {}
        self._custom: dict[str, list[Any]] = {}
        self._allowed = _allow_list_matcher(config)
        self._hash_key = b""
        self._thresholds = {e: config.threshold_of(e, self.threshold) for e in self.entities}
        self._min_threshold = min([self.threshold, *self._thresholds.values()])
        # Pattern entities only (no NER model, no custom recognizers): texts without what they need skip Presidio.
        self._screen = entity_screen(self.entities) if config.ner_model is None and not config.recognizers else None

    def threshold_for(self, category: str, ctx: Context) -> float:
        return self._thresholds.get(category, super().threshold_for(category, ctx))

    def is_light(self) -> bool:
        return self.config.ner_model is None  # pattern recognizers only; an NER model is not light

    def required_models(self) -> list[str]:
        return [self.config.ner_model] if self.config.ner_model else []

    def load(self) -> None:
        """Get the shared analyzer (built once per process) and build this entry's custom recognizers."""
        from guardrails.pii_analyzer import prepare_environment, resolve_ner, shared_analyzer

        prepare_environment()
        cfg = self.config
        ner = resolve_ner(cfg.ner_model, cfg.ner_engine, labels=cfg.ner_labels, offline=cfg.offline) if cfg.ner_model else None
        self._analyzer = shared_analyzer(cfg.languages, ner, cfg.context_words, frozenset(self.entities))
        self._custom = {lang: [_build_recognizer(spec, lang) for spec in cfg.recognizers] for lang in cfg.languages}
        custom_entities = {r.entity for r in cfg.recognizers}
        for lang in cfg.languages:
            supported = set(self._analyzer.get_supported_entities(language=lang)) | custom_entities
            self._by_language[lang] = [e for e in self.entities if e in supported]
        missing = [e for e in self.entities if not any(e in ents for ents in self._by_language.values())]
        if missing:
            raise FilterLoadError(f"pii: no recognizer for {', '.join(missing)} in languages {', '.join(cfg.languages)}")
        self._gated = self._context_gated()
        # Presidio compiles patterns and loads suffix lists on first use: pay that here, not in a check.
        self._analyze(_WARM_UP)
        if cfg.action == "hash":
            key = cfg.hash_key.get_secret_value() if cfg.hash_key else os.environ.get(HASH_KEY_ENV, "")
            self._hash_key = key.encode() if key else _random_process_key()

    @property
    def load_on_demand(self) -> bool:
        return self._screen is not None

    def screen(self, text: str, ctx: Context) -> FilterResult | None:
        if self._screen is not None and self._screen.search(text) is None:
            return FilterResult.clean({e: 0.0 for e in self.entities})
        return None

    def cacheable(self, ctx: Context) -> bool:
        # Pseudonyms come from the request's vault, and an answer is read against it: not a function of the text.
        return ctx.stage is Stage.INPUT and self.config.action != "pseudonymize"

    def check(self, text: str, ctx: Context) -> FilterResult:
        zero = {e: 0.0 for e in self.entities}
        if not text.strip():
            return FilterResult.clean(zero)
        screened = self.screen(text, ctx)
        if screened is not None:
            return screened
        results = self._analyze(text)
        scores = dict(zero)
        for r in results:
            scores[r.entity_type] = max(scores.get(r.entity_type, 0.0), r.score)
        kept = [r for r in results if r.score >= self._thresholds.get(r.entity_type, self.threshold)]
        if ctx.stage is Stage.OUTPUT and ctx.vault:
            kept = _outside_placeholders(kept, text, ctx.vault)
        kept = _drop_contained(kept)
        if not kept:
            return FilterResult.clean(scores)
        grouped: dict[str, list[Span]] = {}
        best: dict[str, float] = {}
        for r in sorted(kept, key=lambda r: r.start):
            value = text[r.start : r.end]
            grouped.setdefault(r.entity_type, []).append(Span(r.start, r.end, r.entity_type, self._replacement(r.entity_type, value, ctx)))
            best[r.entity_type] = max(best.get(r.entity_type, 0.0), r.score)
        findings = tuple(Finding(entity, best[entity], tuple(spans)) for entity, spans in grouped.items())
        return FilterResult(findings, scores)

    # -- helpers ---------------------------------------------------------------------------

    def _analyze(self, text: str) -> list[Any]:
        cfg = self.config
        results: list[Any] = []
        seen: set[tuple[str, int, int]] = set()
        gated = self._gated
        lowered = text.lower() if any(gated.values()) else ""
        for lang in cfg.languages:
            # An entity none of whose context words is in the text cannot reach the threshold: not looked for.
            entities = [e for e in self._by_language[lang] if e not in gated[lang] or any(w in lowered for w in gated[lang][e])]
            if not entities:
                continue
            with only_plausible_phones():  # phone matches plausible_phone drops below need not be found
                found = self._analyzer.analyze(
                    text,
                    language=lang,
                    entities=entities,
                    score_threshold=max(0.01, self._min_threshold),
                    ad_hoc_recognizers=self._custom[lang] or None,
                )
            for r in found:
                key = (r.entity_type, r.start, r.end)
                if r.entity_type == "PHONE_NUMBER" and not plausible_phone(text, r.start, r.end):
                    continue
                if key not in seen and not self._allowed(text[r.start : r.end]):
                    seen.add(key)
                    results.append(r)
        return results

    def _context_gated(self) -> dict[str, dict[str, tuple[str, ...]]]:
        from guardrails.pii_analyzer import context_gated

        custom = {r.entity for r in self.config.recognizers}  # their recognizers run only for an asked entity
        threshold = max(0.01, self._min_threshold)
        return {
            lang: {e: words for e, words in context_gated(self._analyzer, lang, self._by_language[lang], threshold).items() if e not in custom}
            for lang in self.config.languages
        }

    def _replacement(self, entity: str, value: str, ctx: Context) -> str | None:
        action = self.config.action
        if action == "mask":
            keep = self.config.keep_last if entity in self.config.keep_last_entities else 0
            return mask(value, self.config.mask_char, keep)
        if action == "hash":
            return f"<{entity}:{keyed_hash(self._hash_key, entity, value)[: self.config.hash_length]}>"
        if action == "pseudonymize":
            return pseudonym(entity, value, ctx)
        return None


def mask(value: str, char: str = "*", keep_last: int = 4) -> str:
    """Replace every character by ``char`` except the last ``keep_last`` letters/digits (at most half)."""
    alnum = [i for i, c in enumerate(value) if c.isalnum()]
    keep = min(keep_last, len(alnum) // 2)
    if keep == 0:
        return char * len(value)
    cut = alnum[-keep]
    return char * cut + value[cut:]


_CANONICAL_DROP = re.compile(r"[\s\-().]")


def keyed_hash(key: bytes, entity: str, value: str) -> str:
    """HMAC-SHA256 of a value, after light normalisation (case, spaces, dashes) so formats agree."""
    canonical = value.strip().casefold()
    if any(c.isdigit() for c in canonical) and entity not in ("EMAIL_ADDRESS", "URL"):
        canonical = _CANONICAL_DROP.sub("", canonical)
    return hmac.new(key, f"{entity}\x00{canonical}".encode(), hashlib.sha256).hexdigest()


def pseudonym(entity: str, value: str, ctx: Context) -> str | None:
    """The request's placeholder for ``value``; a new one only at the input stage.

    At the output stage a value the user gave in this request keeps its placeholder (the engine
    restores it); any other value gets a plain ``<ENTITY>`` and is never added to the vault, so
    the restore step cannot bring it back.
    """
    prefix = f"<{entity}_"
    for placeholder, original in ctx.vault.items():
        if original == value and placeholder.startswith(prefix):
            return placeholder
    if ctx.stage is Stage.OUTPUT:
        return None
    n = sum(1 for p in ctx.vault if p.startswith(prefix)) + 1
    placeholder = f"{prefix}{n}>"
    while placeholder in ctx.vault:
        n += 1
        placeholder = f"{prefix}{n}>"
    ctx.vault[placeholder] = value
    return placeholder


def _outside_placeholders(results: list[Any], text: str, vault: dict[str, str]) -> list[Any]:
    """Drop results that touch this request's placeholders (the engine restores those)."""
    taken: list[tuple[int, int]] = []
    for placeholder in vault:
        pos = text.find(placeholder)
        while pos != -1:
            taken.append((pos, pos + len(placeholder)))
            pos = text.find(placeholder, pos + 1)
    if not taken:
        return results
    return [r for r in results if not any(r.start < e and s < r.end for s, e in taken)]


def _drop_contained(results: list[Any]) -> list[Any]:
    """Keep the longest of nested results (a URL inside an e-mail address); partial overlaps stay."""
    ordered = sorted(results, key=lambda r: (-(r.end - r.start), -r.score, r.start))
    kept: list[Any] = []
    for r in ordered:
        if not any(k.start <= r.start and r.end <= k.end for k in kept):
            kept.append(r)
    return kept


def _compile_pattern(regex: str) -> Any:
    # Presidio's own flags for recognizer patterns (IGNORECASE | DOTALL | MULTILINE), in RE2.
    return compile_linear(regex, case_sensitive=False, dot_all=True, multiline=True)


def _allow_list_matcher(cfg: PiiConfig) -> Any:
    """value -> True when the allow list covers it (exact text, or a full RE2 match)."""
    if not cfg.allow_list:
        return lambda value: False
    if cfg.allow_list_match == "exact":
        exact = frozenset(cfg.allow_list)
        return lambda value: value in exact
    regexes = [compile_linear(item) for item in cfg.allow_list]
    return lambda value: any(r.fullmatch(value) for r in regexes)


def _build_recognizer(spec: RecognizerSpec, language: str) -> Any:
    """A Presidio PatternRecognizer whose patterns run on RE2 (Presidio's own engine backtracks and,
    on its time-out, silently skips the pattern: a fail-open this package must not have)."""
    from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

    compiled = [(p.name or f"{spec.entity.lower()}_{i}", p.regex, _compile_pattern(p.regex), p.score)
                for i, p in enumerate(spec.patterns)]

    recognizer_name = spec.name or f"custom_{spec.entity.lower()}"

    class LinearPatternRecognizer(PatternRecognizer):
        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: Any = None) -> list[Any]:
            results = []
            for name, source, regex, score in compiled:
                for m in regex.finditer(text):
                    if m.end() > m.start():
                        results.append(self._result(m.start(), m.end(), score, name, source))
            if self.deny_list:
                results += super().analyze(text, entities, nlp_artifacts, regex_flags)
            return results

        def _result(self, start: int, end: int, score: float, name: str, source: str) -> Any:
            return RecognizerResult(
                entity_type=spec.entity, start=start, end=end, score=score,
                analysis_explanation=self.build_regex_explanation(
                    recognizer_name, name, source, score, None, 0),  # type: ignore[arg-type]  # None: not validated
                recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: recognizer_name,
                                      RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
            )

    # Presidio runs only the deny list (escaped literals) itself; the patterns above are matched by RE2.
    placeholder = [Pattern("unused", "(?!)", 0.0)] if not spec.deny_list else None
    options: dict[str, Any] = {"patterns": placeholder, "deny_list": list(spec.deny_list), "context": list(spec.context)}
    return LinearPatternRecognizer(
        supported_entity=spec.entity,
        name=recognizer_name,
        supported_language=language,
        deny_list_score=spec.deny_list_score,
        **{k: v for k, v in options.items() if v},  # Presidio wants these absent, not empty
    )
