"""Presidio analyzers for the ``pii`` filter: built once per process and shared by every policy.

Nothing here reaches the network: pattern entities run on a blank spaCy tokenizer (for context
words), NER runs on an installed spaCy pipeline or a local transformers token-classification
model. Presidio and spaCy are imported only inside the functions that build an analyzer.
"""

from __future__ import annotations

import bisect
import functools
import importlib.abc
import importlib.util
import inspect
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrails.errors import FilterLoadError
from guardrails.runtime import resolve_model, shared_model

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine

logger = logging.getLogger(__name__)

# Entities of Presidio's pattern recognizers (presidio-analyzer 2.2.366): they need no model.
PATTERN_ENTITIES = frozenset({
    "ABA_ROUTING_NUMBER", "AU_ABN", "AU_ACN", "AU_MEDICARE", "AU_TFN", "CA_POSTAL_CODE", "CA_SIN",
    "CREDIT_CARD", "CRYPTO", "DATE_TIME", "DE_BSNR", "DE_FUEHRERSCHEIN", "DE_HANDELSREGISTER",
    "DE_HEALTH_INSURANCE", "DE_ID_CARD", "DE_KFZ", "DE_LANR", "DE_PASSPORT", "DE_PLZ",
    "DE_SOCIAL_SECURITY", "DE_TAX_ID", "DE_TAX_NUMBER", "DE_VAT_ID", "EMAIL_ADDRESS", "ES_NIE", "ES_NIF",
    "ES_PASSPORT", "FI_PERSONAL_IDENTITY_CODE", "IBAN_CODE", "IN_AADHAAR", "IN_GSTIN", "IN_PAN",
    "IN_PASSPORT", "IN_VEHICLE_REGISTRATION", "IN_VOTER", "IP_ADDRESS", "IT_DRIVER_LICENSE",
    "IT_FISCAL_CODE", "IT_IDENTITY_CARD", "IT_PASSPORT", "IT_VAT_CODE", "KR_BRN", "KR_DRIVER_LICENSE",
    "KR_FRN", "KR_PASSPORT", "KR_RRN", "MAC_ADDRESS", "MEDICAL_LICENSE", "NG_NIN", "NG_VEHICLE_REGISTRATION",
    "PH_PASSPORT", "PH_TIN", "PH_UMID", "PHONE_NUMBER", "PL_PESEL", "SE_ORGANISATIONSNUMMER",
    "SE_PERSONNUMMER", "SG_NRIC_FIN", "SG_UEN", "TH_TNIN", "TR_LICENSE_PLATE", "TR_NATIONAL_ID",
    "UK_DRIVING_LICENCE", "UK_NHS", "UK_NINO", "UK_PASSPORT", "UK_POSTCODE", "UK_VEHICLE_REGISTRATION",
    "URL", "US_BANK_NUMBER", "US_CLAIM_NUMBER", "US_DRIVER_LICENSE", "US_HEALTH_INSURANCE_MEMBER_ID",
    "US_ITIN", "US_MBI", "US_NPI", "US_PASSPORT", "US_PRESCRIPTION_NUMBER", "US_PRIOR_AUTHORIZATION_NUMBER",
    "US_PROVIDER_TAX_ID", "US_REFERRAL_NUMBER", "US_SSN", "UUID", "ZA_COMPANY_REGISTRATION",
    "ZA_DRIVER_LICENSE", "ZA_ID_NUMBER", "ZA_INCOME_TAX_NUMBER", "ZA_LICENSE_PLATE", "ZA_MOBILE_NUMBER",
    "ZA_PASSPORT", "ZA_TELEPHONE_NUMBER", "ZA_TRAFFIC_REGISTER_NUMBER", "ZA_VAT_NUMBER",
})
# Entities only a NER model finds (after label mapping).
NER_ENTITIES = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP"})
# Entities of the shipped name tagger (guardrails.name_tagger), used when no ner_model is set.
TAGGER_ENTITIES = frozenset({"PERSON", "LOCATION"})
DEFAULT_NER_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION")

# NER model label -> Presidio entity (spaCy OntoNotes and CoNLL-style labels).
NER_LABELS: dict[str, str] = {
    "PER": "PERSON", "PERSON": "PERSON", "LOC": "LOCATION", "LOCATION": "LOCATION", "GPE": "LOCATION",
    "FAC": "LOCATION", "ORG": "ORGANIZATION", "ORGANIZATION": "ORGANIZATION", "NORP": "NRP",
    "DATE": "DATE_TIME", "TIME": "DATE_TIME",
}

# Recognizers that reach a network or need packages we do not ship; never instantiated.
_SKIP_RECOGNIZERS = {"MedicalNERRecognizer", "GLiNERRecognizer", "HuggingFaceNerRecognizer", "LangExtractRecognizer"}

_NER_SCORE = 0.85  # spaCy gives no per-entity confidence; Presidio's default.


@dataclass(frozen=True)
class NerSpec:
    """Which NER model to run: a spaCy pipeline (package name or folder) or a transformers folder."""

    kind: str  # "spacy" | "transformers"
    model: str
    labels: tuple[tuple[str, str], ...] = ()

    def label_map(self) -> dict[str, str]:
        return {**NER_LABELS, **dict(self.labels)}


class _ScrubPresidioLogs(logging.Filter):
    """Presidio logs matched text (context words at DEBUG, failed values at ERROR): drop or blank it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return False
        if str(record.msg).startswith("Recognizer not added to registry"):
            return False  # expected: Presidio's default config lists recognizers of languages we did not ask for
        if record.args:
            record.args = tuple("<redacted>" for _ in record.args) if isinstance(record.args, tuple) else ()
        return True


_SCRUB = _ScrubPresidioLogs()


def prepare_environment() -> None:
    """Keep tldextract on its bundled suffix list (no network) and keep PII out of Presidio's logs."""
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    presidio_logger = logging.getLogger("presidio-analyzer")
    if _SCRUB not in presidio_logger.filters:
        presidio_logger.addFilter(_SCRUB)


