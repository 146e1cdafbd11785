"""Second look at PHONE_NUMBER matches: numbers that are not phone numbers are dropped.

Presidio's phone recognizer (libphonenumber, lenient) also matches decimals (``0.986893273527251``,
``31.01875``), pieces of version strings and IP-like tokens, and long bare digit runs such as
order ids and Unix timestamps. A match is kept when it looks like a phone number written by a
person: separators or a leading ``+`` / ``(``; a bare digit run only after a phone word.

``phone_recognizer`` is Presidio's phone recognizer with less work: libphonenumber searches the
text for candidates and parses every digit group once per region (eight regions), also the ``11``
of "11 items". Here the candidate search is done once for all regions, groups with fewer
digits than any valid number of the region can have are skipped before parsing, and so are groups
read as a national number that fits no general pattern of the region's country code, and groups
written in a region's national format whose number (built without parsing, ``national_not_verified``)
fails the matcher's own check; a group read as a national number is parsed once for regions sharing a
country code (US, Canada), and one written with a plus once for all regions; the matcher's date and
time-stamp test and its walk over a candidate's inner groups are done once per text for all regions
(``RegionFreeWalk``); the matches are the same (tests/unit/test_pii_phone.py compares them). Inside
``only_plausible_phones()`` (the pii filter) bare digit runs that ``plausible_phone`` would reject whatever
is found in them are not parsed either.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import logging
import re
import unicodedata
from contextvars import ContextVar
from typing import Any, Callable, Iterator, cast

logger = logging.getLogger(__name__)

_DECIMAL = re.compile(r"[+-]?\d+[.,]\d+")
_BARE_DIGITS = re.compile(r"\d+")
# Words after which a bare digit run is a phone number, in the languages of the name tagger.
_PHONE_CUE = re.compile(
    r"(?i)(?<!\w)(?:phone|tel|telephone|mobile|mob|cell|fax|call|ring|text|sms|whatsapp|dial|desk|office|contact|reach"
    r"|telefon|handy|rufnummer|anrufen|ruf|téléphone|portable|appel|appelle|appeler|teléfono|telefono|móvil|movil"
    r"|llama|llámame|cellulare|chiama|chiamami|telemóvel|celular|liga|ligue|telefoon|mobiel|bel|gsm|komórka"
    r"|zadzwoń|numer|number|nummer|numéro|número|numero|nr)(?!\w)"
)
# Words that make a digit run an identifier even after "number".
_ID_CUE = re.compile(
    r"(?i)\b(?:order|invoice|id|ticket|ref|reference|tracking|account|acct|customer|transaction|serial|timestamp|epoch"
    r"|case|booking|confirmation|build|version|commit|sku|isbn|bestell\w*|rechnung\w*|commande|pedido|ordine"
    r"|encomenda|bestelling|zamówieni\w*|factura|fattura|factuur|faktur\w*)\b"
)
_WINDOW = 40


def plausible_phone(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` (a phone-number match) should be reported."""
    value = text[start:end]
    if _DECIMAL.fullmatch(value):
        return False
    before = text[start - 1] if start > 0 else " "
    after = text[end : end + 2]
    if before.isalnum() or before in "._/" or (after[:1] in ".," and after[1:2].isdigit()) or after[:1].isalnum():
        return False  # one piece of a longer token: version string, IP address, coordinate, file name
    window = text[max(0, start - _WINDOW) : start]
    if _BARE_DIGITS.fullmatch(value) and not _PHONE_CUE.search(window):
        return False  # a bare digit run needs a phone word (looked for first: the usual answer, at once)
    return not (_ID_CUE.search(window) and not value.lstrip().startswith("+"))


def _lengths(md: Any) -> list[int]:
    desc = md.general_desc if md is not None else None
    return [n for n in (desc.possible_length or ()) if n > 0] if desc is not None else []


def _added_digits(md: Any) -> int:
    """Digits a region's national-prefix transform rule can insert (``'1481\\1'`` inserts four)."""
    rule = (md.national_prefix_transform_rule if md is not None else None) or ""
    return sum(c.isdigit() for c in re.sub(r"\\\d", "", rule))


