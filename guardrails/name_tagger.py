"""Offline PERSON / LOCATION tagger: capitalised-token candidates scored by a small linear model.

No network, no spaCy, no scikit-learn: a regex tokenizer, hashed features (word, shape, affixes,
context words and cues, gazetteer membership of first names, last names and places) and a
softmax over ``O / PERSON / LOCATION`` computed with numpy. Runs of tagged tokens (with name
particles such as "van der", "de la", "von" between them) become spans. Weights and
gazetteers ship under ``guardrails/data/pii_names`` and load on first use; the script that makes
them is ``scripts/train_pii_names.py``.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import itertools
import json
import operator
import re
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, cast

import numpy as np

from guardrails.runtime import shared_model

DATA_DIR = Path(__file__).resolve().parent / "data" / "pii_names"
LABELS = ("O", "PERSON", "LOCATION")
N_FEATURES = 1 << 18
STRONG = 0.8  # a word this sure may stand before a particle ("Joost van der Linden", "Rio de Janeiro")
NEIGHBOUR_SHARE = 0.5  # a word next to a name word joins it at this share of the threshold
GAZETTEER_KINDS = ("first", "last", "place", "word", "brand")  # word: frequent words; brand: companies and brands

# Words, joined over hyphens and apostrophes (O'Brien, Jean-Luc, You're); a possessive 's is split off.
_TOKEN = re.compile(r"[^\W\d_]+(?:(?:-|['’](?![sS]\b))[^\W\d_]+)*|\d+|\S")
PARTICLES = frozenset({
    "van", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "do", "du", "la", "le", "von", "zu",
    "y", "ten", "ter", "'t", "bin", "ibn", "al", "mc", "st",
})
# Forms of address: never part of a name span (a name after them is).
ADDRESS_FORMS = frozenset({
    "mr", "mrs", "ms", "miss", "dr", "prof", "sir", "herr", "frau", "m", "mme", "mlle", "monsieur", "madame",
    "mademoiselle", "sr", "sra", "srta", "señor", "señora", "don", "doña", "sig", "signor", "signora", "dott",
    "senhor", "senhora", "dhr", "mevr", "meneer", "mevrouw", "pan", "pani", "panie", "panią",
    # kinship words used as titles ("Tante Erna", "tia Neide", "D. Conceição"): the name after them is a person
    "d", "dona", "tante", "onkel", "oma", "opa", "tia", "tio", "tía", "tío", "zia", "zio", "nonna", "nonno",
    "mamie", "papi", "papy", "tata", "ciocia", "wujek", "babcia", "dziadek", "oom", "abuela", "abuelo", "avó", "avô",
})
# Prepositions of place and direction: a lone known place right after one is a place even if it is a first name
# too ("a flight to Paris", "wir fahren nach Florenz"); the Polish ones take the inflected forms.
# Not those that also take a person ("a", "para", "per", "da": "scrivo a Lucia", "da Marco").
PLACE_PREPOSITIONS = frozenset({
    "in", "to", "from", "near", "nach", "aus", "à", "en", "vers", "em", "naar", "uit", "w", "we", "z", "ze", "do", "pod",
    "nad", "desde", "hacia",
})
# A preposition of place and its article: "aus dem Allgäu", "près de Quimper", "an der Ruhr".
PLACE_PREPOSITION_PAIRS = frozenset({
    "aus dem", "aus der", "in der", "in den", "an der", "auf der", "auf den", "nach der", "près de",
    "aan de", "op de", "in de", "naar de", "uit de",
})
# Words after which a single word the gazetteer does not know as a first name is a place, not a person
# ("Fähre ab Dagebüll", "aux Baléares", "na Maia"): those above and some that rarely take a person.
UNKNOWN_PLACE_PREPOSITIONS = PLACE_PREPOSITIONS | frozenset({
    "ab", "op", "aux", "au", "na", "no", "nas", "nos", "im", "sul", "nel", "nella", "sulla", "sulle", "sui", "sugli",
    "nelle", "negli", "nei", "dalla", "dalle", "dagli", "dal", "près", "aan",
}) | PLACE_PREPOSITION_PAIRS
# Words after which a lower-case name is looked at (quickly typed chat: "sag jonas bitte", "chez inès"): greetings,
# "tell / ask", "with", "and", kinship words, "at someone's", "I am"; prepositions of place take lower-case places.
LOWER_CASE_CUES = PLACE_PREPOSITIONS | frozenset({
    "hi", "hey", "hello", "dear", "thanks", "hallo", "moin", "servus", "liebe", "lieber", "danke", "hola", "gracias", "ciao",
    "grazie", "salut", "coucou", "bonjour", "merci", "cher", "chère", "olá", "oi", "obrigado", "obrigada", "hoi", "dag",
    "cześć", "dzięki", "beste", "querida", "querido", "caro", "cara",
    "tell", "ask", "sag", "sage", "frag", "dis", "demande", "dile", "pregúntale", "avisa", "avvisa", "chiedi", "dì", "diz",
    "fala", "pergunta", "zeg", "vraag", "powiedz", "zapytaj", "text", "call", "ruf", "appelle", "llama", "chiama", "liga",
    "with", "mit", "avec", "con", "com", "met", "and", "und", "et", "y", "e", "en", "i", "&", "or", "oder", "ou", "o", "of",
    "chez", "bei", "bij", "u", "dal", "dalla", "da", "a", "para", "pra", "per", "für", "for", "pour", "voor", "dla",
    "am", "bin", "suis", "soy", "sono", "sou", "ben", "jestem", "is", "ist", "est", "es", "è", "é",
    "mom", "mum", "dad", "sister", "brother", "wife", "husband", "son", "daughter", "friend", "cousin", "uncle", "aunt",
    "schwester", "bruder", "frau", "mann", "sohn", "tochter", "freund", "freundin", "mama", "papa", "oma", "opa", "tante",
    "onkel", "sœur", "soeur", "frère", "mère", "père", "fils", "fille", "ami", "amie", "copain", "copine", "mamie",
    "hermana", "hermano", "madre", "padre", "hija", "hijo", "amigo", "amiga", "mamá", "papá", "tía", "tío", "tia", "tio",
    "sorella", "fratello", "moglie", "marito", "figlia", "figlio", "amico", "amica", "zia", "zio", "nonna", "nonno",
    "irmã", "irmão", "mãe", "pai", "filha", "filho", "esposa", "marido", "zus", "broer", "moeder", "vader", "dochter",
    "zoon", "vriend", "vriendin", "siostra", "brat", "żona", "mąż", "córka", "syn", "ciocia", "wujek", "babcia", "dziadek",
})
# Holidays and feasts of the eight languages with their inflected forms: never a name, whatever the model says
# ("menu de Noël", "przed Wigilią", "a Pasqua"); a span all of whose words are such words is dropped.
HOLIDAYS = frozenset({
    "christmas", "xmas", "easter", "thanksgiving", "halloween", "hanukkah", "chanukah", "diwali", "passover",
    "pentecost", "ramadan", "ramadán", "ramadã", "ramadanu", "ramadanie", "ramadanem", "eid", "aïd", "bayram",
    "weihnachten", "ostern", "pfingsten", "silvester", "heiligabend", "neujahr", "fasching", "fastnacht", "karneval",
    "noël", "noel", "pâques", "paques", "pentecôte", "toussaint", "réveillon", "chandeleur", "épiphanie", "mardi-gras",
    "navidad", "navidades", "nochebuena", "nochevieja", "pascua", "pascuas", "cuaresma", "carnaval", "epifanía",
    "natale", "pasqua", "pasquetta", "ferragosto", "capodanno", "befana", "carnevale", "epifania", "quaresima", "ognissanti",
    "natal", "páscoa", "pascoa", "quaresma", "pentecostes",
    "kerstmis", "kerst", "pasen", "pinksteren", "sinterklaas", "koningsdag", "oudejaarsavond", "oudjaarsavond",
    "wigilia", "wigilii", "wigilię", "wigilią", "wielkanoc", "wielkanocy", "wielkanocą", "sylwester", "sylwestra",
    "sylwestrze", "sylwestrem", "andrzejki", "andrzejek", "andrzejkach", "zaduszki", "zaduszek", "mikołajki", "mikołajek",
    "narodzenie", "narodzenia", "narodzeniu", "narodzeniem", "boże", "bożego",
})
# Words for streets, squares, airports, churches and the like: a name right after one (over "de", "di", "św." ...)
# names the street or the building, no person or place of its own ("rue Victor-Hugo", "ulica Reymonta",
# "chiesa di San Zeno"); so does a name right before "Museum", "Huis", "Ziekenhuis" ("Van Gogh Museum").
BUILDING_WORDS_BEFORE = frozenset({
    "rue", "avenue", "boulevard", "bd", "allée", "impasse", "place", "aéroport", "église", "basilique", "cathédrale",
    "hôpital", "musée", "lycée", "collège", "école", "gare",
    "calle", "avenida", "av", "plaza", "paseo", "aeropuerto", "iglesia", "parroquia", "basílica", "catedral", "hospital",
    "museo", "colegio", "instituto", "estación",
    "viale", "piazza", "piazzale", "corso", "vicolo", "aeroporto", "chiesa", "duomo", "basilica", "cattedrale",
    "ospedale", "liceo", "stazione",
    "rua", "travessa", "praça", "largo", "igreja", "paróquia", "capela", "museu", "escola", "colégio",
    "ulica", "ulicy", "ulicę", "ulicą", "ul", "aleja", "alei", "aleje", "plac", "placu", "rondo", "ronda", "lotnisko",
    "lotniska", "lotnisku", "kościół", "kościele", "kościoła", "parafia", "parafii", "szpital", "szpitalu", "szpitala",
    "muzeum", "szkoła", "szkole", "szkoły", "dworzec", "dworcu", "dworca", "stacja", "stacji",
    "flughafen", "kirche", "krankenhaus", "klinikum", "gymnasium", "bahnhof",
    "straat", "plein", "laan", "kerk", "ziekenhuis", "luchthaven", "vliegveld", "station",
    "airport", "church", "cathedral",
})
BUILDING_WORDS_AFTER = frozenset({
    "museum", "huis", "ziekenhuis", "hospital", "airport", "street", "avenue", "road", "square", "church", "cathedral",
    "school", "college", "university", "station", "straat", "plein", "laan", "kerk", "kirche", "schule",
    "stadion", "stadium", "bridge", "park",
})
_BUILDING_LINKS = frozenset({".", "de", "di", "da", "do", "del", "della", "des", "du", "of", "the", "św", "sw", "san", "santa",
                             "santo", "são", "saint", "sainte", "sankt", "st", "sint", "dos", "das", "la"})
# Words after which a name (over ":" or "de") is a person: naming cues of forms and bookings, roles in lists.
NAMING_WORDS = frozenset({
    "name", "nome", "cognome", "nombre", "apellido", "apellidos", "nom", "naam", "namen", "nazwisko", "imię", "titular",
    "guide", "guia", "guía", "guida", "melder", "contact", "contacto", "contatto", "kontakt", "contactpersoon",
    "inscritos", "deelnemers", "participants", "partecipanti", "teilnehmer", "uczestnicy", "participantes", "iscritti",
})
# What stands between two members of a list of people ("Hanna Lindqvist, Oriane Zubel").
_LIST_GAPS = frozenset({",", ", ", " e ", " et ", " y ", " en ", " and ", " und ", " i ", " & ", " ou ", " o ", " or ", " oder ", " of "})
# Abbreviations whose full stop does not end a sentence (titles before a name).
TITLES = frozenset({"mr", "mrs", "ms", "dr", "prof", "st", "sr", "sra", "srta", "jr", "mme", "mlle", "hr", "fr", "sig", "dott", "ing", "mgr", "dhr", "mevr"})
# Function words that Title Case capitalises inside headings and titles of works ("Musicians Of The 70s").
TITLE_CASE_WORDS = frozenset({
    "of", "the", "and", "to", "for", "in", "on", "with", "a", "an", "at", "by", "from", "is", "are", "or", "but", "not",
    "und", "der", "die", "das", "mit", "für", "et", "les", "des", "du", "y", "del", "los", "las", "e", "della", "dei",
    "os", "do", "da", "het", "en", "een", "voor", "w", "z",
})
_APOSTROPHES = frozenset({"'", "’"})
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
_SENTENCE_END = frozenset({".", "!", "?", ":", ";", "\n", '"', "“", "«", "(", "-", "–", "*", "#", ">"})


class Token(NamedTuple):  # a tuple: a text has hundreds, made four times faster than a frozen dataclass
    text: str
    start: int
    end: int
    new_line: bool = False  # a line break comes before it


class TaggedSpan(NamedTuple):  # a tuple: made for every name found, faster than a frozen dataclass
    start: int
    end: int
    label: str
    score: float


_make_token = functools.partial(tuple.__new__, Token)
_FIRST = operator.itemgetter(0)  # a token's text; a word's first letter
_MATCH_TEXT, _MATCH_START, _MATCH_END = re.Match.group, re.Match.start, re.Match.end


def tokenize(text: str) -> list[Token]:
    matches = list(_TOKEN.finditer(text))
    starts: list[int] = list(map(_MATCH_START, matches))
    n = len(matches)
    new_line = [False] * n
    find = text.find
    p = find("\n")
    while p >= 0:
        k = bisect.bisect_left(starts, p)  # the token after the line break
        if k < n:
            new_line[k] = True
        p = find("\n", p + 1)
    return list(map(_make_token, zip(map(_MATCH_TEXT, matches), starts, map(_MATCH_END, matches), new_line)))


def is_capitalised(word: str) -> bool:
    return word[:1].isupper() and word[:1].isalpha()


_SHAPES: dict[str, str] = {}  # shape() per word, for shapes_of()


def shapes_of(words: list[str]) -> list[str]:
    """``shape`` of each word (a dictionary of words seen, emptied when it grows large)."""
    if len(_SHAPES) > 65536:
        _SHAPES.clear()
    out: list[str | None] = list(map(_SHAPES.get, words))
    if None in out:
        for k, w in enumerate(words):
            if out[k] is None:
                out[k] = _SHAPES[w] = shape(w)
    return out  # type: ignore[return-value]


def shape(word: str) -> str:
    """Letter classes with repeats collapsed: Xx, X, x, Xx-Xx, d, ."""
    out: list[str] = []
    for c in word:
        k = "X" if c.isupper() else "x" if c.isalpha() else "d" if c.isdigit() else c
        if not out or out[-1] != k:
            out.append(k)
    return "".join(out)[:6]


class Gazetteer:
    """Lower-cased tokens by kind: first names, last names, places (cities, regions, countries; also whole names of
    several words, "nova scotia"), common words, brands."""

    def __init__(self, sets: dict[str, frozenset[str]], place_parts: frozenset[str] = frozenset(),
                 name_words: frozenset[str] = frozenset()) -> None:
        self.sets = {k: sets.get(k, frozenset()) for k in GAZETTEER_KINDS}
        self.place_parts = place_parts  # words of place names that are no place on their own ("antonio", "santa")
        self.name_words = name_words  # names that are common words too ("grace", "mark", "rose"): never a lower-case name
        self._flags: dict[str, str] = {}  # flags() per word
        self.shaped: tuple[dict[str, bool], dict[str, bool]] = ({}, {})  # _shaped_like_a_name per word, when not shouting / shouting
        # every word lower_case_name accepts, for lower_case_names
        self._lower_case_names = frozenset(w for w in self.sets["first"] | self.sets["last"] | self.sets["place"] if self.lower_case_name(w))

    @classmethod
    def load(cls, path: Path) -> "Gazetteer":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            raw = json.load(fh)
        return cls({k: frozenset(raw.get(k, ())) for k in GAZETTEER_KINDS}, frozenset(raw.get("place_parts", ())),
                   frozenset(raw.get("name_words", ())))

    def lower_case_name(self, low: str) -> bool:
        """A lower-case word that may be a name: a known first name, surname or place that is no common word."""
        sets = self.sets
        return (len(low) > 3 and low not in sets["word"] and low not in self.name_words
                and (low in sets["first"] or low in sets["last"] or low in sets["place"]))

    def lower_case_names(self, words: frozenset[str]) -> set[str]:
        """The ``words`` that ``lower_case_name`` accepts (one set intersection: the accepted words are listed once)."""
        return set(words & self._lower_case_names)

    def flags(self, word: str) -> str:
        """The first letters of the kinds that know ``word`` ("fl": a first name and a surname), else "-"."""
        out = self._flags.get(word)
        if out is None:
            if len(self._flags) >= 65536:
                self._flags.clear()
            low = word.lower()
            out = self._flags[word] = "".join(k[0] for k in GAZETTEER_KINDS if low in self.sets[k]) or "-"
        return out


def candidates(tokens: list[Token]) -> list[bool]:
    """Tokens that may be part of a name: capitalised words, and particles between two of them."""
    words = [t.text for t in tokens]
    return _candidates(words, [w.lower() for w in words])


def _candidates(words: list[str], lower: list[str]) -> list[bool]:
    # is_capitalised and longer than one letter; tokens are never empty
    cap: list[bool] = list(map(str.isupper, map(_FIRST, words)))
    for k in itertools.compress(range(len(cap)), cap):
        w = words[k]
        if len(w) == 1 or not w[0].isalpha():
            cap[k] = False
    out = list(cap)
    if PARTICLES.isdisjoint(lower):
        return out
    n = len(words)
    for i in [i for i, low in enumerate(lower) if low in PARTICLES]:
        if not cap[i]:
            j = i + 1
            while j < n and lower[j] in PARTICLES and not cap[j]:
                j += 1
            if i > 0 and cap[i - 1] and j < n and cap[j]:
                for k in range(i, j):
                    out[k] = True
    return out


@dataclass(frozen=True)
class Doc:
    """A tokenized text and what features need to know about all of it (lists padded by two)."""

    tokens: list[Token]
    candidates: list[bool]
    flags: list[str]  # gazetteer flags per token ("-" for non-candidates), padded with "_"
    lower: list[str]  # lower-cased tokens, padded with "<s>" / "</s>"
    shapes: list[str]  # shape() of each token, padded with "_"
    lower_words: frozenset[str]  # words written in lower case somewhere in the text
    shouting: bool  # most words are upper case
    title_case: list[bool]  # the token's line capitalises a function word after its start (a heading, a title)

    @classmethod
    def of(cls, text: str, gaz: Gazetteer) -> "Doc":
        tokens = tokenize(text)
        texts: list[str] = list(map(_FIRST, tokens))
        lower = list(map(str.lower, texts))
        cand = _candidates(texts, lower)
        if "<" in text:
            for m in _PLACEHOLDER.finditer(text):  # <PERSON_1>, <EMAIL_ADDRESS>: the engine's placeholders
                for k, t in enumerate(tokens):
                    if m.start() <= t.start < m.end():
                        cand[k] = False
        words = [w for w in texts if w[0].isalpha()]  # tokens are never empty
        upper = len([w for w in filter(str.isupper, words) if len(w) > 1])
        shouting = upper * 2 > len(words) >= 3
        code = _code_ranges(text)
        _drop_non_names(text, tokens, texts, cand, gaz, shouting, code)
        lower_words = frozenset(filter(str.islower, words))
        if not shouting:
            _lower_case_candidates(text, tokens, texts, cand, gaz, code, lower_words)
        known, flags_of = gaz._flags, gaz.flags
        flags = ["-"] * len(texts)
        for k in itertools.compress(range(len(cand)), cand):
            flags[k] = known.get(texts[k]) or flags_of(texts[k])
        return cls(
            tokens, cand, ["_", "_", *flags, "_", "_"], ["<s>", "<s>", *lower, "</s>", "</s>"],
            ["_", "_", *shapes_of(texts), "_", "_"],
            lower_words, shouting, _title_case_lines(tokens, texts, lower),
        )


_SIGN_OFF_BEFORE = frozenset({",", "-", "–", "—", "x", "xx", "xoxo", "bss", "bjs", "bisous", "besos", "baci", "beijos", "lg", "vg"})
_END = frozenset({".", "!", "?", ")", ":", ";"})


def _lower_case_candidates(text: str, tokens: list[Token], texts: list[str], cand: list[bool], gaz: Gazetteer,
                           code: list[tuple[int, int]], lower_words: frozenset[str]) -> None:
    """Lower-case known names after a cue word ("sag jonas", "à montreuil"), next to another such name
    ("jonas müller"), or signing off at the end ("..., nayeli"): chat typed without capitals (``texts``: the
    tokens' texts; ``lower_words``: the lower-case words among them)."""
    names = gaz.lower_case_names(lower_words)
    if not names:
        return  # both rules below need a lower-case name
    n = len(tokens)
    for k in [k for k, w in enumerate(texts) if w in names and not cand[k]]:
        t = tokens[k]
        w = t.text
        if code and any(s <= t.start < e for s, e in code):
            continue
        if not (w.isascii() or _latin_letters(w)):
            continue
        prev = tokens[k - 1].text.lower() if k else ""
        last = k + 1 == n or tokens[k + 1].text in _END or tokens[k + 1].new_line
        if (prev in LOWER_CASE_CUES or (k and cand[k - 1] and tokens[k - 1].text.islower() and _adjacent(text, tokens[k - 1], t))
                or (last and (prev in _SIGN_OFF_BEFORE or t.new_line))):
            cand[k] = True
    # the second word of a lower-case name ("jonas müller") after a first one found above
    for k in range(1, n):
        if not cand[k - 1]:
            continue
        w = tokens[k].text
        if (not cand[k] and tokens[k - 1].text.islower() and w in names  # a lower-case name (w.islower() and gaz.lower_case_name(w))
                and _adjacent(text, tokens[k - 1], tokens[k])):
            cand[k] = True


def _title_case_lines(tokens: list[Token], texts: list[str], lower: list[str]) -> list[bool]:
    """Per token: does its line hold a capitalised function word that does not start a sentence? (``texts``,
    ``lower``: the tokens' texts, as they are and lower-cased)"""
    n = len(tokens)
    out = [False] * n
    # a word that does not start its line: not the first token, nor one after a line break
    hits = [k for k in range(1, n) if lower[k] in TITLE_CASE_WORDS and texts[k][0].isupper()
            and texts[k - 1] not in _SENTENCE_END and not tokens[k].new_line]
    if hits:
        starts = [0, *(i for i in range(1, n) if tokens[i].new_line), n]  # first token of each line, and the end
        for k in hits:
            line = bisect.bisect_right(starts, k) - 1
            out[starts[line] : starts[line + 1]] = [True] * (starts[line + 1] - starts[line])
    return out


_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]+`", re.DOTALL)
_CAMEL_NAME = re.compile(r"(?:Mc|Mac|De|Di|Da|Du|La|Le|Van|Von)[A-Z][^\W\d_A-Z]+")
# English contractions (You're, I'm, Don't, We'll, They've, She'd): never a name.
_CONTRACTION = re.compile(r"['’](?:re|m|ve|ll|d|t)$|n['’]t$", re.IGNORECASE)
_CODE_BEFORE = frozenset("_.=(/\\[{<@#$:")
_CODE_AFTER = frozenset("_(=[{/\\@")


def _code_ranges(text: str) -> list[tuple[int, int]]:
    """Markdown code (fenced blocks and `inline`): no names are looked for there."""
    return [m.span() for m in _CODE.finditer(text)] if "`" in text else []