class _NoTransformersForPresidio(importlib.abc.MetaPathFinder):
    """Refuse ``import transformers`` (and ``torch``, unless allowed) to Presidio and what it imports, while it imports.

    Presidio imports transformers only for engines we never use, and torch only to pick a device for them; spaCy's
    thinc imports torch only for torch-backed pipelines. Every one of these imports is guarded by ``except
    ImportError``: skipping them saves seconds of start-up and about 300 MiB. Other importers, e.g. another thread
    loading a model at the same time, are not affected.
    """

    def __init__(self, refused: tuple[str, ...] = ("transformers", "torch")) -> None:
        self.refused = refused

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] not in self.refused:
            return None
        frame = sys._getframe(1)
        while frame is not None:
            module = str(frame.f_globals.get("__name__", ""))
            if module.startswith("presidio_analyzer"):
                raise ModuleNotFoundError(f"{name} skipped for presidio_analyzer", name=name)
            frame = frame.f_back  # type: ignore[assignment]
        return None


class _DeferPatternValidation(importlib.abc.MetaPathFinder):
    """While Presidio imports, its ``Pattern`` skips the check that a regex compiles.

    Presidio's recognizer classes build their ``Pattern`` objects when their modules are imported, and each
    ``Pattern`` compiles its regex (with the pure-Python ``regex`` parser) only to see that it compiles:
    about 170 patterns, among them a URL pattern over every top-level domain, a third of Presidio's
    import time. They are Presidio's own, tested patterns, and a pattern is compiled again when it is
    first used. The check is back in place as soon as the import is done (for patterns built later).
    """

    _NAME = "_Pattern__validate_regex"

    def __init__(self) -> None:
        self._pattern_class: Any = None
        self._validate: Any = None

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "presidio_analyzer.pattern":
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        loader, defer = spec.loader, self

        class PatchingLoader(importlib.abc.Loader):
            def create_module(self, spec: Any) -> Any:
                return loader.create_module(spec)

            def exec_module(self, module: Any) -> None:
                loader.exec_module(module)
                defer._skip(getattr(module, "Pattern", None))

            def __getattr__(self, attr: str) -> Any:  # get_source, is_package, ... of the file loader
                return getattr(loader, attr)

        spec.loader = PatchingLoader()
        return spec

    def _skip(self, cls: Any) -> None:
        if cls is not None and isinstance(cls.__dict__.get(self._NAME), staticmethod):
            self._pattern_class, self._validate = cls, cls.__dict__[self._NAME]
            setattr(cls, self._NAME, staticmethod(lambda pattern: None))

    def restore(self) -> None:
        if self._pattern_class is not None:
            setattr(self._pattern_class, self._NAME, self._validate)


_import_lock = threading.Lock()


def import_presidio(*, allow_torch: bool = False) -> None:
    """Import presidio_analyzer (and spaCy) without pulling in transformers, nor torch unless ``allow_torch``.

    Presidio's package ``__init__`` imports its NLP engines and with them spaCy, so spaCy cannot be left out;
    torch can. ``allow_torch`` is for spaCy NER pipelines, which may run on torch (spaCy decides that once, when
    it is first imported).
    """
    prepare_environment()
    if "presidio_analyzer" in sys.modules:
        return
    with _import_lock:
        finder = _NoTransformersForPresidio(("transformers",) if allow_torch else ("transformers", "torch"))
        defer = _DeferPatternValidation()
        sys.meta_path[:0] = [defer, finder]
        try:
            import presidio_analyzer  # noqa: F401
        except ImportError as exc:
            raise FilterLoadError(f"the pii filter needs presidio-analyzer and spaCy ({exc}): pip install openweights-guardrails") from None
        finally:
            sys.meta_path.remove(finder)
            sys.meta_path.remove(defer)
            defer.restore()


def _install_hint(model: str) -> str:
    return (
        f"NER model {model!r} is not installed: install the spaCy pipeline package "
        f"(pip install {model.replace('_', '-')}, or python -m spacy download {model} on a host with network), "
        f"or set ner_model: to a local spaCy or transformers token-classification folder"
    )


def resolve_ner(model: str, engine: str = "auto", *, labels: dict[str, str] | None = None, offline: bool = False) -> NerSpec:
    """Decide how to load ``model``; raise FilterLoadError (with how to install it) when it is missing."""
    extra = tuple(sorted((labels or {}).items()))
    path = Path(model).expanduser()
    if path.is_dir():
        is_spacy = (path / "meta.json").is_file() or (path / "config.cfg").is_file()
        is_hf = (path / "config.json").is_file()
        kind = engine if engine != "auto" else ("spacy" if is_spacy else "transformers" if is_hf else "")
        if kind == "spacy" and not is_spacy:
            raise FilterLoadError(f"ner_model {model!r}: not a spaCy pipeline folder (no meta.json or config.cfg)")
        if kind == "transformers" and not is_hf:
            raise FilterLoadError(f"ner_model {model!r}: not a transformers model folder (no config.json)")
        if not kind:
            raise FilterLoadError(
                f"ner_model {model!r}: folder holds neither a spaCy pipeline (meta.json/config.cfg) "
                f"nor a transformers model (config.json)"
            )
        return NerSpec(kind, str(path.resolve()), extra)
    if model.startswith((".", "/", "~")):
        raise FilterLoadError(f"ner_model {model!r}: folder does not exist")
    if engine in ("auto", "spacy") and "/" not in model:
        if importlib.util.find_spec(model) is None:
            raise FilterLoadError(_install_hint(model))
        return NerSpec("spacy", model, extra)
    if engine == "spacy":
        raise FilterLoadError(_install_hint(model))
    try:
        local = resolve_model(model, offline=offline)
    except FilterLoadError as exc:
        raise FilterLoadError(f"ner_model {model!r}: {exc}") from None
    return NerSpec("transformers", str(local), extra)