@functools.cache
def min_digits_by_region() -> tuple[int, dict[str, int]]:
    """(fewest digits of any valid international number, fewest digits of a valid national number per region).

    Read from libphonenumber's metadata: a valid number's national significant number has one of its
    region's possible lengths; a transform rule can add digits, a country code adds its own.
    """
    import phonenumbers
    from phonenumbers import PhoneMetadata

    international = 99
    shortest: dict[int, int] = {}
    for cc, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        metas = [PhoneMetadata.metadata_for_nongeo_region(cc) if r == "001" else PhoneMetadata.metadata_for_region(r) for r in regions]
        lengths = [n for md in metas for n in _lengths(md)]
        shortest[cc] = min(lengths) if lengths else 1
        # Parsed in the country code's main region; any region's rule counted, to stay on the safe side.
        international = min(international, len(str(cc)) + shortest[cc] - max([_added_digits(md) for md in metas] or [0]))
    national = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        md = PhoneMetadata.metadata_for_region(region)
        # Parsed with the preferred region's rules, and valid in a region of its country code.
        national[region] = shortest.get(md.country_code or 0, 1) - _added_digits(md) if md is not None else 1
    return international, national


_PLAIN_NUMBER = re.compile(r"[0-9 ().\-/]+")


@functools.cache
def _country_code(region: str) -> int | None:
    from phonenumbers import PhoneMetadata

    md = PhoneMetadata.metadata_for_region(region)
    return md.country_code if md is not None and md.country_code else None


@functools.cache
def _national_prefix(region: str) -> re.Pattern[str] | None:
    from phonenumbers import PhoneMetadata

    md = PhoneMetadata.metadata_for_region(region)
    return re.compile(md.national_prefix_for_parsing) if md is not None and md.national_prefix_for_parsing else None


def _national_digits(candidate: str, country_code: int) -> str:
    """The digits of ``candidate``'s number when that is ASCII digits and separators only and does not start with
    ``country_code`` (``split_extension``); else ""."""
    digits = _number_digits(candidate)
    return "" if digits.startswith(str(country_code)) else digits


@functools.lru_cache(maxsize=4096)
def _number_digits(candidate: str) -> str:
    """The digits of ``candidate``'s number when that is ASCII digits and separators only (``split_extension``);
    else "". The same for every region: their checks read it once per candidate."""
    number = split_extension(candidate)[0]
    return "".join(c for c in number if c.isdigit()) if number else ""


@functools.lru_cache(maxsize=4096)
def split_extension(candidate: str) -> tuple[str, str]:
    """``candidate`` as ``parse`` reads it when it is a plain number (ASCII digits and separators), or a plain
    number that starts with a digit and ends with an extension ("259.735.7502x459", "212 555 0199 ext. 7"):
    (the number, the extension's digits, "" when none). ("", "") for any other candidate.

    The extension is split off with libphonenumber's own step (``_maybe_strip_extension``), which ``parse`` runs
    on the candidate as it is when it starts and ends with a digit, holds no ";" or ":" (no RFC 3966 parts) and
    no second number's start ("/ x": the matcher's candidates never do, ``parse`` would cut there).
    """
    if _PLAIN_NUMBER.fullmatch(candidate):
        return candidate, ""
    steps = _extension_steps()
    if steps is None or not ("0" <= candidate[:1] <= "9") or not candidate[-1:].isdigit() or ";" in candidate or ":" in candidate:
        return "", ""
    strip, second_number = steps
    if second_number.search(candidate):
        return "", ""
    extension, number = strip(candidate)
    if not extension or not _PLAIN_NUMBER.fullmatch(number):
        return "", ""
    return number, extension


@functools.cache
def _extension_steps() -> tuple[Callable[[str], tuple[str, str]], re.Pattern[str]] | None:
    """libphonenumber's extension split and its pattern of a second number's start; None when it lacks either."""
    from phonenumbers import phonenumberutil

    strip = getattr(phonenumberutil, "_maybe_strip_extension", None)
    second_number = getattr(phonenumberutil, "_SECOND_NUMBER_START_PATTERN", None)
    return (strip, second_number) if strip is not None and second_number is not None else None


def read_as_national(candidate: str, regions: tuple[str, ...], country_code: int) -> bool:
    """Whether libphonenumber reads ``candidate`` the same way with each of ``regions`` (one country code) as the
    default region: a number of ASCII digits and separators, maybe with an extension (``split_extension``),
    starting neither with the country code nor with any of the regions' international or national prefixes.
    Then every digit of the number is the national number and the country code the regions' own, so parsing
    and checking it does not depend on which of them is the default."""
    digits = _national_digits(candidate, country_code)
    if not digits:
        return False
    for region in regions:
        for prefix in (_idd_prefix(region), _national_prefix(region)):
            if prefix is None or prefix.match(digits):
                return False
    return True