def _drop_non_names(text: str, tokens: list[Token], texts: list[str], cand: list[bool], gaz: Gazetteer, shouting: bool,
                    code: list[tuple[int, int]]) -> None:
    """Unmark the capitalised candidates that are identifiers, constants or code, before any scoring
    (``texts``: the tokens' texts; ``code``: ``_code_ranges``).

    Kept: Title-case words and their hyphen / apostrophe compounds (Jean-Luc, O'Brien, McDonald).
    Dropped: English contractions (You're, Don't), camelCase (TableCell), parts in other cases (PHP-FPM, US-standard), words glued to
    code punctuation (os.path, foo_bar, Main(), key=Value), words inside Markdown code, and upper-case
    words (ANALOG, KEY) unless the whole text shouts or they are a known name and no common word.
    """
    shaped = gaz.shaped[shouting]
    if len(shaped) > 65536:
        shaped.clear()
    for k in itertools.compress(range(len(cand)), cand):
        w = texts[k]
        if not w[0].isupper():
            continue  # a particle
        t = tokens[k]
        if (code and any(s <= t.start < e for s, e in code)) or not _plain_around(text, t):
            cand[k] = False
            continue
        ok = shaped.get(w)
        if ok is None:
            ok = shaped[w] = _shaped_like_a_name(w, gaz, shouting)
        if not ok:
            cand[k] = False


