"""The phone recognizer the pii filter runs: the same matches as Presidio's (inside the filter: the same plausible ones), found with less parsing."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path
from typing import Any

import pytest

from guardrails.pii_analyzer import import_presidio
from guardrails.pii_phone import (
    RegionFreeWalk,
    inner_match,
    min_digits_by_region,
    only_plausible_phones,
    phone_recognizer,
    plausible_phone,
    international_alike,
    national_not_verified,
    split_extension,
    never_valid_national,
    read_as_national,
    too_short,
    walk_rules,
    written_international,
)
from tests.helpers.pii_cases import load_cases

HAND_WRITTEN = [
    "Call me on +44 20 7946 0958 or 020 7946 0958 tomorrow.",
    "US office: (212) 555-0199, fax 212.555.0198, toll free 1-800-555-0100 ext. 42",
    "Vanity: 1-800-FLOWERS and 0800 FLOWERS are both fine.",
    "Ruf an: 030 1234567, 0171 2345678, +49 30 901820, 089 123",
    "Appelez le 01 23 45 67 89 ou +33 6 12 34 56 78.",
    "Tel Aviv: 03-1234567, mobile 052-123-4567, +972 52 123 4567",
    "India: +91 98765 43210, 022 2345 6789, 9876543210",
    "Brasil: (11) 91234-5678, +55 11 3456-7890, 0800 123 4567",
    "Canada 604 555 0123; IDD 011 44 20 7946 0958; 00 49 30 901820; 0049 30 901820",
    "Small islands: +290 22345, +683 4002, +500 31234 and +1 671 472 1234",
    "Order 11 items at 09:30, 2012-10-01 00:00:00, page 12/34, 3/4/2021, v1.2.3, 10.0.0.1",
    "Dates and sums: 1,234.56 EUR on 12.05.2023; ids 12345 123456 1234567 12345678",
    "Full width: ＋４４ ２０ ７９４６ ０９５８ and Arabic digits ٠١٢٣٤٥٦٧٨٩",
    "Short groups 1 22 333 4444 55555 666666 next to +1 2 and (0) 30 12",
    "x 5 y 7777 z 0 12 345 6789 0123 45 678 9 — 0044 (0)20 7946 0958",
    "",
    "no digits at all here",
]


def random_texts(n: int) -> list[str]:
    """Digit groups of every length with separators, words and prefixes in between (seeded)."""
    rng = random.Random(7)
    pieces = ["+", "(", ")", "-", " ", ".", "/", "ext ", "x", "tel ", "call ", "00", "011", "+1 ", "+44 ", "+49 ", "0"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(3, 25)):
            parts.append(rng.choice(pieces) if rng.random() < 0.4 else "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 11))))
            parts.append(rng.choice([" ", "", " and ", "-", " on "]))
        out.append("".join(parts))
    return out


def shared_texts() -> list[str]:
    path = Path(os.environ.get("GUARDRAILS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")) / "pii.jsonl"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


@pytest.fixture(scope="module")
def recognizers() -> tuple[object, object]:
    import_presidio()
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    fast = phone_recognizer("en")
    assert type(fast).__name__ == "FastPhoneRecognizer"
    return PhoneRecognizer(supported_language="en"), fast


def spans(recognizer: object, text: str) -> list[tuple[int, int, float]]:
    return sorted((r.start, r.end, r.score) for r in recognizer.analyze(text, ["PHONE_NUMBER"]))  # type: ignore[attr-defined]


def test_same_matches_as_presidio(recognizers: tuple[object, object]) -> None:
    presidio, fast = recognizers
    texts = HAND_WRITTEN + [c.text for c in load_cases()] + random_texts(400) + shared_texts()
    differ = [t for t in texts if spans(presidio, t) != spans(fast, t)]
    assert differ == []
    assert sum(1 for t in texts if spans(fast, t)) > 20  # the texts do hold phone numbers


def test_short_groups_are_skipped_before_parsing() -> None:
    international, national = min_digits_by_region()
    # No valid number has fewer digits than these: the bounds are what makes the skip safe and useful.
    assert 3 <= international <= 6
    assert national["US"] >= 7 and 4 <= national["DE"] <= 6 and national["GB"] >= 7
    assert too_short("081", "DE") and not too_short("0815", "DE")
    assert too_short("65062", "US") and too_short("(72) 754-18", "FR") and not too_short("0 754-186", "US")
    assert not too_short("+44 20 79", "US") and not too_short("011 44 20", "US")  # international: country code decides
    assert not too_short("1-800-FLOWERS", "US")


def test_plausible_only_keeps_every_plausible_match(recognizers: tuple[object, object]) -> None:
    """Inside the filter's hint the recognizer skips bare digit runs: what plausible_phone keeps is the same."""
    presidio, fast = recognizers

    def kept(recognizer: object, text: str) -> list[tuple[int, int, float]]:
        return [s for s in spans(recognizer, text) if plausible_phone(text, s[0], s[1])]

    texts = HAND_WRITTEN + [c.text for c in load_cases()] + random_texts(400) + shared_texts()
    texts += ["call 5551234567", "phone: 02079460958.", "order 12345678901 phone 0207946095", "tel 0207946095x"]
    with only_plausible_phones():
        differ = [t for t in texts if kept(presidio, t) != kept(fast, t)]
        assert differ == []
        assert sum(1 for t in texts if kept(fast, t)) > 20
        skipped = [t for t in texts if len(spans(fast, t)) < len(spans(presidio, t))]
    assert skipped  # the hint does save parsing: bare digit runs nobody would report are not matched