@functools.cache
def _idd_prefix(region: str) -> re.Pattern[str] | None:
    from phonenumbers import PhoneMetadata

    md = PhoneMetadata.metadata_for_region(region)
    return re.compile(md.international_prefix) if md is not None and md.international_prefix else None


_PLUS = frozenset("+\uff0b")


@functools.lru_cache(maxsize=4096)
def too_short(candidate: str, region: str) -> bool:
    """Whether no valid phone number (nor one inside it) can be read from ``candidate`` with ``region`` as the
    default region: fewer digits than the shortest national number, and written neither with ``+`` nor with
    the region's international dialling prefix (then fewer than the shortest international number).

    Letters (extensions, vanity numbers) can turn into digits: a candidate with letters is never too short.
    """
    international, national = min_digits_by_region()
    digits = _digits_unless_letters(candidate)
    if digits is None or len(digits) >= national.get(region, 1):
        return False
    if len(digits) < international:
        return True
    if any(c in _PLUS for c in candidate):
        return False
    idd = _idd_prefix(region)
    values = [unicodedata.decimal(c, None) for c in digits]
    if idd is None or None in values:
        return False
    return idd.match("".join(str(v) for v in values)) is None


@functools.lru_cache(maxsize=4096)
def _digits_unless_letters(candidate: str) -> str | None:
    """The digits of ``candidate`` (any script), None when it holds a letter. The same for every region: the
    regions' ``too_short`` read it once per candidate."""
    if any(c.isalpha() for c in candidate):
        return None
    return "".join(c for c in candidate if c.isdigit())


@functools.lru_cache(maxsize=4096)
def too_short_everywhere(candidate: str, regions: tuple[str, ...]) -> bool:
    """``too_short`` with each of ``regions`` as the default region."""
    return all(too_short(candidate, r) for r in regions)


@functools.cache
def _national_patterns(country_code: int) -> tuple[re.Pattern[str], ...]:
    """The general national-number patterns of every region of ``country_code`` (None where one has none)."""
    import phonenumbers
    from phonenumbers import PhoneMetadata

    out = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        md = PhoneMetadata.metadata_for_region(region)
        desc = md.general_desc if md is not None else None
        if desc is None or desc.national_number_pattern is None:
            return ()  # unknown: never skipped
        out.append(re.compile(desc.national_number_pattern))
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def never_valid_national(candidate: str, region: str) -> bool:
    """Whether libphonenumber reads ``candidate`` as a national number of ``region`` (``read_as_national``) that
    no region of its country code can have: a valid number's national significant number, here every digit of
    the number, matches the general pattern of the region it belongs to. Inner groups are other candidates.
    """
    code = _country_code(region)
    if code is None or not read_as_national(candidate, (region,), code):
        return False
    patterns = _national_patterns(code)
    digits = _national_digits(candidate, code)  # the number's (an extension's are not)
    return bool(patterns) and not any(p.fullmatch(digits) for p in patterns)


@functools.cache
def _parse_steps() -> tuple[Callable[[Any, str], bool], Callable[[str, Any], Any], Callable[[str, Any], Any]] | None:
    """libphonenumber's own steps that ``national_not_verified`` runs instead of a whole parse: the matcher's check of
    a parsed number at leniency VALID (Presidio's default), the national-prefix strip and the length test of
    ``parse``; None when this phonenumbers lacks one of them (then candidates are parsed)."""
    import phonenumbers
    from phonenumbers import phonenumbermatcher, phonenumberutil

    check = getattr(phonenumbermatcher, "_verify", None)
    strip = getattr(phonenumberutil, "_maybe_strip_national_prefix_carrier_code", None)
    length = getattr(phonenumberutil, "_test_number_length", None)
    if check is None or strip is None or length is None:
        return None
    valid = phonenumbers.Leniency.VALID
    return (lambda number, candidate: bool(check(valid, number, candidate, None))), strip, length  # VALID uses no matcher