def _plain_around(text: str, t: Token) -> bool:
    """No code punctuation glued to token ``t`` (os.path, foo_bar, Main(), key=Value)."""
    before = text[t.start - 1] if t.start else " "
    after = text[t.end : t.end + 2]
    if before in _CODE_BEFORE and not (before == "." and t.start > 1 and text[t.start - 2] in " \n") and before != ":":
        return False
    return not (after[:1] in _CODE_AFTER or (after[:1] == "." and after[1:2].isalnum()))


def _shaped_like_a_name(w: str, gaz: Gazetteer, shouting: bool) -> bool:
    """The word-only part of _drop_non_names: whether ``w`` is shaped like a name (it depends on the word, the
    gazetteer and ``shouting``)."""
    if not (w.isascii() or _latin_letters(w)):
        return False
    if _CONTRACTION.search(w):
        return False
    if w.isupper():
        low = w.lower()
        return shouting or (low not in gaz.sets["word"] and any(low in gaz.sets[k] for k in ("first", "last", "place")))
    for part in re.split(r"[-'’]", w):
        if len(part) <= 2 and part.islower():
            continue  # d'Artagnan, l'Aquila
        if not (part[:1].isupper() and (part[1:].islower() or not part[1:] or _CAMEL_NAME.fullmatch(part))):
            return False
    return True