def shared_analyzer(
    languages: tuple[str, ...], ner: NerSpec | None, context: bool = True, entities: frozenset[str] | None = None
) -> "AnalyzerEngine":
    """The process-wide analyzer for these languages, NER model, context setting and entities (built on first use)."""
    context = context or ner is not None  # a NER pipeline tokenizes anyway
    return shared_model(("pii-analyzer", languages, ner, context, entities), lambda: build_analyzer(languages, ner, context, entities))


def build_analyzer(
    languages: tuple[str, ...], ner: NerSpec | None, context: bool = True, entities: frozenset[str] | None = None,
    *, reference: bool = False,
) -> "AnalyzerEngine":
    """Build an AnalyzerEngine with the pattern recognizers for ``languages`` and a NER path.

    ``entities`` limits the pattern recognizers to those finding one of them (``None``: every one).
    Presidio runs only the recognizers of the entities a check asks for, so the findings are the
    same; building fewer saves start-up (each pattern is compiled once to validate it) and memory.
    Without ``ner`` the shipped name tagger finds PERSON and LOCATION (all its languages at once,
    so it is registered for the first language only); with ``ner`` that model does instead.
    ``context=False`` (pattern-only) skips tokenizing: faster, but context words cannot raise scores.
    Tokens are made only when a match of a recognizer with context words needs them.
    Pattern regexes are run only where their screen (guardrails.pii_pattern_screen) finds something, in
    Presidio's loop without its per-pattern timing (guardrails.pii_pattern_loop).
    ``reference=True`` runs Presidio's own phone recognizer, pattern regexes and context enhancer on the
    whole text's tokens instead: the same findings, slower (what tests and benchmarks compare the fast path with).
    """
    import_presidio(allow_torch=ner is not None and ner.kind == "spacy")
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, NoOpNlpEngine

    pipelines: dict[str, Any] = {lang: shared_model(("spacy-blank", lang), functools.partial(_blank, lang)) for lang in languages}
    mapping = ner.label_map() if ner else dict(NER_LABELS)
    ner_config = NerModelConfiguration(model_to_presidio_entity_mapping=mapping, default_score=_NER_SCORE)
    if ner is not None and ner.kind == "spacy":
        nlp = shared_model(("spacy-pipeline", ner.model), lambda: _load_spacy(ner.model))
        for lang in languages:
            if lang == nlp.lang:
                pipelines[lang] = nlp
        if nlp.lang not in languages:
            raise FilterLoadError(f"ner_model {ner.model!r} is a {nlp.lang!r} pipeline; add {nlp.lang!r} to languages")
    nlp_engine = _tokenizer_engine_class()(pipelines, ner_config, with_ner=ner is not None and ner.kind == "spacy", lazy=not reference)

    registry = RecognizerRegistry(supported_languages=list(languages))
    # The no-op engine only tells the registry not to add its own NER recognizer here.
    noop = NoOpNlpEngine(models=[{"lang_code": lang, "model_name": "none"} for lang in languages])
    noop.load()
    _load_predefined_recognizers(registry, languages, entities, noop)
    _add_all_pattern_recognizers(registry, languages, entities)
    if not reference:
        _use_fast_phone_recognizer(registry)
        _screen_patterns(registry)
    if ner is not None and ner.kind == "spacy":
        registry.add_nlp_recognizer(nlp_engine)
    elif ner is not None:
        model = _HfNer(ner.model, mapping)
        for lang in languages:
            registry.add_recognizer(model.recognizer(lang))
    elif entities is None or entities & TAGGER_ENTITIES:
        registry.add_recognizer(_tagger_recognizer(languages[0]))
    return (AnalyzerEngine if reference else _grouping_analyzer_class())(
        registry=registry,
        nlp_engine=nlp_engine if context else noop,
        supported_languages=list(languages),
        context_aware_enhancer=(_presidio_enhancer() if reference else _fast_enhancer()) if context else _no_enhancer(),
    )


@functools.lru_cache(maxsize=1)
def _grouping_analyzer_class() -> Any:
    """Presidio's AnalyzerEngine with the same per-recognizer context step for less work: Presidio splits the
    results into each recognizer's own and the others' once per recognizer (recognizers x results); here they are
    grouped once, and a recognizer that keeps Presidio's default ``enhance_using_context`` (which returns its own
    results unchanged) is not called."""
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult

    key = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY

    class GroupingAnalyzerEngine(AnalyzerEngine):
        def _enhance_using_context(self, text: str, raw_results: list[Any], nlp_artifacts: Any, recognizers: list[Any],
                                   context: list[str] | None = None) -> list[Any]:
            by_id: dict[Any, list[Any]] = {}
            for r in raw_results:
                by_id.setdefault(r.recognition_metadata[key], []).append(r)
            results: list[Any] = []
            for recognizer in recognizers:
                rec_id = recognizer.id
                own = list(by_id.get(rec_id, ()))
                if type(recognizer).enhance_using_context is not EntityRecognizer.enhance_using_context:
                    others = [r for r in raw_results if r.recognition_metadata[key] != rec_id]
                    own = recognizer.enhance_using_context(text=text, raw_recognizer_results=own, other_raw_recognizer_results=others,
                                                           nlp_artifacts=nlp_artifacts, context=context)
                results.extend(own)
            enhanced: list[Any] = self.context_aware_enhancer.enhance_using_context(
                text=text, raw_results=results, nlp_artifacts=nlp_artifacts, recognizers=recognizers, context=context)
            return enhanced

    return GroupingAnalyzerEngine