@functools.lru_cache(maxsize=4096)
def national_not_verified(candidate: str, region: str) -> bool:
    """Whether the matcher at leniency VALID finds no number in ``candidate`` as a whole, where ``candidate`` is
    written in ``region``'s national format: ASCII digits and separators, maybe with an extension
    (``split_extension``), not starting with the region's country code nor with its international dialling
    prefix. Then ``parse`` splits off the extension, takes every digit of the number, strips a national prefix
    as the region's rules say (its own steps, ``_parse_steps``), and notes the raw input, the extension and that
    the country code is the region's: that number is built here without parsing and checked as the matcher
    checks it. False for other candidates (they are parsed) and where the steps are missing.
    """
    import phonenumbers
    from phonenumbers import CountryCodeSource, PhoneMetadata
    from phonenumbers.phonenumberutil import ValidationResult

    steps = _parse_steps()
    code = _country_code(region)
    if steps is None or code is None:
        return False
    digits = _national_digits(candidate, code)
    idd = _idd_prefix(region)
    if not digits or (idd is not None and idd.match(digits)):
        return False
    verify, strip, length = steps
    metadata = PhoneMetadata.metadata_for_region(region)
    national = strip(digits, metadata)[1]
    if length(national, metadata) in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY, ValidationResult.INVALID_LENGTH):
        national = digits  # parse keeps the prefix when too little would be left
    if not national:
        return False
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national), raw_input=candidate,
                                      extension=split_extension(candidate)[1] or None,
                                      country_code_source=CountryCodeSource.FROM_DEFAULT_COUNTRY)
    if len(national) > 1 and national[0] == "0":  # leading zeros, as parse keeps them
        number.italian_leading_zero = True
        zeros = min(len(national) - len(national.lstrip("0")), len(national) - 1)  # an all-zero number keeps its last zero
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return not verify(number, candidate)


_INTERNATIONAL = re.compile(r"[(\[\s]*[+\uff0b][1-9]")


def written_international(candidate: str) -> bool:
    """Whether libphonenumber reads ``candidate`` as written with a leading plus: it starts (after opening brackets)
    with a plus and a digit other than 0, and is no RFC 3966 URI. Then parsing it and checking it do not depend on
    the default region (``international_alike``): the country code is the number's own, or there is none."""
    return _INTERNATIONAL.match(candidate) is not None and ";" not in candidate and ":" not in candidate


@functools.cache
def international_alike(regions: tuple[str, ...]) -> bool:
    """Whether a number written with a plus reads the same with each of ``regions`` as the default: all are known
    regions whose international prefixes start with 0. (After a plus and an unknown country code, libphonenumber
    tries the digits again with the default region's international prefix: one starting with 0 never matches
    digits that start with 1-9.)"""
    prefixes = [_idd_prefix(r) for r in regions]
    return all(_country_code(r) is not None for r in regions) and all(p is None or p.pattern.startswith("0") for p in prefixes)


class _CandidateScan:
    """libphonenumber's candidate search over one text, done once for all regions.

    The matcher of each region looks for the next candidate from the same positions (after a
    candidate that held no number, or after a match): the answer for a position is kept.
    Candidates that ``hopeless`` rejects (no region's matcher would find a number in them) are
    passed over here, once, instead of by each region's matcher.
    """

    def __init__(self, text: str, pattern: re.Pattern[str], trim: Callable[[str], str],
                 hopeless: Callable[[str, int], bool] | None = None) -> None:
        self._text = text
        self._pattern = pattern
        self._trim = trim
        self._hopeless = hopeless
        self._at: dict[int, tuple[int, str] | None] = {}
        self._done: dict[tuple[Any, ...], Any] = {}

    def next_candidate(self, index: int) -> tuple[int, str] | None:
        """(start, candidate trimmed after a second number's start) of the first candidate at or after ``index``
        that is not hopeless."""
        if index in self._at:
            return self._at[index]
        seen = [index]
        while True:
            match = self._pattern.search(self._text, index)
            found = None if match is None else (match.start(), self._trim(match.group()))
            if found is None or self._hopeless is None or not self._hopeless(found[1], found[0]):
                break
            index = found[0] + len(found[1])
            if index in self._at:
                found = self._at[index]
                break
            seen.append(index)
        for at in seen:
            self._at[at] = found
        return found

    def once(self, key: tuple[Any, ...], work: Callable[[], Any]) -> Any:
        """``work()``, done once per ``key`` for all regions."""
        if key not in self._done:
            self._done[key] = work()
        return self._done[key]


_ONLY_PLAUSIBLE: ContextVar[bool] = ContextVar("guardrails_only_plausible_phones", default=False)