def _latin_letters(word: str) -> bool:
    """Only Latin letters (Żółć, Sørbye): the tagger knows the Latin-script languages only, so Cyrillic,
    Greek or other scripts are not looked at (its weights would guess)."""
    return all(not c.isalpha() or c.isascii() or "LATIN" in unicodedata.name(c, "") for c in word)


def _sentence_start(tokens: list[Token], i: int, p1: str, p2: str) -> bool:
    """Token ``i`` starts a sentence or a line (``p1``, ``p2``: the two lower-cased tokens before it, padded)."""
    return i == 0 or (p1 in _SENTENCE_END and not (p1 == "." and (p2 in TITLES or _is_initial(tokens[i - 2])))) or tokens[i].new_line


def features(doc: Doc, i: int) -> list[str]:
    """Feature strings of token ``i`` of ``doc`` (those of every group of FEATURE_GROUPS, in one list)."""
    return [f for group in FEATURE_GROUPS for f in group(doc, i)]


def _own_features(doc: Doc, i: int) -> list[str]:
    """The word itself, with its sentence-start, lower-case, title-case and possessive marks."""
    w = doc.tokens[i].text
    k = i + 2  # index into the padded lists
    low, p1, p2, n1, n2 = doc.lower[k], doc.lower[k - 1], doc.lower[k - 2], doc.lower[k + 1], doc.lower[k + 2]
    sh, g = doc.shapes[k], doc.flags[k]
    start = _sentence_start(doc.tokens, i, p1, p2)
    lo = low in doc.lower_words
    poss = p1 == "s" and p2 in _APOSTROPHES  # the word after a possessive ("Goldberg's Cautionary")
    return [
        "b", f"w={low}", f"sh={sh}", f"s3={low[-3:]}", f"s2={low[-2:]}", f"p3={low[:3]}", f"g={g}",
        f"st={start}", f"st|g={start}|{g}", f"len={min(len(w), 12)}", f"up={w.isupper()}", f"st|w={start}|{low}",
        f"lo={lo}", f"lo|st={lo}|{start}", f"sc={doc.shouting}|{sh}|{g}",
        f"tc={doc.title_case[i]}|{g}", f"tc|st={doc.title_case[i]}|{start}",
        f"poss={poss}|{g}", f"possn={n1 in _APOSTROPHES and n2 == 's'}|{g}",
    ]