def _blank(lang: str) -> Any:
    """A blank spaCy pipeline (tokenizer only) for ``lang``; shared by every analyzer of the process."""
    import spacy

    try:
        return spacy.blank(lang)
    except Exception:  # noqa: BLE001 - spaCy raises ImportError or its own error for unknown codes
        raise FilterLoadError(f"languages: {lang!r} is not a language code spaCy knows (e.g. en, de, es, fr)") from None


def _declared_entities(cls: Any, conf: dict[str, Any] | None = None) -> set[str] | None:
    """The entities a recognizer class finds, read from its config entry or its constructor's defaults
    without building it; ``None`` when they cannot be told (then it is built)."""
    conf = conf or {}
    for key in ("supported_entity", "supported_entities"):
        if conf.get(key):
            value = conf[key]
            return {value} if isinstance(value, str) else set(value)
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return None
    one = params.get("supported_entity")
    if one is not None and isinstance(one.default, str):
        return {one.default}
    many = params.get("supported_entities")
    if many is not None and isinstance(many.default, (list, tuple)) and many.default:
        return set(many.default)
    return None


def _wanted(cls: Any, entities: frozenset[str] | None, conf: dict[str, Any] | None = None) -> bool:
    if entities is None:
        return True
    declared = _declared_entities(cls, conf)
    return declared is None or bool(declared & entities)


def _load_predefined_recognizers(registry: Any, languages: tuple[str, ...], entities: frozenset[str] | None, noop: Any) -> None:
    """Presidio's configured predefined recognizers (``load_predefined_recognizers``), only those for ``entities``.

    ``noop`` (a NoOpNlpEngine) keeps Presidio from adding its own NER recognizer."""
    if entities is None:
        registry.load_predefined_recognizers(languages=list(languages), nlp_engine=noop)
        return
    import presidio_analyzer.predefined_recognizers as predefined
    from presidio_analyzer.recognizer_registry.recognizers_loader_utils import RecognizerConfigurationLoader, RecognizerListLoader

    configuration = RecognizerConfigurationLoader.get(
        registry_configuration={"global_regex_flags": registry.global_regex_flags, "supported_languages": list(languages)}
    )
    configuration["recognizers"] = [
        conf for conf in configuration.get("recognizers", [])
        if not isinstance(conf, dict) or conf.get("type", "predefined") != "predefined"
        or _wanted(getattr(predefined, str(conf.get("name")), None), entities, conf)
    ]
    registry.recognizers.extend(RecognizerListLoader.get(**configuration))


def _load_spacy(model: str) -> Any:
    import spacy

    try:
        return spacy.load(model)
    except OSError as exc:
        raise FilterLoadError(f"{_install_hint(model)} ({exc})") from None


def _add_all_pattern_recognizers(registry: Any, languages: tuple[str, ...], entities: frozenset[str] | None = None) -> None:
    """Add every predefined pattern recognizer Presidio ships (for ``entities``), also those its config disables."""
    import presidio_analyzer.predefined_recognizers as predefined
    from presidio_analyzer import PatternRecognizer

    for lang in languages:
        have = {e for r in registry.recognizers if r.supported_language == lang for e in r.supported_entities}
        for name in dir(predefined):
            cls = getattr(predefined, name)
            if not (isinstance(cls, type) and issubclass(cls, PatternRecognizer)) or name in _SKIP_RECOGNIZERS:
                continue
            if not _wanted(cls, entities):
                continue
            try:
                factory: Any = cls  # predefined recognizers take their other arguments from defaults
                rec = factory(supported_language=lang)
            except Exception:  # noqa: BLE001 - a recognizer with other required arguments is left out
                continue
            if not set(rec.supported_entities) & have:
                registry.add_recognizer(rec)
                have.update(rec.supported_entities)


def _use_fast_phone_recognizer(registry: Any) -> None:
    """Swap Presidio's phone recognizers for ones that skip too-short digit groups (same matches, same settings)."""
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    from guardrails.pii_phone import phone_recognizer

    for i, old in enumerate(registry.recognizers):
        if type(old) is PhoneRecognizer:
            new: Any = phone_recognizer(old.supported_language)
            for attr in ("name", "context", "supported_regions", "leniency", "supported_entities"):
                setattr(new, attr, getattr(old, attr))
            registry.recognizers[i] = new


def _screen_patterns(registry: Any) -> None:
    """Put the cheap screens of guardrails.pii_pattern_screen in front of the recognizers' pattern regexes, which
    run in Presidio's loop without its per-pattern timing (guardrails.pii_pattern_loop)."""
    from guardrails.pii_pattern_loop import lean_analyze
    from guardrails.pii_pattern_screen import screen_recognizer

    for recognizer in registry.recognizers:
        lean_analyze(recognizer)
        screen_recognizer(recognizer)