@contextlib.contextmanager
def only_plausible_phones() -> Iterator[None]:
    """Within this block the phone recognizer may leave out matches that ``plausible_phone`` rejects.

    It then parses no bare digit run whose every possible match would be rejected: a match inside
    the run starts or ends next to one of its digits, and the whole run was checked. Most digit
    groups of number-dense text (ids, card numbers, amounts) are such runs. Matches that
    ``plausible_phone`` keeps are the same (one difference: libphonenumber gives up on a text after
    65,535 failed candidates, and skipped runs count as none).
    """
    token = _ONLY_PLAUSIBLE.set(True)
    try:
        yield
    finally:
        _ONLY_PLAUSIBLE.reset(token)


def _never_plausible(text: str, candidate: str, offset: int, longest_run: int) -> bool:
    """Whether every phone match inside ``candidate`` (a whole digit run, found at ``offset``) is implausible.

    A run shorter than the matcher's digit-block limit is a whole run: the candidate search from any
    position inside it ends where it ends. Then a match that does not start at its start follows a
    digit, one that ends before its end is followed by a digit, and the run itself is checked here.
    """
    return len(candidate) < longest_run and _BARE_DIGITS.fullmatch(candidate) is not None and not plausible_phone(
        text, offset, offset + len(candidate)
    )


_MATCHER_HOOKS = ("_find", "_extract_match", "_parse_and_verify", "_trim_after_first_match", "_max_tries", "_min_candidate_length")

# sha256 (first 16 hex digits) of the source of PhoneNumberMatcher._extract_match and _extract_inner_match.
_LIBRARY_WALK = ("59b5958e65b0c9e5", "3f18c77cd6a26a92")
_WALK_RULES = ("_SLASH_SEPARATED_DATES", "_TIME_STAMPS", "_TIME_STAMPS_SUFFIX", "_INNER_MATCHES", "_UNWANTED_END_CHAR_PATTERN")


@functools.cache
def walk_rules() -> tuple[Any, ...] | None:
    """libphonenumber's patterns of the region-independent part of its matcher's walk (``RegionFreeWalk``), when its
    ``_extract_match`` and ``_extract_inner_match`` are the ones that walk follows; else None (the library walks)."""
    from phonenumbers import phonenumbermatcher
    from phonenumbers.phonenumbermatcher import PhoneNumberMatcher

    try:
        sources = [inspect.getsource(getattr(PhoneNumberMatcher, name)) for name in ("_extract_match", "_extract_inner_match")]
    except (AttributeError, OSError, TypeError):
        return None
    rules = tuple(getattr(phonenumbermatcher, name, None) for name in _WALK_RULES)
    known = tuple(hashlib.sha256(source.encode()).hexdigest()[:16] for source in sources) == _LIBRARY_WALK
    return rules if known and None not in rules else None


class RegionFreeWalk:
    """What libphonenumber's matcher does with a candidate before and around parsing it, the same in every region,
    done once per text for all regions: whether it passes the candidate over as a date or a time stamp, and the
    inner groups it tries when the whole candidate holds no number (its ``_extract_match`` and
    ``_extract_inner_match``, whose parsing stays per region)."""

    def __init__(self, text: str, rules: tuple[Any, ...], trim: Callable[[Any, str], str]) -> None:
        self._text = text
        self._dates, self._stamps, self._stamp_end, self._inner, self._unwanted_end = rules
        self._trim = trim
        self._skipped: dict[tuple[int, str], bool] = {}
        self._steps: dict[str, tuple[tuple[tuple[str, int], ...], ...]] = {}

    def date_or_time(self, candidate: str, offset: int) -> bool:
        """Whether the matcher passes ``candidate`` (at ``offset``) over: a slash-separated date, or a time stamp
        followed by the rest of one."""
        key = (offset, candidate)
        if key not in self._skipped:
            self._skipped[key] = self._dates.search(candidate) is not None or (
                self._stamps.search(candidate) is not None and self._stamp_end.match(self._text[offset + len(candidate):]) is not None)
        return self._skipped[key]

    def inner_steps(self, candidate: str) -> tuple[tuple[tuple[str, int], ...], ...]:
        """The groups the matcher parses inside ``candidate``, in its order, as (group, offset in the candidate):
        one tuple per turn of its loop (the group before a pattern's first match comes with that match), so
        that a caller can count failed parses against the matcher's limit as the matcher does."""
        steps = self._steps.get(candidate)
        if steps is None:
            found: list[tuple[tuple[str, int], ...]] = []
            for pattern in self._inner:
                match = pattern.search(candidate)
                first = True
                while match:
                    group = (self._trim(self._unwanted_end, match.group(1)), match.start(1))
                    if first:
                        found.append(((self._trim(self._unwanted_end, candidate[: match.start()]), 0), group))
                        first = False
                    else:
                        found.append((group,))
                    match = pattern.search(candidate, match.start() + 1)
            steps = self._steps[candidate] = tuple(found)
        return steps