def _left_features(doc: Doc, i: int) -> list[str]:
    """The two words before the word, with its own flags and shape."""
    k = i + 2
    p1, p2, p1sh, p1g = doc.lower[k - 1], doc.lower[k - 2], doc.shapes[k - 1], doc.flags[k - 1]
    sh, g = doc.shapes[k], doc.flags[k]
    return [f"p1={p1}", f"p2={p2}", f"p2p1={p2} {p1}", f"p1sh={p1sh}", f"p1g={p1g}", f"p1g|g={p1g}|{g}", f"p1|g={p1}|{g}",
            f"p1|sh={p1}|{sh}"]


def _right_features(doc: Doc, i: int) -> list[str]:
    """The two words after the word, with its own flags, shape and sentence start, and the shape before it."""
    k = i + 2
    n1, n2, n1sh, n1g = doc.lower[k + 1], doc.lower[k + 2], doc.shapes[k + 1], doc.flags[k + 1]
    sh, g, p1sh = doc.shapes[k], doc.flags[k], doc.shapes[k - 1]
    start = _sentence_start(doc.tokens, i, doc.lower[k - 1], doc.lower[k - 2])
    return [f"n1={n1}", f"n2={n2}", f"n1n2={n1} {n2}", f"n1sh={n1sh}", f"n1g={n1g}", f"g|n1g={g}|{n1g}", f"g|n1={g}|{n1}",
            f"sh|n1={sh}|{n1}", f"shs={p1sh}|{sh}|{n1sh}", f"g|st|n1sh={g}|{start}|{n1sh}"]


# A token's features by what they depend on. The model is linear, so a group's summed weights depend on what its
# function reads alone: GroupedScores.scores builds a key of exactly that per group.
FEATURE_GROUPS: tuple[Callable[[Doc, int], list[str]], ...] = (_own_features, _left_features, _right_features)


_hash_cache: dict[str, int] = {}


def hashed(feats: Iterable[str]) -> list[int]:
    """Column of each feature string (CRC-32, stable across processes; cached)."""
    cache = _hash_cache
    if len(cache) > 500_000:
        cache.clear()
    out = []
    for f in feats:
        h = cache.get(f)
        if h is None:
            h = cache[f] = zlib.crc32(f.encode("utf-8")) & (N_FEATURES - 1)
        out.append(h)
    return out


