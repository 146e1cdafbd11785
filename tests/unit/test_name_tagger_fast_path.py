"""The name tagger's fast path gives what its reference gives: cached group sums of the weights (GroupedScores)
equal the sums over the feature strings (features -> hashed -> weights) to 1e-5 and ``tag`` finds the same spans,
with the shipped weights and with random ones, on the hand-written cases, synthetic texts and random texts; the
tokenizer and the title-case marks equal their straightforward definitions."""

from __future__ import annotations

import random

import numpy as np
import pytest

from guardrails.name_tagger import (
    _SENTENCE_END, _TOKEN, FEATURE_GROUPS, LABELS, LOWER_CASE_CUES, N_FEATURES, PARTICLES, TITLE_CASE_WORDS, Doc,
    GroupedScores, NameTagger, features, shared_tagger, tokenize,
)
from tests.helpers.pii_cases import CASES_FILES, load_cases


def assert_same(tagger: NameTagger, texts: list[str]) -> int:
    """Fast and reference probabilities and spans agree on every text; returns how many candidates were compared."""
    compared = 0
    for text in texts:
        doc = Doc.of(text, tagger.gazetteer)
        rows = [i for i, c in enumerate(doc.candidates) if c]
        if rows:
            np.testing.assert_allclose(tagger.probabilities(doc, rows), tagger.reference_probabilities(doc, rows), atol=1e-5,
                                       err_msg=text)
            compared += len(rows)
        fast, ref = tagger.tag(text), tagger.tag(text, reference=True)
        assert [(s.start, s.end, s.label) for s in fast] == [(s.start, s.end, s.label) for s in ref], text
        assert [s.score for s in fast] == pytest.approx([s.score for s in ref], abs=1e-5), text
    return compared


def case_texts() -> list[str]:
    return [c.text for path in CASES_FILES for c in load_cases(path)]


def synthetic_texts(seed: int) -> list[str]:
    """Number-dense support messages and prose, built from templates (no shared data needed)."""
    rng = random.Random(seed)
    first = ["Priya", "Jonas", "Séverine", "Łukasz", "Inês", "Joost", "Maria", "Ahmed", "Grace", "Zoë"]
    last = ["Raman", "Kowalczyk", "Dufresne", "van der Linden", "Carvalhal", "O'Brien", "Müller", "Nakamura"]
    places = ["Leeds", "Norwich", "Bielefeld", "Valladolid", "Gdańsku", "Paris", "Rio de Janeiro", "New South Wales"]
    dense = [
        "Order #{n} for {f} {l}: ship to {n2} High Street, {p}; call +44 20 7946 {n3} or mail {f}.{n}@example.org.",
        "Ticket {n}: {f} {l} ({p}) paid with card 4111 1111 1111 {n3} on 2024-03-{d}, IBAN DE89 3704 0044 0532 0130 00.",
        "Mr. {l} asked about invoice INV-{n}-{n3}; his phone 0{n2}-{n3}{n3} and IP 10.0.{d}.{d} were logged.",
        "Guest: {f} {l}\nRoom {n2}, nights {d}\nFrom: {p}\nNotes: `id_{n}` <PERSON_1> sag {lf} bitte.",
    ]
    prose = [
        "Last summer {f} travelled from {p} to {p2} with her brother, who writes Songs Of The Road for a living.",
        "The committee thanked {f} {l} for the report; Professor {l} from {p} will answer questions on Thursday.",
        "hey {lf}, are we still meeting in {lp} tomorrow? THE BUS IS LATE AGAIN",
        "Rue Victor-Hugo is closed until Easter, so the Van Gogh Museum asks visitors from {p} to come by tram.",
    ]
    out = []
    for _ in range(40):
        f, l, p, p2 = rng.choice(first), rng.choice(last), rng.choice(places), rng.choice(places)
        values = {"f": f, "l": l, "p": p, "p2": p2, "lf": f.lower(), "lp": p.lower(), "n": rng.randint(1000, 99999),
                  "n2": rng.randint(10, 999), "n3": rng.randint(1000, 9999), "d": rng.randint(10, 28)}
        out.append(" ".join(rng.choice(dense).format(**values) for _ in range(rng.randint(1, 5))))
        out.append(" ".join(rng.choice(prose).format(**values) for _ in range(rng.randint(1, 5))))
    return out