def inner_match(matcher: Any, walk: RegionFreeWalk, candidate: str, offset: int) -> Any:
    """``matcher._extract_inner_match(candidate, offset)`` over ``walk``'s groups: the same groups parsed in the same
    order, each failed parse counted against the matcher's limit as the library counts it."""
    for step in walk.inner_steps(candidate):
        if matcher._max_tries <= 0:
            return None
        for group, at in step:
            match = matcher._parse_and_verify(group, offset + at)
            if match is not None:
                return match
            matcher._max_tries -= 1
    return None


def phone_recognizer(language: str) -> Any:
    """Presidio's PhoneRecognizer (same regions, leniency and context), finding the text's candidates once
    for all regions and skipping digit groups too short to be a number.

    Candidates too short for every region (and, inside ``only_plausible_phones()``, bare digit runs that are
    never plausible) are passed over once, before any region's matcher sees them; they do not count towards
    libphonenumber's limit of 65,535 failed candidates per text, which no ordinary text reaches.

    Falls back to Presidio's own recognizer when phonenumbers' matcher lacks the methods used here,
    or when both do not find the same numbers in a few sample texts.
    """
    import phonenumbers
    from phonenumbers import phonenumbermatcher
    from phonenumbers.phonenumbermatcher import PhoneNumberMatcher
    from presidio_analyzer import EntityRecognizer
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    pattern: Any = getattr(phonenumbermatcher, "_PATTERN", None)
    second: Any = getattr(phonenumbermatcher, "_SECOND_NUMBER_START_PATTERN", None)
    longest_run = getattr(phonenumbermatcher, "_DIGIT_BLOCK_LIMIT", None)
    probe = PhoneNumberMatcher("", "US")
    if pattern is None or second is None or not isinstance(longest_run, int) or not all(hasattr(probe, m) for m in _MATCHER_HOOKS):
        logger.warning("pii: phonenumbers %s has another matcher; using Presidio's phone recognizer as it is", phonenumbers.__version__)
        return PhoneRecognizer(supported_language=language)

    run_limit: int = longest_run
    valid = int(phonenumbers.Leniency.VALID)
    # libphonenumber compiles its metadata's patterns through re's 512-entry cache: numbers of many regions (new
    # numbers on real traffic reach more of them) keep evicting and recompiling them. Its own cache keeps each
    # compiled once (about 2,000 patterns, about 1 MB).
    keep_patterns = getattr(phonenumbers, "enable_pattern_cache", None)
    if keep_patterns is not None:
        keep_patterns()
    # Regions sharing a country code (US and Canada): a number read as national is parsed once for all of them.
    @functools.lru_cache(maxsize=4096)
    def shared_by(candidate: str, region: str, regions: tuple[str, ...]) -> int | None:
        code = _country_code(region)
        same = tuple(r for r in regions if _country_code(r) == code)
        return code if code is not None and len(same) > 1 and read_as_national(candidate, same, code) else None
    international, national = min_digits_by_region()
    fewest = min(international, *national.values())

    rules = walk_rules()

    class SharedScanMatcher(PhoneNumberMatcher):
        def __init__(self, text: str, region: str, leniency: int, scan: _CandidateScan, regions: tuple[str, ...],
                     walk: RegionFreeWalk | None) -> None:
            super().__init__(text, region, leniency=leniency)
            self._scan = scan
            self._regions = regions
            self._walk = walk

        def _find(self, index: int) -> Any:  # the library's search loop, over the shared candidates
            found = self._scan.next_candidate(index)
            while self._max_tries > 0 and found is not None:
                start, candidate = found
                if len(candidate) >= self._min_candidate_length:
                    match = self._extract_match(candidate, start)
                    if match is not None:
                        return match
                    self._max_tries -= 1
                found = self._scan.next_candidate(start + len(candidate))
            return None

        # Every match lies inside its candidate and has no more digits. Leniency 0 (possible numbers)
        # would allow shorter, local-only numbers: never skipped.
        def _skip(self, candidate: str) -> bool:
            return self.leniency >= 1 and too_short(candidate, self.preferred_region or "")

        def _extract_match(self, candidate: str, offset: int) -> Any:
            if self._skip(candidate):
                return None
            walk = self._walk
            if walk is None:
                return super()._extract_match(candidate, offset)
            if walk.date_or_time(candidate, offset):
                return None
            match = self._parse_and_verify(candidate, offset)
            return match if match is not None else self._extract_inner_match(candidate, offset)

        def _extract_inner_match(self, candidate: str, offset: int) -> Any:
            if self._walk is None:
                return super()._extract_inner_match(candidate, offset)
            return inner_match(self, self._walk, candidate, offset)

        def _parse_and_verify(self, candidate: str, offset: int) -> Any:  # also each inner group of a candidate
            region = self.preferred_region or ""
            if self._skip(candidate) or (self.leniency >= 1 and never_valid_national(candidate, region)) or (
                    self.leniency == valid and national_not_verified(candidate, region)):
                return None
            code: int | str | None = shared_by(candidate, region, self._regions)
            if code is None and self.leniency == 1 and international_alike(self._regions) and written_international(candidate):
                code = "+"  # read with its own country code whatever the default region: parsed once for all
            if code is None:
                return super()._parse_and_verify(candidate, offset)
            return self._scan.once((offset, candidate, code), lambda: super(SharedScanMatcher, self)._parse_and_verify(candidate, offset))

    class FastPhoneRecognizer(PhoneRecognizer):
        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            if sum(map(str.isdigit, text)) < fewest:
                return []
            regions = tuple(self.supported_regions)
            only_plausible = _ONLY_PLAUSIBLE.get()
            leniency = cast(int, self.leniency)

            def hopeless(candidate: str, offset: int) -> bool:  # no region's matcher would find a number in it
                return ((leniency >= 1 and too_short_everywhere(candidate, regions))
                        or (only_plausible and _never_plausible(text, candidate, offset, run_limit)))

            scan = _CandidateScan(text, pattern, lambda c: probe._trim_after_first_match(second, c), hopeless)
            walk = None if rules is None else RegionFreeWalk(text, rules, probe._trim_after_first_match)
            results = []
            region_of: dict[str, tuple[Any, ...]] = {}  # the same number is found by several regions' matchers
            for region in regions:
                for match in SharedScanMatcher(text, region, leniency, scan, regions, walk):
                    raw = text[match.start : match.end]
                    if raw not in region_of:
                        try:
                            region_of[raw] = (phonenumbers.region_code_for_number(phonenumbers.parse(raw)),)
                        except phonenumbers.NumberParseException:
                            region_of[raw] = ()  # unparsable: the matcher's region
                    found = region_of[raw][0] if region_of[raw] else region
                    results.append(self._get_recognizer_result(match, text, found, nlp_artifacts))  # type: ignore[no-untyped-call]
            return list(EntityRecognizer.remove_duplicates(results))

    fast = FastPhoneRecognizer(supported_language=language)
    stock = PhoneRecognizer(supported_language=language)
    if any(_spans(fast, text) != _spans(stock, text) for text in _SELF_CHECK):
        logger.warning("pii: the fast phone recognizer disagrees with Presidio's on phonenumbers %s; using Presidio's", phonenumbers.__version__)
        return stock
    return fast


# Candidates of every kind: short groups, inner groups, a second number, dates, time stamps, international prefixes.
_SELF_CHECK = (
    "Call +44 20 7946 0958 or (212) 555-0199 ext. 42; fax 030 1234567 / 0171 2345678, order 11 items.",
    "IDD 011 44 20 7946 0958, 0049 30 901820, 3/4/2021 09:30, 2012-10-01 08:00, 12 345 6789 0123 45 678, +91 98765 43210",
    "mobile 723 813 266, number 4081080225434352, tel 612 345 678, 98765 43210, 2025550199, 21 2555 0199 ext 7",
    "(+33) 1 23 45 67 89, +1 212 555 0199 / +1 416 555 0199, \uff0b44 20 7946 0958, +49 30 901820 x, tel:+44 20 7946 0958",
)


def _spans(recognizer: Any, text: str) -> list[tuple[int, int, float]]:
    return sorted((r.start, r.end, r.score) for r in recognizer.analyze(text, ["PHONE_NUMBER"]))