class GroupedScores:
    """Label scores of candidate tokens (before the softmax) as the sum of three cached group sums per token.

    A group's sum is computed once per key from its feature strings (FEATURE_GROUPS, ``hashed``) and the
    weights, so a token seen before costs three dictionary look-ups instead of 37 feature strings and hashes, and
    a token with one new key (a new number next to a name) sums that group's weights only.
    Each cache is emptied when it reaches ``limit`` keys.
    """

    def __init__(self, weights: np.ndarray, bias: np.ndarray, limit: int = 16384) -> None:
        self.weights = weights
        # the weights row by row as Python floats without copying them (one label per slot, three per row)
        data: Any = np.ascontiguousarray(weights).data
        self.flat = data.cast("B").cast(weights.dtype.char)
        self.bias = bias.astype(np.float64)
        self.limit = limit
        self.caches: tuple[dict[tuple[object, ...], tuple[float, float, float]], ...] = ({}, {}, {})

    def scores(self, doc: Doc, rows: list[int]) -> np.ndarray:
        """(len(rows), len(LABELS)) float64: bias plus the summed weights of each token's features."""
        tokens, lower, shapes, flags, title_case = doc.tokens, doc.lower, doc.shapes, doc.flags, doc.title_case
        lower_words, shouting = doc.lower_words, doc.shouting
        own_cache, left_cache, right_cache = self.caches
        out: list[float] = []  # flat: numpy reads a flat list faster than one of tuples
        for i in rows:
            k = i + 2
            low, p1, p2, n1, n2 = lower[k], lower[k - 1], lower[k - 2], lower[k + 1], lower[k + 2]
            g, sh, p1sh = flags[k], shapes[k], shapes[k - 1]
            start = _sentence_start(tokens, i, p1, p2)
            own_key = (tokens[i].text, g, start, low in lower_words, shouting, title_case[i],
                       p1 == "s" and p2 in _APOSTROPHES, n1 in _APOSTROPHES and n2 == "s")
            left_key = (p1, p2, p1sh, flags[k - 1], g, sh)
            right_key = (n1, n2, shapes[k + 1], flags[k + 1], g, sh, start, p1sh)
            a = own_cache.get(own_key)
            b = left_cache.get(left_key)
            c = right_cache.get(right_key)
            if a is None or b is None or c is None:
                a, b, c = self._fill(doc, i, (own_key, left_key, right_key), (a, b, c))
            out.extend((a[0] + b[0] + c[0], a[1] + b[1] + c[1], a[2] + b[2] + c[2]))
        return np.fromiter(out, dtype=np.float64, count=len(out)).reshape(len(rows), len(LABELS)) + self.bias

    def _fill(self, doc: Doc, i: int, keys: tuple[tuple[object, ...], ...],
              found: tuple[tuple[float, float, float] | None, ...]) -> list[tuple[float, float, float]]:
        """The group sums of token ``i``: those ``found`` in the caches, and the missing ones summed from the weights
        of their feature strings and cached under ``keys``."""
        flat = self.flat
        sums = list(found)
        for g, value in enumerate(found):
            if value is not None:
                continue
            a = b = c = 0.0
            for column in hashed(FEATURE_GROUPS[g](doc, i)):
                row = 3 * column
                a += flat[row]
                b += flat[row + 1]
                c += flat[row + 2]
            cache = self.caches[g]
            if len(cache) >= self.limit:
                cache.clear()
            cache[keys[g]] = sums[g] = (a, b, c)
        return cast("list[tuple[float, float, float]]", sums)  # every missing sum is filled