def _fast_enhancer() -> Any:
    """Presidio's lemma context enhancer with the same scores, for less work.

    - The token of a match is found by bisection: Presidio scans the token list from the start
      for every match (quadratic on long texts with many matches).
    - A match whose score no context word can change is not looked at: already at the maximum, or
      none of its recognizer's context words is in the text, or none is in the stretch of text Presidio's
      walk over keywords can reach (``_LazyArtifacts.may_be_near``). (A context word counts when it is part of
      a token's lemma: part of the lower-cased text, where lemmas are lower-cased words, i.e. no NER
      pipeline with a lemmatizer.)
    - Without a NER pipeline, only the stretch of text around a match is tokenized, long enough
      to hold the keywords Presidio reads before and after it (``_LazyArtifacts.around``).
    - The results looked at are updated in place: Presidio deep-copies them first, but they are the
      analyzer's own, made for this check, and only what this step returns is used afterwards.
    """
    from presidio_analyzer import RecognizerResult
    from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer, LemmaContextAwareEnhancer

    class WindowedContextEnhancer(LemmaContextAwareEnhancer):
        def enhance_using_context(self, text: str, raw_results: list[Any], nlp_artifacts: Any, recognizers: Any, context: Any = None) -> list[Any]:
            words_of = {rec.id: rec.context for rec in recognizers}
            # Lemmas are lower-cased words only with a plain tokenizer (no NER pipeline: then artifacts are lazy).
            lowered = text.lower() if isinstance(nlp_artifacts, _LazyArtifacts) and nlp_artifacts.plain and not context else None
            fixed: list[Any] = []
            open_: list[Any] = []
            occurs: dict[Any, bool] = {}  # per recognizer: may one of its context words be in the text
            for r in raw_results:
                boosted = min(ContextAwareEnhancer.MAX_SCORE, max(r.score + self.context_similarity_factor, self.min_score_with_context_similarity))
                if boosted != r.score and lowered is not None:
                    rec_id = (r.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY)
                    if rec_id not in occurs:
                        occurs[rec_id] = _may_occur(words_of.get(rec_id), lowered)
                    if not occurs[rec_id] or not nlp_artifacts.may_be_near(
                            r.start, r.end, words_of.get(rec_id), self.context_prefix_count + 1, self.context_suffix_count + 1):
                        boosted = r.score
                (open_ if boosted != r.score else fixed).append(r)
            if isinstance(nlp_artifacts, _LazyArtifacts):
                nlp_artifacts.expect(len({r.start for r in open_}))
            return self._enhance_in_place(text, open_, nlp_artifacts, recognizers, context) + fixed

        def _enhance_in_place(self, text: str, results: list[Any], nlp_artifacts: Any, recognizers: Any, context: Any) -> list[Any]:
            """Presidio's loop over the results (LemmaContextAwareEnhancer.enhance_using_context) without its deep copy."""
            if nlp_artifacts is None:
                return results  # Presidio returns them unchanged (and logs that it has no tokens)
            by_id = {rec.id: rec for rec in recognizers}
            extra = [word.lower() for word in context] if context else []
            mode = (self.context_matching_mode,) if hasattr(self, "context_matching_mode") else ()
            for result in results:
                meta = result.recognition_metadata or {}
                recognizer = by_id.get(meta.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
                if not recognizer or not recognizer.context or meta.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                    continue
                surrounding = self._extract_surrounding_words(nlp_artifacts=nlp_artifacts, word=text[result.start : result.end], start=result.start)
                surrounding.extend(extra)
                word = self._find_supportive_word_in_context(surrounding, recognizer.context, *mode)
                if word != "":
                    result.score = min(max(result.score + self.context_similarity_factor, self.min_score_with_context_similarity),
                                       ContextAwareEnhancer.MAX_SCORE)
                    result.analysis_explanation.set_supportive_context_word(word)
                    result.analysis_explanation.set_improved_score(result.score)
            return results

        def _extract_surrounding_words(self, nlp_artifacts: Any, word: str, start: int) -> list[str]:
            if isinstance(nlp_artifacts, _LazyArtifacts):
                nlp_artifacts = nlp_artifacts.around(start, self.context_prefix_count + 1, self.context_suffix_count + 1)
            words: list[str] = super()._extract_surrounding_words(nlp_artifacts, word, start)
            return words

        @staticmethod
        def _find_index_of_match_token(word: str, start: int, tokens: Any, tokens_indices: list[int]) -> int:
            i = _token_at(start, tokens, tokens_indices)
            if i < 0:
                raise ValueError("match is not covered by any token")
            return i

    return WindowedContextEnhancer()


def context_gated(analyzer: Any, language: str, entities: list[str], score_threshold: float) -> dict[str, tuple[str, ...]]:
    """Entities whose every match scores below ``score_threshold`` unless a context word raises it, with those words.

    When none of the words is in the lower-cased text, no match of such an entity can be reported and its
    recognizers need not run. Only Presidio's plain pattern recognizers (no validation, no deny list, no
    analyze or enhancement of their own) with ASCII context words qualify, and only where lemmas are lower-cased
    words (``lemmas_are_words``).
    """
    from presidio_analyzer import EntityRecognizer, PatternRecognizer

    gated: dict[str, tuple[str, ...]] = {}
    if not lemmas_are_words(analyzer, language):
        return gated
    for entity in entities:
        recognizers = [r for r in analyzer.registry.recognizers if r.supported_language == language and entity in r.supported_entities]
        if recognizers and all(_needs_context(r, score_threshold, PatternRecognizer, EntityRecognizer) for r in recognizers):
            gated[entity] = tuple(dict.fromkeys(w.lower() for r in recognizers for w in r.context or ()))
    return gated


def _needs_context(r: Any, score_threshold: float, pattern_cls: Any, entity_cls: Any) -> bool:
    cls = type(r)
    return (
        isinstance(r, pattern_cls) and len(r.supported_entities) == 1 and not r.deny_list and bool(r.patterns)
        and all(p.score < score_threshold for p in r.patterns)
        and cls.analyze is pattern_cls.analyze and cls.validate_result is pattern_cls.validate_result
        and cls.enhance_using_context is entity_cls.enhance_using_context
        and all(w.isascii() for w in r.context or ())
    )


def _may_occur(words: Any, lowered: str) -> bool:
    """Whether one of a recognizer's context words may be found around a match in the text ``lowered``.

    Only ASCII words are looked for in the text: lower-casing a token and the whole text gives the same
    ASCII letters (the Greek final sigma, the one letter lower-cased by its neighbours, is not ASCII).
    """
    if not words:
        return False
    return any(not w.isascii() or w.lower() in lowered for w in words)


def _token_at(start: int, tokens: Any, tokens_indices: list[int]) -> int:
    """The first token that starts at ``start`` or runs over it (tokens never overlap); -1 if none."""
    i = bisect.bisect_right(tokens_indices, start) - 1
    if i >= 0 and start < tokens_indices[i] + len(tokens[i]):
        return i
    return i + 1 if i + 1 < len(tokens_indices) else -1


def _presidio_enhancer() -> Any:
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    return LemmaContextAwareEnhancer()


def _no_enhancer() -> Any:
    """An enhancer that leaves scores as the recognizers gave them (no tokens to look at)."""
    from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer

    class NoContextEnhancer(ContextAwareEnhancer):
        def __init__(self) -> None:
            super().__init__(context_similarity_factor=0.0, min_score_with_context_similarity=0.0, context_prefix_count=0, context_suffix_count=0)

        def enhance_using_context(self, text: str, raw_results: list[Any], nlp_artifacts: Any, recognizers: Any, context: Any = None) -> list[Any]:
            return raw_results

    return NoContextEnhancer()


def _tokenizer_engine_class() -> Any:
    """A spaCy NLP engine over given pipelines whose lemmas fall back to lower-case words.

    A blank pipeline has no lemmatizer; lower-cased words let Presidio's context words work.
    """
    from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

    class TokenizerNlpEngine(SpacyNlpEngine):
        def __init__(self, pipelines: dict[str, Any], ner_config: Any, with_ner: bool, lazy: bool = True) -> None:
            super().__init__(models=[{"lang_code": k, "model_name": "blank"} for k in pipelines], ner_model_configuration=ner_config)
            self.nlp = dict(pipelines)  # type: ignore[assignment]
            self._with_ner = with_ner
            self._lazy = lazy
            self.plain = {lang: _plain_pipeline(nlp) for lang, nlp in pipelines.items()}

        def load(self) -> None:
            """Pipelines are given already loaded (never downloaded)."""

        def get_supported_entities(self) -> list[str]:
            return super().get_supported_entities() if self._with_ner else []

        def process_text(self, text: str, language: str) -> Any:
            if self._with_ner or not self._lazy:
                return super().process_text(text, language)
            return _LazyArtifacts(self, text, language, self.plain.get(language, False))

        def _tokenize(self, text: str, language: str) -> Any:
            return self._doc_to_nlp_artifact(self.nlp[language](text), language)  # type: ignore[index]

        def _doc_to_nlp_artifact(self, doc: Any, language: str) -> Any:
            if self._with_ner and doc.ents:
                entities, scores = self._get_updated_entities(doc.ents, self._get_scores_for_entities(doc))
            else:
                entities, scores = [], []
            return NlpArtifacts(
                entities=entities,
                tokens=doc,
                tokens_indices=[t.idx for t in doc],
                lemmas=_lemmas(doc),
                nlp_engine=self,
                language=language,
                scores=scores,
            )

    return TokenizerNlpEngine


def _plain_pipeline(nlp: Any) -> bool:
    """Whether ``nlp`` is spaCy's rule-based tokenizer and nothing else: then a token's lemma is its lower-cased
    text, and a stretch of text cut at whitespace is tokenized as in the whole text (not so for, e.g., Chinese
    or Japanese word segmenters)."""
    import spacy

    return type(nlp.tokenizer) is spacy.tokenizer.Tokenizer and not nlp.pipe_names


def lemmas_are_words(analyzer: Any, language: str) -> bool:
    """Whether the analyzer's lemmas of ``language`` are lower-cased words of the text (see ``_plain_pipeline``)."""
    engine = analyzer.nlp_engine
    return not getattr(engine, "_with_ner", True) and bool(getattr(engine, "plain", {}).get(language))


def _lemmas(doc: Any) -> list[str]:
    """Each token's lemma; the lower-cased word where the pipeline has no lemmatizer."""
    return [t.lemma_ or t.lower_ for t in doc]


class _LazyArtifacts:
    """Presidio's NLP artifacts of a text, tokenized on first use, and only where needed.

    Only the context enhancer reads tokens, and only for a match of a recognizer with context words:
    most texts (no match) are never tokenized. When a text has few such matches, ``around`` tokenizes
    just the stretches around them: spaCy's tokenizer splits at whitespace first and tokenizes each
    piece on its own, so a stretch that starts and ends at whitespace has the tokens the whole text has
    there. Keywords (lemmas Presidio counts as context words) are the whole text's (``_Keywords``).
    Without a NER pipeline there are no entities.
    """

    entities: list[Any] = []
    scores: list[float] = []
    _BEFORE, _AFTER = 64, 16  # characters before and after a match tokenized first; four times as many when too few
    _PER_MATCH = 160  # characters a stretch costs about as much as: more matches, and the whole text is tokenized
    _LONGEST_PIECE = 256  # characters looked through for a piece's start or end; beyond, the text's start or end

    def __init__(self, engine: Any, text: str, language: str, plain: bool) -> None:
        self._engine = engine
        self._text = text
        self._language = language
        self.plain = plain  # lemmas are lower-cased words, stretches tokenize as the whole text (_plain_pipeline)
        self._done: Any = None
        self._windows: list[_Stretch] = []
        self._keywords: _Keywords | None = None
        self._piece_spans: tuple[list[tuple[int, int]], list[int]] | None = None

    def _artifacts(self) -> Any:
        if self._done is None:
            self._done = self._engine._tokenize(self._text, self._language)
        return self._done

    def __getattr__(self, name: str) -> Any:  # tokens, tokens_indices, lemmas, keywords, nlp_engine, to_json
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._artifacts(), name)

    def expect(self, matches: int) -> None:
        """``matches`` places will be looked around: tokenize the whole text now when that is cheaper."""
        if matches and matches * self._PER_MATCH >= len(self._text):
            self._artifacts()

    def may_be_near(self, start: int, end: int, words: Any, before: int, after: int) -> bool:
        """Whether one of ``words`` (a recognizer's context words) may be among the keywords Presidio reads around a
        match at ``start``..``end``: ``before`` keywords back from its token, ``after`` on from it.

        A piece of text between white space that is ASCII letters only, that spaCy keeps as one token and whose
        lemma Presidio keeps as a keyword holds exactly one keyword (``_one_keyword_piece``). Presidio's walk
        back from the match's token therefore stops within ``before`` such pieces before the match's piece, and
        its walk on within ``after`` such pieces after it; other tokens may only stop it sooner. A word that is
        in none of the text in between is in none of the keywords read. Non-ASCII words are always looked for.
        """
        if not words or not self.plain or not all(w.isascii() for w in words):
            return True
        pieces, piece_starts = self._pieces()
        here = bisect.bisect_right(piece_starts, start) - 1
        if here < 0 or pieces[here][1] <= start:
            here += 1  # the match starts in white space: the next piece
        low, found = 0, 0
        for k in range(here - 1, -1, -1):
            found += self._one_keyword(pieces[k])
            if found == before:
                low = pieces[k][0]
                break
        high, found = len(self._text), 0
        for k in range(here + 1, len(pieces)):
            found += self._one_keyword(pieces[k])
            if found == after:
                high = pieces[k][1]
                break
        region = self._text[low : max(high, end)].lower()
        return any(w.lower() in region for w in words)

    def _pieces(self) -> tuple[list[tuple[int, int]], list[int]]:
        """The (start, end) of each piece of the text between white space, and their starts."""
        if self._piece_spans is None:
            spans = [m.span() for m in _PIECE.finditer(self._text)]
            self._piece_spans = (spans, [a for a, _ in spans])
        return self._piece_spans

    def _one_keyword(self, piece: tuple[int, int]) -> bool:
        word = self._text[piece[0] : piece[1]]
        return _ASCII_WORD.fullmatch(word) is not None and _one_keyword_piece(self._engine, self._language, word)

    def around(self, start: int, before: int, after: int) -> Any:
        """Artifacts of a stretch of the text with the token at ``start``, at least ``before`` keywords up to
        that token and ``after`` keywords from it on (fewer only where the text starts or ends)."""
        if self._done is not None or not self.plain:
            return self._artifacts()
        for window in reversed(self._windows):
            if window.enough(start, before, after):
                return window
        text, grow = self._text, 1
        while True:
            a, b = self._piece_start(start - grow * self._BEFORE), self._piece_end(start + grow * self._AFTER)
            if 2 * (b - a) > len(text):  # most of the text (long pieces without spaces, or far-off keywords)
                return self._artifacts()
            if self._keywords is None:
                self._keywords = _Keywords(self._engine, text, self._language)
            # The tokenizer alone: the pipeline is a blank one (lazy artifacts are made only without NER).
            window = _Stretch(self._engine.nlp[self._language].tokenizer(text[a:b]), a, b, b == len(text), self._keywords)
            if window.enough(start, before, after):
                self._windows.append(window)
                return window
            grow *= 4

    def _piece_start(self, p: int) -> int:
        """The nearest start of a whitespace-free piece at or before ``p`` (0 at the text's start)."""
        text = self._text
        p = max(0, p)
        stop = max(0, p - self._LONGEST_PIECE)
        while p > stop and not (text[p - 1].isspace() and not text[p].isspace()):
            p -= 1
        return p if p > stop else 0

    def _piece_end(self, p: int) -> int:
        """The nearest end of a whitespace-free piece at or after ``p`` (the text's length at its end)."""
        text = self._text
        p = max(1, min(p, len(text)))
        stop = min(len(text), p + self._LONGEST_PIECE)
        while p < stop and not (text[p].isspace() and not text[p - 1].isspace()):
            p += 1
        return p if p < stop else len(text)


