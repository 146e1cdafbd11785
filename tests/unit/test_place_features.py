"""The hand-written natural features and regions for the name tagger's gazetteer (scripts/place_features.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
LANGUAGES = {"en", "de", "fr", "es", "it", "pt", "nl", "pl"}
ARTICLES = {"the", "der", "die", "das", "le", "la", "les", "el", "los", "las", "il", "lo", "gli", "o", "a", "os", "as",
            "de", "het"}
# Names whose article belongs to the name and is written capitalised mid-sentence ("en La Palma").
ARTICLE_NAMES = {"La Palma", "La Gomera", "El Hierro", "La Mancha", "La Rioja"}
# Generic words that French, Spanish, Italian and Portuguese write in lower case before the name ("lac d'Annecy").
LOWER_CASE_STARTS = {"île", "îles", "lac", "mer", "golfe", "baie", "bassin", "gorges", "forêt", "cirque", "pointe",
                     "dune", "fleuve", "mont", "chutes", "fjord", "océan", "montagnes", "massif", "río", "rio", "mar",
                     "mare", "lago", "laghi", "isla", "isola", "isole", "golfo", "cascate", "oceano", "océano", "ilhas",
                     "deserto", "estrecho", "glaciar", "arcipelago", "ilha", "arquipélago"}
# Place names that are also everyday words of one of the languages or of English: never an entry on their own.
COMMON_WORDS = {"main", "inn", "oder", "po", "ems", "aller", "lot", "tarn", "reading", "nahe", "sieg", "regen", "mulde",
                "harz", "brocken", "jura", "manche", "somme", "cher", "allier", "landes", "nord", "marche", "orne",
                "segura", "corrientes", "misiones", "pampa", "cuyo", "sonora", "vulcano", "salina", "lido", "pico",
                "flores", "terceira", "estrela", "bonito", "vecht", "roer", "linge", "gooi", "lek", "warta", "bug",
                "san", "wieprz", "hel", "rysy", "forth", "tees", "wash", "mull", "dart", "champagne", "burgundy",
                "calvados", "berry", "brie", "jersey", "amazon", "java", "outback", "nil", "atlas", "franken", "beiras",
                "pacifico", "pacífico", "pacifique", "amazone", "roztocze", "chocó", "pantanal"}


@pytest.fixture(scope="module")
def places() -> ModuleType:
    sys.path.insert(0, str(SCRIPTS))
    import place_features

    return place_features


def _entries(places: ModuleType) -> list[tuple[str, str]]:
    return [(lang, name) for table in (places.NATURAL_FEATURES, places.REGIONS)
            for lang, names in table.items() for name in names]


def test_both_tables_cover_the_eight_languages_with_enough_names(places: ModuleType) -> None:
    assert set(places.NATURAL_FEATURES) == LANGUAGES and set(places.REGIONS) == LANGUAGES
    for lang in LANGUAGES:
        assert len(places.NATURAL_FEATURES[lang]) >= 150, lang
        assert len(places.REGIONS[lang]) >= 80, lang


def test_no_name_twice_within_a_language(places: ModuleType) -> None:
    for lang in LANGUAGES:
        names = places.NATURAL_FEATURES[lang] + places.REGIONS[lang]
        repeated = sorted({name for name in names if names.count(name) > 1})
        assert not repeated, (lang, repeated)


def test_entries_are_written_as_mid_sentence_names(places: ModuleType) -> None:
    bad = []
    for lang, name in _entries(places):
        words = name.split()
        first = words[0] if words else ""
        if (not words or name != " ".join(words) or len(words) > 5
                or not (first[0].isupper() or first in LOWER_CASE_STARTS or first.startswith(("d'", "l'", "'s-")))
                or (len(words) > 1 and first.lower() in ARTICLES and name not in ARTICLE_NAMES)):
            bad.append((lang, name))
    assert not bad


def test_no_single_word_entry_is_a_common_word(places: ModuleType) -> None:
    assert not [(lang, name) for lang, name in _entries(places) if name.lower() in COMMON_WORDS]


def test_the_brief_examples_are_there_in_each_language_form(places: ModuleType) -> None:
    rhine = {"en": "Rhine", "de": "Rhein", "fr": "Rhin", "es": "Rin", "it": "Reno", "nl": "Rijn", "pl": "Ren"}
    assert all(name in places.NATURAL_FEATURES[lang] for lang, name in rhine.items())
    bavaria = {"en": "Bavaria", "de": "Bayern", "fr": "Bavière", "es": "Baviera", "it": "Baviera", "nl": "Beieren",
               "pl": "Bawaria", "pt": "Baviera"}
    assert all(name in places.REGIONS[lang] for lang, name in bavaria.items())
    assert {"Skye", "Isle of Skye", "Lake District"} <= set(places.NATURAL_FEATURES["en"])
    assert {"Garda", "lago di Garda"} <= set(places.NATURAL_FEATURES["it"])
    assert {"Mazowsze", "Małopolska", "Podlasie", "Śląsk", "Kaszuby", "Mazury"} <= set(places.REGIONS["pl"])