def test_falls_back_to_presidios_recognizer_when_the_matcher_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    import_presidio()
    from phonenumbers import phonenumbermatcher

    monkeypatch.delattr(phonenumbermatcher, "_PATTERN")
    assert type(phone_recognizer("en")).__name__ == "PhoneRecognizer"


def _recording_matcher(text: str, tries: int) -> Any:
    """libphonenumber's matcher on ``text`` that notes every (group, offset) it parses and finds nothing in any."""
    from phonenumbers.phonenumbermatcher import PhoneNumberMatcher

    class Recording(PhoneNumberMatcher):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(text, "US")
            self._max_tries = tries
            self.parsed: list[tuple[str, int]] = []

        def _parse_and_verify(self, candidate: str, offset: int) -> None:
            self.parsed.append((candidate, offset))

    return Recording()


def _walk_candidates() -> list[str]:
    dates = ["12/05/2023", "3/4/2021 call 555 0199", "page 12/34", "2012-10-01 08:00", "09:30:15 or 0171 2345678",
             "tel 212-555-0199 x12 / 0171 2345678", "(030) 1234567 (0171) 2345678", "1-800-FLOWERS, 0800 123 4567"]
    return dates + HAND_WRITTEN + random_texts(300)


def test_the_region_free_walk_parses_the_groups_the_library_parses_in_its_order() -> None:
    import_presidio()
    rules = walk_rules()
    assert rules is not None  # this phonenumbers walks as RegionFreeWalk follows
    tried = 0
    for candidate in _walk_candidates():
        for tries in (65535, 4, 1, 0):
            library, ours = _recording_matcher(candidate, tries), _recording_matcher(candidate, tries)
            library._extract_inner_match(candidate, 7)
            inner_match(ours, RegionFreeWalk(candidate, rules, ours._trim_after_first_match), candidate, 7)
            assert ours.parsed == library.parsed, (candidate, tries)
            assert ours._max_tries == library._max_tries
            tried += len(ours.parsed)
    assert tried > 3000  # the candidates do hold inner groups


def test_the_region_free_walk_passes_over_the_dates_and_time_stamps_the_library_passes_over() -> None:
    import_presidio()
    rules = walk_rules()
    assert rules is not None
    skipped = 0
    for text in _walk_candidates() + ["on 2012-10-01 08:00:00 UTC", "at 08:00:00 and 08:00 today"]:
        walk = RegionFreeWalk(text, rules, lambda pattern, candidate: candidate)
        for start in range(0, len(text), 3):
            for end in range(start + 1, min(len(text), start + 24) + 1, 4):
                candidate = text[start:end]
                library = _recording_matcher(text, 65535)
                library._extract_inner_match = lambda candidate, offset: None
                library._extract_match(candidate, start)
                assert walk.date_or_time(candidate, start) == (library.parsed == []), (text, candidate)
                skipped += walk.date_or_time(candidate, start)
    assert skipped > 15
    text = "logged 2012-10-01 08:00:00 and 2012-10-01 08 h"
    walk = RegionFreeWalk(text, rules, lambda pattern, candidate: candidate)
    assert walk.date_or_time("2012-10-01 08", 7)  # a time stamp: ":00" follows
    assert not walk.date_or_time("2012-10-01 08", 31)  # " h" follows