def random_texts(seed: int, count: int, tagger: NameTagger) -> list[str]:
    """Random token soup: capitalised names, particles, forms of address, cue words before lower-case names,
    line breaks, code, placeholders, possessives, initials, title-case words, shouting and other scripts."""
    rng = random.Random(seed)
    sets = tagger.gazetteer.sets
    names = [w for kind in ("first", "last", "place") for w in rng.sample(sorted(sets[kind]), 60)]
    common = rng.sample(sorted(sets["word"]), 80)
    pieces = [
        lambda: rng.choice(names).capitalize(), lambda: rng.choice(names), lambda: rng.choice(common),
        lambda: rng.choice(common).capitalize(), lambda: rng.choice(sorted(PARTICLES)),
        lambda: rng.choice(sorted(LOWER_CASE_CUES)) + " " + rng.choice(names),
        lambda: rng.choice(sorted(TITLE_CASE_WORDS)).capitalize(), lambda: rng.choice(["Mr.", "Mrs", "Dr.", "Frau", "pani", "Sr."]),
        lambda: rng.choice(sorted(_SENTENCE_END)), lambda: rng.choice([",", ",", "'s", "’s", "(", ")", "&"]),
        lambda: rng.choice(["\n", "\n\n", " \n "]), lambda: rng.choice(["`foo_bar`", "```\nx = Foo(Bar)\n```", "os.path", "Main()", "key=Value"]),
        lambda: rng.choice(["<PERSON_1>", "<EMAIL_ADDRESS>", "<LOCATION_2>"]), lambda: rng.choice(["R", "P.", "J.", "K"]),
        lambda: rng.choice(["O'Brien", "Jean-Luc", "McDonald", "You're", "d'Artagnan", "PHP-FPM", "TableCell"]),
        lambda: rng.choice(names).upper(), lambda: str(rng.randint(0, 99999)), lambda: rng.choice(["Москва", "Αθήνα", "Żółć"]),
        lambda: rng.choice(["rue", "Museum", "name:", "Noël", "via", "in via", "aus dem", "près de", "em nome de"]),
    ]
    out = []
    for _ in range(count):
        words = [rng.choice(pieces)() for _ in range(rng.randint(1, 60))]
        text = "".join(w + rng.choice([" ", " ", " ", "  ", "", "\t", "\n"]) for w in words)
        roll = rng.random()
        out.append(text.upper() if roll < 0.05 else text.lower() if roll < 0.1 else text)
    return out


@pytest.fixture(scope="module")
def tagger() -> NameTagger:
    return shared_tagger()


@pytest.fixture(scope="module")
def random_weights_tagger(tagger: NameTagger) -> NameTagger:
    rng = np.random.default_rng(7)
    weights = rng.normal(0.0, 1.5, (N_FEATURES, len(LABELS))).astype(np.float32)
    return NameTagger(weights, rng.normal(0.0, 1.0, len(LABELS)).astype(np.float32), tagger.gazetteer, threshold=0.5)


def test_the_hand_written_cases_score_and_tag_as_the_reference(tagger: NameTagger) -> None:
    assert assert_same(tagger, case_texts()) > 1000


def test_synthetic_number_dense_and_prose_texts_score_and_tag_as_the_reference(tagger: NameTagger) -> None:
    assert assert_same(tagger, synthetic_texts(1)) > 1000


def test_random_texts_score_and_tag_as_the_reference(tagger: NameTagger) -> None:
    texts = random_texts(3, 400, tagger)
    assert assert_same(tagger, texts) > 2000
    assert sum(bool(tagger.tag(t)) for t in texts) > 100  # the texts do hold names