class _Stretch:
    """The artifacts Presidio's enhancer reads (tokens, their offsets, lemmas, keywords) for a stretch of a text."""

    def __init__(self, doc: Any, start: int, end: int, at_end: bool, keywords: "_Keywords") -> None:
        self.tokens = doc
        self.tokens_indices = [start + t.idx for t in doc]
        self.lemmas = _lemmas(doc)
        self.keywords = keywords
        self._start, self._end, self._at_end = start, end, at_end

    def enough(self, start: int, before: int, after: int) -> bool:
        """Whether Presidio's walks from the token at ``start`` (``before`` keywords back, ``after`` on) stay inside."""
        if not self._start <= start < self._end:
            return False
        i = _token_at(start, self.tokens, self.tokens_indices)
        if i < 0:
            return self._at_end
        found, j = 0, i
        while found < before and j >= 0:
            found += self.lemmas[j].lower() in self.keywords
            j -= 1
        if found < before and self._start > 0:
            return False
        found, j = 0, i
        while found < after and j < len(self.lemmas):
            found += self.lemmas[j].lower() in self.keywords
            j += 1
        return found >= after or self._at_end


class _Keywords:
    """Membership in Presidio's keywords of a whole text (``NlpArtifacts.set_keywords``), for lower-cased lemmas.

    A lemma is a keyword when Presidio's rule keeps it (not a stopword, not punctuation, ...), or when it is
    a piece of a kept lemma holding a colon elsewhere in the text (``mailto:me`` makes ``me`` one): those
    pieces sit next to a colon, and only then are the text's pieces with a colon tokenized.
    """

    def __init__(self, engine: Any, text: str, language: str) -> None:
        self._engine, self._text, self._language = engine, text, language
        self._lowered: str | None = None
        self._known: dict[str, bool] = {}
        self._colon_words: set[str] | None = None

    def __contains__(self, lemma: object) -> bool:
        if not isinstance(lemma, str):
            return False
        if lemma not in self._known:
            self._known[lemma] = self._is_keyword(lemma)
        return self._known[lemma]

    def _is_keyword(self, lemma: str) -> bool:
        if _kept_by_presidio(self._engine, self._language, lemma):
            return True
        if ":" in lemma or ":" not in self._text:
            return False
        if self._lowered is None:
            self._lowered = self._text.lower()
        if lemma.isascii() and f"{lemma}:" not in self._lowered and f":{lemma}" not in self._lowered:
            return False
        return lemma in self._colon_keywords()

    def _colon_keywords(self) -> set[str]:
        if self._colon_words is None:
            pieces = _COLON_PIECE.findall(self._text)  # tokenized on their own: all at once, one space apart
            self._colon_words = set(self._engine._tokenize(" ".join(pieces), self._language).keywords) if pieces else set()
        return self._colon_words