def test_another_library_walk_is_left_to_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    import_presidio()
    from guardrails import pii_phone

    monkeypatch.setattr(pii_phone, "_LIBRARY_WALK", ("0" * 16, "0" * 16))
    walk_rules.cache_clear()
    try:
        assert walk_rules() is None
        from presidio_analyzer.predefined_recognizers import PhoneRecognizer

        presidio, fast = PhoneRecognizer(supported_language="en"), phone_recognizer("en")
        assert type(fast).__name__ == "FastPhoneRecognizer"
        texts = HAND_WRITTEN + random_texts(60)
        assert [spans(fast, t) for t in texts] == [spans(presidio, t) for t in texts]
    finally:
        walk_rules.cache_clear()


def test_libphonenumbers_compiled_patterns_are_kept_once_the_recognizer_is_built() -> None:
    import phonenumbers
    from phonenumbers import re_util

    if not hasattr(phonenumbers, "enable_pattern_cache"):
        pytest.skip(f"phonenumbers {phonenumbers.__version__} has no pattern cache")
    phone_recognizer("en")
    first = re_util.re_compile(r"[2-9]\d{2}[2-9]\d{6}")
    re.purge()  # re's own cache is emptied: libphonenumber's keeps the compiled pattern
    assert re_util.re_compile(r"[2-9]\d{2}[2-9]\d{6}") is first


def test_us_and_canada_share_a_parse_only_for_numbers_read_as_national() -> None:
    import_presidio()
    both = ("US", "CA")
    assert read_as_national("(604) 555-0123", both, 1) and read_as_national("212-555-0199", both, 1)
    assert read_as_national("2125550199x1", both, 1) and read_as_national("212 555 0199 ext. 42", both, 1)  # extension split off
    # A leading 1 (country code or national prefix), 011 (international prefix), a plus: not shared.
    assert not any(read_as_national(c, both, 1) for c in ["1 212 555 0199", "011 44 20 7946 0958", "+1 212 555 0199", "1 212 555 0199 x1"])
    # An extension parse would not split off as it is (a trailing "#", RFC 3966 parts, a leading bracket): not shared.
    assert not any(read_as_national(c, both, 1) for c in ["212 555 0199 - 12#", "212 555 0199;ext=12", "(212) 555 0199 x12",
                                                           "212 555 0199 / x12"])


REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")


def groups(n: int) -> list[str]:
    """Digit groups with separators and prefixes, as the matcher's candidates look (seeded)."""
    rng = random.Random(3)
    out = []
    for _ in range(n):
        lead = rng.choice(["", "", "", "(", "+", "(+", "00", "0", "1 ", "\uff0b"])
        out.append(lead + rng.choice([" ", "-", ".", ""]).join(
            "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 5))))
    return out


def with_extensions(candidates: list[str]) -> list[str]:
    """Each candidate with an extension written each way libphonenumber reads one, and a few it does not (seeded)."""
    rng = random.Random(11)
    marks = ["x", "X", " x ", " ext. ", " ext ", "ext", " extension ", ", ext. ", " #", " - ", ";ext=", " x", " anexo "]
    out = []
    for candidate in candidates:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 7)))
        out.append(candidate + rng.choice(marks) + digits + rng.choice(["", "", "", "#"]))
    return out