class NameTagger:
    """Tags PERSON and LOCATION spans in text of any of the trained languages."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, gazetteer: Gazetteer, threshold: float = 0.5) -> None:
        self.weights = weights  # (N_FEATURES, len(LABELS)) float32
        self.bias = bias
        self.gazetteer = gazetteer
        self.threshold = threshold
        self.grouped = GroupedScores(weights, bias)

    @classmethod
    def load(cls, folder: Path = DATA_DIR) -> "NameTagger":
        with np.load(folder / "model.npz", allow_pickle=False) as data:
            weights = data["weights"].astype(np.float32)
            bias = data["bias"].astype(np.float32)
            threshold = float(data["threshold"])
        return cls(weights, bias, Gazetteer.load(folder / "gazetteer.json.gz"), threshold)

    def probabilities(self, doc: Doc, rows: list[int]) -> np.ndarray:
        """Softmax over LABELS for the tokens at ``rows`` (the grouped sums of GroupedScores)."""
        scores = self.grouped.scores(doc, rows)
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def reference_probabilities(self, doc: Doc, rows: list[int]) -> np.ndarray:
        """``probabilities`` straight from the feature strings: features -> hashed -> weights (what training uses)."""
        columns: list[int] = []
        offsets: list[int] = []
        for i in rows:
            offsets.append(len(columns))
            columns.extend(hashed(features(doc, i)))
        scores = np.add.reduceat(self.weights[columns], offsets, axis=0)
        scores += self.bias
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def tag(self, text: str, *, reference: bool = False) -> list[TaggedSpan]:
        """PERSON and LOCATION spans of ``text``; ``reference``: scored by ``reference_probabilities`` (the same
        spans, slower: for checking the fast path)."""
        doc = Doc.of(text, self.gazetteer)
        rows = [i for i, c in enumerate(doc.candidates) if c]
        if not rows:
            return []
        probs = (self.reference_probabilities if reference else self.probabilities)(doc, rows)
        gaz = self.gazetteer
        return decode(text, doc.tokens, rows, probs, self.threshold, doc.flags[2:-2], gaz.sets["place"], gaz.place_parts)


def decode(text: str, tokens: list[Token], rows: list[int], probs: np.ndarray, threshold: float,
           flags: list[str] | None = None, places: frozenset[str] = frozenset(),
           place_parts: frozenset[str] = frozenset()) -> list[TaggedSpan]:
    """Join adjacent name tokens (particles inside allowed) into spans; ``flags``: gazetteer flags per token,
    ``places``: lower-cased place names (several words joined by a space), ``place_parts``: words that are
    a place only inside a longer name.

    A token is a name token when ``1 - P(O)`` reaches ``threshold``; a span takes the label its
    tokens favour together (so "Graham Whitlock" stays one PERSON even if "Graham" alone looks like
    a town) and scores the mean ``1 - P(O)`` of its words. A span right after a form of address
    ("Mrs. Lennox"), or of several words that start with a first name that is no place ("Marta
    Palermo"), is a PERSON whatever the gazetteer of places says, unless its words together are the
    name of a place ("Nova Scotia"), or one word that is a known place right after a preposition of
    place ("a flight to Paris"; not a word that is a place only inside a longer name: "to Antonio"), and
    no form of address stands before it.
    """
    probs_of: list[list[float]] = probs.tolist()  # Python floats: faster to index and add than numpy scalars
    particles = {i for i in rows if _is_particle(tokens[i])}  # only candidates can be name tokens
    entity_p: dict[int, list[float]] = {}
    particle_threshold = min(threshold, 0.3)
    for r, i in enumerate(rows):
        if 1.0 - probs_of[r][0] >= (particle_threshold if i in particles else threshold):
            entity_p[i] = probs_of[r]
    # A capitalised word right next to a name word joins it at a lower score ("Teresa Kreutzmann": a surname
    # the gazetteer lacks after a known first name); it never starts a span on its own.
    core = entity_p.keys() - particles
    after_initial = {_after_initial(text, tokens, i) for i in core}  # "Hans P. Brinkmann"
    for r, i in enumerate(rows):
        if i in entity_p or i in particles or 1.0 - probs_of[r][0] < threshold * NEIGHBOUR_SHARE:
            continue
        if i in after_initial or (i - 1 in core and _adjacent(text, tokens[i - 1], tokens[i])) or (
                i + 1 in core and _adjacent(text, tokens[i], tokens[i + 1])):
            entity_p[i] = probs_of[r]
    spans: list[TaggedSpan] = []
    bounds: list[tuple[int, int]] = []  # the first and last token of each span
    i, n = 0, len(tokens)
    order = sorted(entity_p)
    while i < n:
        if i not in entity_p or i in particles:
            later = bisect.bisect_right(order, i)  # on to the next name token
            i = order[later] if later < len(order) else n
            continue
        j = i
        while j + 1 < n:
            nxt = _after_initial(text, tokens, j)  # "Ruth R Montez", "Ken N. Fukuda": middle initials join
            if nxt in entity_p:
                j = nxt
            elif (j + 1) in entity_p and _adjacent(text, tokens[j], tokens[j + 1]) and not _list_and(tokens, i, j, flags):
                j += 1
            else:
                break
        while j > i and j in particles:
            j -= 1
        # a weak word before a particle is no part of the name ("Viajo de Valladolid": a verb starting the sentence)
        k = i + 1
        while k < j and k in particles:
            k += 1
        if k > i + 1 and k <= j and 1.0 - entity_p[i][0] < STRONG:
            i = k
        while i < j and (tokens[i].text.lower() in ADDRESS_FORMS or _common_word(i, flags)):
            i += 1  # "Frau Weber", "Trainer Kowalczyk": the title or noun before a name is no part of it
        if tokens[i].text.lower() in ADDRESS_FORMS:
            i = j + 1
            continue
        if i == j:  # one word (a name word or a neighbour; never a particle): its own probabilities
            run = [entity_p[i]]
            total = run[0]
        else:
            run = [entity_p[t] for t in range(i, j + 1) if t in entity_p and t not in particles]
            total = [sum(column) for column in zip(*run)]
            run = [entity_p[t] for t in range(i, j + 1) if t in core] or run  # the words that joined as neighbours do not score
        label = LABELS[1] if total[1] >= total[2] or _person_cue(tokens, i, j, flags) else LABELS[2]
        if label == LABELS[1] and not _address_before(tokens, i) and (
                j > i and " ".join(t.text.lower() for t in tokens[i : j + 1]) in places
                or j == i and flags is not None and "p" in flags[i] and tokens[i].text.lower() not in place_parts
                and _preposition_before(text, tokens, i) in PLACE_PREPOSITIONS):
            label = LABELS[2]
        elif (label == LABELS[1] and j == i and flags is not None and not {"f", "w"} & set(flags[i]) and not _address_before(tokens, i)
              and _preposition_before(text, tokens, i) in UNKNOWN_PLACE_PREPOSITIONS):
            label = LABELS[2]  # one word no first name after a preposition of place: "Fähre ab Dagebüll"
        elif label == LABELS[2] and _naming_word_before(tokens, i):
            label = LABELS[1]  # "cognome Rossi", "guia: João Silva", "em nome de Tavares"
        if _holiday(tokens, i, j, flags, text) or _building_name(text, tokens, i, j, flags):
            i = j + 1
            continue
        if label == LABELS[1] and flags is not None and _sure_first_name(i, entity_p, flags):
            # a surname that is a brand too after a sure first name ("Henry Ford") does not score: its brand reading
            # ("Ford Transit") is what lowers it, and the first name before it rules that reading out
            run = [entity_p[t] for t in range(i, j + 1) if t in core and (t == i or not {"l", "b"} <= set(flags[t]))] or run
        spans.append(TaggedSpan(tokens[i].start, tokens[j].end, label, 1.0 - sum(float(p[0]) for p in run) / len(run)))
        bounds.append((i, j))
        i = j + 1
    return _people_in_lists(text, spans, bounds, flags)


def _preposition_before(text: str, tokens: list[Token], i: int) -> str:
    """The lower-cased word right before token ``i``, or the preposition and its article ("aus dem Allgäu",
    "près de Quimper"), else ""."""
    if i == 0 or not _adjacent(text, tokens[i - 1], tokens[i]):
        return ""
    prev = tokens[i - 1].text.lower()
    pair = f"{tokens[i - 2].text.lower()} {prev}" if i > 1 and _adjacent(text, tokens[i - 2], tokens[i - 1]) else ""
    return pair if pair in PLACE_PREPOSITION_PAIRS else prev


def _holiday(tokens: list[Token], i: int, j: int, flags: list[str] | None, text: str) -> bool:
    """All words of tokens ``i..j`` are holidays ("Noël", "Boże Narodzenie"); not after a form of address, nor a
    place of the same name after a preposition of place ("em Natal")."""
    if tokens[i].text.lower() not in HOLIDAYS:  # a span's first word is never a particle: most spans end here
        return False
    if any(tokens[t].text.lower() not in HOLIDAYS for t in range(i, j + 1) if not _is_particle(tokens[t])) or _address_before(tokens, i):  # "Sr. Natal": a surname
        return False
    return not (flags is not None and "p" in flags[i] and _preposition_before(text, tokens, i) in PLACE_PREPOSITIONS)


def _building_name(text: str, tokens: list[Token], i: int, j: int, flags: list[str] | None) -> bool:
    """Tokens ``i..j`` name a street, square or building: right after a word for one ("via" only after "in",
    "della", ...: "in via Mazzini"; English "via London" is a route) or right before "Museum", "Huis", ...
    A known place after "of" words is where the building is ("aeroporto de Faro", "hospital de Móstoles")."""
    k = i - 1
    while k >= 0 and i - k <= 3 and tokens[k].text.lower() in _BUILDING_LINKS and tokens[k].text.lower() != "via":
        k -= 1
    if k >= 0 and i - k <= 3:
        word = tokens[k].text.lower()
        if "'" in word or "’" in word:
            word = _APOSTROPHE.split(word)[-1]  # "l'église", "dell'aeroporto"
        if (word in BUILDING_WORDS_BEFORE or word == "via" and k > 0 and tokens[k - 1].text.lower() in _ITALIAN_VIA_BEFORE) and not (
                flags is not None and "p" in flags[i] and tokens[i].text.lower() not in _BUILDING_LINKS
                and any(tokens[t].text.lower() in _OF for t in range(k + 1, i))):  # where the building is
            return True
    return j + 1 < len(tokens) and tokens[j + 1].text.lower() in BUILDING_WORDS_AFTER and _adjacent(text, tokens[j], tokens[j + 1])


_APOSTROPHE = re.compile(r"['’]")
_OF = frozenset({"de", "di", "da", "do", "del", "della", "des", "du", "of", "dos", "das"})
_ITALIAN_VIA_BEFORE = frozenset({"in", "la", "della", "nella", "alla", "sulla", "dalla", "di", "una", "nuova", "ex"})


def _naming_word_before(tokens: list[Token], i: int) -> bool:
    """A naming cue ("cognome", "em nome de", "guia:", "Teilnehmer:") right before token ``i``."""
    k = i - 1
    while k >= 0 and i - k <= 2 and tokens[k].text.lower() in {":", "de", "di", "do", "da", "of", "van"}:
        k -= 1
    return k >= 0 and tokens[k].text.lower() in NAMING_WORDS


def _people_in_lists(text: str, spans: list[TaggedSpan], bounds: list[tuple[int, int]],
                     flags: list[str] | None) -> list[TaggedSpan]:
    """A LOCATION in a list next to a sure PERSON ("Hanna Lindqvist, Oriane Zubel") is a PERSON
    too, when none of its words is a common word and its first word is a known first name or none is a known place."""
    out = list(spans)
    if not any(s.label == LABELS[1] and s.score >= STRONG for s in out):
        return out  # no sure person to be next to
    # the places that may be people (read from flags only: the same in both passes)
    places = [n for n, s in enumerate(out) if s.label == LABELS[2] and _may_be_a_person(*bounds[n], flags)]
    for order in (places, places[::-1]):
        for n in order:
            s = out[n]
            if s.label != LABELS[2]:
                continue  # made a person in the first pass
            neighbours = [out[m] for m in (n - 1, n + 1) if 0 <= m < len(out)]
            if any(o.label == LABELS[1] and o.score >= STRONG and text[min(o.end, s.end) : max(o.start, s.start)] in _LIST_GAPS
                   for o in neighbours):
                out[n] = TaggedSpan(s.start, s.end, LABELS[1], s.score)
    return out


def _may_be_a_person(i: int, j: int, flags: list[str] | None) -> bool:
    """Tokens ``i..j`` hold no common word, and the first is a known first name or none is a known place."""
    if flags is None:
        return True
    words = flags[i : j + 1]
    return not any("w" in f for f in words) and ("f" in flags[i] or not any("p" in f for f in words))


def _sure_first_name(i: int, entity_p: dict[int, list[float]], flags: list[str]) -> bool:
    """Token ``i`` is a known first name that the model scores a name of at least ``STRONG``."""
    return "f" in flags[i] and 1.0 - entity_p[i][0] >= STRONG


def _common_word(i: int, flags: list[str] | None) -> bool:
    """Token ``i`` is a common word and no known name ("Trainer", "Namen")."""
    return flags is not None and flags[i] == "w"


def _list_and(tokens: list[Token], i: int, j: int, flags: list[str] | None) -> bool:
    """A lone first name before "y" ("Valentina y Luz") is a list of two people, not one double surname."""
    return j == i and flags is not None and "f" in flags[i] and tokens[j + 1].text == "y"


def _address_before(tokens: list[Token], i: int) -> bool:
    """A form of address ("Mr", "Mr.", "pani") right before token ``i``."""
    if i == 0:
        return False
    before = tokens[i - 1].text.lower()
    return before in ADDRESS_FORMS or before == "." and i > 1 and tokens[i - 2].text.lower() in ADDRESS_FORMS


def _person_cue(tokens: list[Token], i: int, j: int, flags: list[str] | None) -> bool:
    if _address_before(tokens, i):
        return True
    # several words that start with a first name and end with a surname or a word that is no place
    return flags is not None and j > i and "f" in flags[i] and ("p" not in flags[i] or "p" not in flags[j] or "l" in flags[j])


def _is_initial(token: Token) -> bool:
    return len(token.text) == 1 and token.text.isupper()


def _after_initial(text: str, tokens: list[Token], j: int) -> int:
    """The token after a middle initial ("R", "P.") that follows token ``j``, else -1."""
    k = j + 1
    if k >= len(tokens) or not _is_initial(tokens[k]) or not _adjacent(text, tokens[j], tokens[k]):
        return -1
    if k + 1 < len(tokens) and tokens[k + 1].text == "." and tokens[k + 1].start == tokens[k].end:
        k += 1
    if k + 1 < len(tokens) and _adjacent(text, tokens[k], tokens[k + 1]) and is_capitalised(tokens[k + 1].text):
        return k + 1
    return -1


def _is_particle(token: Token) -> bool:
    return _particle_text(token.text)


@functools.lru_cache(maxsize=65536)
def _particle_text(text: str) -> bool:
    return text.lower() in PARTICLES and not is_capitalised(text)


def _adjacent(text: str, a: Token, b: Token) -> bool:
    """Tokens of one name: separated by one or two spaces (no tab, line break or punctuation)."""
    return text[a.end : b.start] in (" ", "  ", "\u00a0")


def shared_tagger() -> NameTagger:
    """The process-wide tagger, loaded on first use."""
    return shared_model(("pii-name-tagger", str(DATA_DIR)), NameTagger.load)