_COLON_PIECE = re.compile(r"\S*:\S*")
_PIECE = re.compile(r"\S+")
_ASCII_WORD = re.compile(r"[A-Za-z]+")


@functools.lru_cache(maxsize=65536)
def _one_keyword_piece(engine: Any, language: str, piece: str) -> bool:
    """Whether spaCy keeps ``piece`` (text between white space) as one token whose lemma Presidio keeps as a keyword
    (plain pipelines only: the lemma is the lower-cased word)."""
    doc = engine.nlp[language].tokenizer(piece)
    return len(doc) == 1 and _kept_by_presidio(engine, language, doc[0].lower_)


@functools.lru_cache(maxsize=65536)
def _kept_by_presidio(engine: Any, language: str, lemma: str) -> bool:
    """Whether Presidio's keyword rule keeps ``lemma`` itself (the engine's stopwords and punctuation)."""
    from presidio_analyzer.nlp_engine import NlpArtifacts

    return lemma in NlpArtifacts.set_keywords(engine, [lemma], language)


def _tagger_recognizer(language: str) -> Any:
    """A Presidio recognizer over the shipped PERSON / LOCATION tagger (weights load on first use)."""
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    from guardrails.name_tagger import shared_tagger

    class NameTaggerRecognizer(EntityRecognizer):
        def load(self) -> None:
            """Weights load on the first analyze (shared_tagger)."""

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            wanted = set(entities) & TAGGER_ENTITIES
            if not wanted:
                return []
            name: str = "NameTaggerRecognizer"
            return [
                RecognizerResult(s.label, s.start, s.end, round(s.score, 4),
                                 recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: name,
                                                       RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})
                for s in shared_tagger().tag(text) if s.label in wanted
            ]

    return NameTaggerRecognizer(supported_entities=sorted(TAGGER_ENTITIES), supported_language=language, name="NameTaggerRecognizer")