def test_national_numbers_no_regions_pattern_fits_are_not_parsed() -> None:
    import_presidio()
    import phonenumbers

    assert never_valid_national("723 813 266", "US") and not never_valid_national("723 813 266", "FR")
    assert all(never_valid_national("4081080225434352", r) for r in REGIONS if r not in ("DE", "IN"))
    assert not never_valid_national("0171 2345678", "DE")  # a national prefix: not read as national, parsed
    assert not never_valid_national("+49 30 901820", "DE") and not never_valid_national("212 555 0199", "US")
    assert never_valid_national("7502x459", "DE") and never_valid_national("259.735.7502x459", "FR")
    assert not never_valid_national("212 555 0199 x12", "US")
    skipped = 0
    for candidate in groups(3000) + with_extensions(groups(1500)):
        for region in REGIONS:
            if never_valid_national(candidate, region):
                skipped += 1
                try:
                    number = phonenumbers.parse(candidate, region, keep_raw_input=True)
                except phonenumbers.NumberParseException:
                    continue
                assert not phonenumbers.is_valid_number(number), (candidate, region)
    assert skipped > 1000


def test_national_numbers_the_matcher_would_reject_are_not_parsed() -> None:
    """A number read as national is built without parsing and checked as the matcher checks a parsed one:
    every candidate skipped that way is one the library's matcher finds nothing in."""
    import_presidio()
    import phonenumbers
    from phonenumbers import PhoneNumberType
    from phonenumbers.phonenumbermatcher import Leniency, PhoneNumberMatcher

    assert national_not_verified("723 813 266", "FR")  # FR's general pattern fits; no number type does
    assert national_not_verified("612 345 678", "FR")  # valid, but a French number written nationally needs its 0
    assert not national_not_verified("212 555 0199", "US") and not national_not_verified("98765 43210", "IN")
    assert not national_not_verified("+49 30 901820", "DE")  # not read as national: parsed
    assert national_not_verified("054-28-6917", "FR")  # a national prefix, stripped as parse strips it: invalid
    assert not national_not_verified("01 23 45 67 89", "FR") and not national_not_verified("030 901820", "DE")
    # With an extension, split off as parse splits it: the number checked with it.
    assert national_not_verified("259.735.7502x459", "US") and national_not_verified("7502x459", "DE")
    assert not national_not_verified("212 555 0199 x12", "US") and not national_not_verified("030 901820 ext 5", "DE")
    # Random groups, and every region's example numbers of every type (valid ones): as written nationally (with a
    # national prefix where the region has one), without the prefix, and with their digits changed.
    rng = random.Random(5)
    examples = []
    for region in REGIONS:
        for kind in PhoneNumberType.values():
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                digits = phonenumbers.national_significant_number(number)
                national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
                changed = "".join(rng.choice("0123456789") if c.isdigit() and rng.random() < 0.3 else c for c in national)
                examples += [digits, " ".join([digits[:3], digits[3:]]), national, changed, "0" + digits]
    skipped = kept = extended = 0
    for candidate in groups(3000) + examples + with_extensions(groups(1000) + examples):
        for region in REGIONS:
            found = PhoneNumberMatcher(candidate, region, leniency=Leniency.VALID)._parse_and_verify(candidate, 0)
            if national_not_verified(candidate, region):
                skipped += 1
                assert found is None, (candidate, region)
            elif found is not None and split_extension(candidate)[0]:  # a plain number, maybe with an extension
                kept += 1
                extended += bool(split_extension(candidate)[1])
    assert skipped > 1000 and kept > 50 and extended > 20


def test_numbers_written_with_a_plus_parse_alike_in_every_region() -> None:
    import_presidio()
    import phonenumbers

    assert written_international("+44 20 7946 0958") and written_international("(+33) 1 23 45 67 89")
    assert written_international("\uff0b44 20 7946 0958")
    assert not any(written_international(c) for c in ["0044 20 7946 0958", "tel:+44 20 7946 0958", "+ 44 20", "(0) 20 79", "+0195"])
    assert international_alike(REGIONS) and not international_alike(("US", "XX"))
    checked = 0
    for candidate in groups(3000):
        if not written_international(candidate):
            continue
        read: list[Any] = []
        for region in REGIONS:
            try:
                number = phonenumbers.parse(candidate, region, keep_raw_input=True)
                read.append((number, number.country_code_source, phonenumbers.is_valid_number(number)))
            except phonenumbers.NumberParseException as exc:
                read.append((None, exc.error_type))
        assert all(r == read[0] for r in read), candidate
        checked += 1
    assert checked > 300