def test_random_weights_of_the_models_shape_score_and_tag_as_the_reference(random_weights_tagger: NameTagger) -> None:
    texts = case_texts()[::3] + synthetic_texts(2) + random_texts(4, 200, random_weights_tagger)
    assert assert_same(random_weights_tagger, texts) > 2000


def test_tiny_caches_that_empty_often_give_the_same_scores(tagger: NameTagger) -> None:
    small = NameTagger(tagger.weights, tagger.bias, tagger.gazetteer, tagger.threshold)
    small.grouped = GroupedScores(tagger.weights, tagger.bias, limit=3)
    texts = random_texts(5, 60, tagger)
    assert assert_same(small, texts + texts) > 300
    assert all(len(cache) <= 3 for cache in small.grouped.caches)


def test_the_feature_groups_are_the_features_each_name_in_one_group(tagger: NameTagger) -> None:
    doc = Doc.of("Frau Weber fährt morgen nach Bielefeld.", tagger.gazetteer)
    groups = [group(doc, 1) for group in FEATURE_GROUPS]
    assert features(doc, 1) == [f for group in groups for f in group]
    names = [{f.split("=", 1)[0] for f in group} for group in groups]
    assert [len(n) for n in names] == [len(group) for group in groups] == [19, 8, 10]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])


def test_a_new_number_beside_a_known_name_fills_only_the_groups_it_changes(tagger: NameTagger) -> None:
    small = NameTagger(tagger.weights, tagger.bias, tagger.gazetteer, tagger.threshold)
    text = "Call Priya Raman {} or 0161 496 0000 today."
    assert_same(small, [text.format("01614960417")])
    sizes = [len(cache) for cache in small.grouped.caches]
    assert_same(small, [text.format("01614960422")])
    # the new number is one and two words after Raman and Priya: only their right-hand keys are new
    assert [len(cache) for cache in small.grouped.caches] == [sizes[0], sizes[1], sizes[2] + 2]
def test_tokenize_gives_the_regex_matches_and_the_line_breaks_before_them(tagger: NameTagger) -> None:
    for text in random_texts(6, 300, tagger) + ["", "\n", "a\n", "\nA b", "x \r\n y", "Foo's  bar-baz\n\n12ab", "\u2028Ab\x0bC"]:
        expected, end = [], 0
        for m in _TOKEN.finditer(text):
            expected.append((m.group(), m.start(), m.end(), "\n" in text[end : m.start()]))
            end = m.end()
        assert [tuple(t) for t in tokenize(text)] == expected, text


def test_title_case_marks_follow_their_definition(tagger: NameTagger) -> None:
    for text in random_texts(8, 300, tagger) + ["The Lord Of The Rings\nby J. R. R. Tolkien", "Songs Of The Road. The end"]:
        tokens = tokenize(text)
        expected = [False] * len(tokens)
        start = 0
        for i in range(len(tokens) + 1):
            if i == len(tokens) or (i > start and tokens[i].new_line):
                hit = any(tokens[k].text[:1].isupper() and tokens[k].text.lower() in TITLE_CASE_WORDS
                          and tokens[k - 1].text not in _SENTENCE_END for k in range(start + 1, i))
                expected[start:i] = [hit] * (i - start)
                start = i
        assert Doc.of(text, tagger.gazetteer).title_case == expected, text
    assert any(Doc.of("Songs Of The Road", tagger.gazetteer).title_case)


def test_a_feature_string_changes_the_score_of_its_group(tagger: NameTagger) -> None:
    # the cache keys must hold what the features read: the same word after a different word scores differently
    a = Doc.of("Yesterday Weber called.", tagger.gazetteer)
    b = Doc.of("Frau Weber called.", tagger.gazetteer)
    pa, pb = tagger.probabilities(a, [1]), tagger.probabilities(b, [1])
    np.testing.assert_allclose(pa, tagger.reference_probabilities(a, [1]), atol=1e-5)
    np.testing.assert_allclose(pb, tagger.reference_probabilities(b, [1]), atol=1e-5)
    assert not np.allclose(pa, pb, atol=1e-3)
