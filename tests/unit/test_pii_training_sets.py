"""The name tagger's training script reads hand-written sets 1-8 only (later sets stay blind hold-outs) and refills
their marked names and places with others of the line's language."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from guardrails.name_tagger import DATA_DIR, Gazetteer
from tests.helpers.pii_cases import CASES_FILES, LOOKED_AT_CASE_SETS, TRAINING_CASE_SETS, Case, load_cases

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
# The sets looked at while the tagger was tuned (issue #18, rounds one to seven): the only ones it may train on.
LOOKED_AT = {"pii_multilingual.txt"} | {f"pii_multilingual_{n}.txt" for n in range(2, 9)}


@pytest.fixture(scope="module")
def script() -> ModuleType:
    sys.path.insert(0, str(SCRIPTS))
    import train_pii_names

    return train_pii_names


def test_training_sets_are_the_eight_looked_at_and_no_later_one() -> None:
    names = [CASES_FILES[n - 1].name for n in TRAINING_CASE_SETS]
    assert set(names) <= LOOKED_AT and len(names) == len(set(names))
    assert all(1 <= n <= 8 for n in TRAINING_CASE_SETS)


def test_the_looked_at_set_is_not_trained_on_and_set_10_on_stays_blind() -> None:
    assert LOOKED_AT_CASE_SETS == (9,) and not set(LOOKED_AT_CASE_SETS) & set(TRAINING_CASE_SETS)
    blind = [CASES_FILES[n - 1].name for n in range(1, len(CASES_FILES) + 1)
             if n not in TRAINING_CASE_SETS and n not in LOOKED_AT_CASE_SETS]
    assert blind and blind[0] == "pii_multilingual_10.txt"


def test_script_default_trains_on_training_case_sets_and_checks_numbers(script: ModuleType) -> None:
    assert script.parse_args([]).hand_written == TRAINING_CASE_SETS
    assert script.parse_args(["--hand-written", "1,3"]).hand_written == (1, 3)
    assert script.parse_args(["--hand-written", ""]).hand_written == ()
    with pytest.raises(SystemExit):
        script.parse_args(["--hand-written", f"1,{len(CASES_FILES) + 1}"])


def refiller(script: ModuleType, seed: int = 0) -> Any:
    per_lang = {lang: {"first": ["Ottilie", "Bartholomew"], "last": ["Quennell", "van Aarle"], "place": ["Zwolle", "Den Bosch"]}
                for lang in ("en", "de", "fr", "es", "it", "pt", "nl")}
    return script.Refiller(per_lang, {"ottilie", "bartholomew", "priya", "marisol", "rosalind"}, random.Random(seed))


def test_refilled_lines_keep_context_and_mark_the_new_values(script: ModuleType) -> None:
    case = Case("en", "I met Tobias Okafor in LISBON, then marisol in Galway.",
                ((6, 19, "PERSON"), (23, 29, "LOCATION"), (36, 43, "PERSON"), (47, 53, "LOCATION")))
    for seed in range(20):
        text, spans = refiller(script, seed).refill(case)
        values = [(text[s:e], label) for s, e, label in spans]
        assert [label for _, label in values] == ["PERSON", "LOCATION", "PERSON", "LOCATION"]
        person, place, lone, town = (v for v, _ in values)
        assert person.split()[0] in {"Ottilie", "Bartholomew"} and person.split()[1] in {"Quennell", "Aarle"}  # first last
        assert place in {"ZWOLLE", "DEN BOSCH"} and lone in {"ottilie", "bartholomew"} and town in {"Zwolle", "Den Bosch"}
        assert text.startswith("I met ") and " then " in text and text.endswith(".")


def test_hand_written_rows_refill_marked_lines_only_and_keep_polish_and_negatives(script: ModuleType) -> None:
    cases = load_cases(CASES_FILES[0])
    rows = script.hand_written_rows((1,), 2, 3, refiller(script))
    as_written = {(c.text, tuple(c.spans)) for c in cases}
    refillable = [c for c in cases if c.spans and c.language != "pl"]
    written = [r for r in rows if (r[0], tuple(r[1])) in as_written]
    assert len(written) >= 2 * len(cases) and len(rows) == 2 * len(cases) + 3 * len(refillable)
    assert not any("Priya Raman" in text for text, spans in rows if (text, tuple(spans)) not in as_written)
    assert rows == script.hand_written_rows((1,), 2, 3, refiller(script))  # deterministic for one seed


def test_nature_templates_mark_their_places_in_every_language(script: ModuleType) -> None:
    """Round nine's templates: rivers, lakes, mountains, islands and regions ({G}, from scripts/place_features.py) in
    travel and housing talk; every slot is marked as a LOCATION holding a listed place."""
    import place_features

    langs = ("en", "de", "fr", "es", "it", "pt", "nl", "pl")
    per_lang = {lang: {"first": ["Ottilie"], "last": ["Quennell"], "place": ["Zwolle"],
                       "feature": place_features.NATURAL_FEATURES[lang] + place_features.REGIONS[lang]} for lang in langs}
    gen = script.Generator(per_lang, {"first": ["Ottilie"], "last": ["Quennell"], "place": ["Zwolle"]}, {"en": ["table"]},
                           random.Random(0))
    gen.polish = {"place": ["Gdynia"]}
    places = {p.lower() for p in gen.features} | {f.lower() for fs in script.polish_inflection.place_forms("Gdynia").values() for f in fs}
    for lang in langs:
        assert script.NATURE[lang]
        for template in script.NATURE[lang]:
            text, spans = gen.fill(template, lang)
            assert len(spans) == template.count("{") and "{" not in text, (template, text, spans)
            for start, end, label in spans:  # a tenth of the places are written in upper case
                assert label == "LOCATION" and text[start:end].lower() in places, (template, text[start:end])


def test_places_are_also_known_without_their_accents(script: ModuleType) -> None:
    assert [script.ascii_folded(p) for p in ("Málaga", "Jaén", "Kraków", "Łódź", "Zürich", "Gießen")] == [
        "Malaga", "Jaen", "Krakow", "Łodz", "Zurich", "Gießen"]  # ł and ß have no accent to drop
    gaz = Gazetteer.load(DATA_DIR / "gazetteer.json.gz")
    places, words = gaz.sets["place"], gaz.sets["word"]
    assert {"jaén", "jaen", "kraków", "krakow", "gdańsk", "gdansk", "zürich", "zurich", "genève", "geneve"} <= places
    # folded forms that are common words stay words only: Forêt, Suède; Málaga ("malaga" is a lemma of the lexicon)
    assert {"foret", "suede", "malaga"} <= words and not {"foret", "suede", "malaga"} & places
    assert {"rhein", "zugspitze", "algarve", "mazury", "lake district"} <= places  # scripts/place_features.py