class _HfNer:
    """A transformers token-classification model, loaded once and shared by its per-language recognizers."""

    def __init__(self, path: str, mapping: dict[str, str]) -> None:
        try:
            from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
        except ImportError:
            raise FilterLoadError("a transformers ner_model needs transformers and torch: pip install 'openweights-guardrails[models]'") from None
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForTokenClassification.from_pretrained(path)
        except Exception as exc:  # noqa: BLE001 - any load failure is a load error naming the folder
            raise FilterLoadError(f"ner_model {path!r}: cannot load a token-classification model ({type(exc).__name__}: {exc})") from None
        limit = getattr(model.config, "max_position_embeddings", 512) or 512
        if not tokenizer.model_max_length or tokenizer.model_max_length > limit:
            tokenizer.model_max_length = limit
        self.mapping = mapping
        self.stride = max(1, min(32, tokenizer.model_max_length // 4))
        self._lock = threading.Lock()  # one forward pass at a time: pipelines are not documented thread-safe
        self.pipe = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple", device=-1)
        raw = {str(v).split("-", 1)[-1] for v in model.config.id2label.values()} - {"O"}
        self.entities = sorted({mapping.get(label, label) for label in raw})

    def __call__(self, text: str) -> list[dict[str, Any]]:
        if not text.strip():
            return []
        with self._lock:
            found: list[dict[str, Any]] = self.pipe(text, stride=self.stride)
            return found

    def recognizer(self, language: str) -> Any:
        from presidio_analyzer import LocalRecognizer, RecognizerResult

        ner = self

        class TransformersNerRecognizer(LocalRecognizer):
            def load(self) -> None:
                """The model is loaded by _HfNer."""

            def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
                out = []
                for item in ner(text):
                    label = str(item.get("entity_group") or item.get("entity", "")).split("-", 1)[-1]
                    entity = ner.mapping.get(label, label)
                    if entity in entities and item["end"] > item["start"]:
                        out.append(RecognizerResult(entity, int(item["start"]), int(item["end"]), float(item["score"])))
                return out

        return TransformersNerRecognizer(supported_entities=ner.entities, supported_language=language, name="TransformersNerRecognizer")
