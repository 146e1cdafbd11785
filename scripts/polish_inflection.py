"""Case forms of Polish place names and personal names, by rule (training script only).

Polish inflects names after prepositions and forms of address: "w Warszawie", "z Krakowa", "z panem
Nowakiem", "panią Kowalską". The rules below cover the common endings (feminine -a / -ia, masculine
consonant stems, neuter -o / -e, plural -ice, adjectival -ski / -ska / -ny); they over-generate a
little where Polish has two patterns (both forms are kept), and leave irregular stems alone.
"""

from __future__ import annotations

CASES = ("gen", "dat", "acc", "ins", "loc")

# Hard stem endings and their softened form before the locative / dative -e ("Lublin" -> "Lublinie", "Ewa" -> "Ewie").
_SOFTEN = (("st", "ście"), ("zd", "ździe"), ("sn", "śnie"), ("zn", "źnie"), ("sł", "śle"), ("ch", "sze"), ("k", "ce"),
           ("g", "dze"), ("r", "rze"), ("ł", "le"), ("t", "cie"), ("d", "dzie"), ("n", "nie"), ("s", "sie"), ("z", "zie"),
           ("w", "wie"), ("b", "bie"), ("p", "pie"), ("m", "mie"), ("f", "fie"))
_VELAR = ("k", "g", "ch")
_SOFT = ("cz", "sz", "rz", "ż", "c", "dz", "l", "j")
_SOFT_FINAL = {"ń": "ni", "ś": "si", "ć": "ci", "ź": "zi", "dź": "dzi"}  # before a vowel ending: "Poznań" -> "Poznania"
_VOWELS = "aeiouyąęó"


def _loc_e(stem: str) -> str | None:
    for hard, soft in _SOFTEN:
        if stem.endswith(hard):
            return stem[: -len(hard)] + soft
    return None


def _masculine(word: str, person: bool) -> dict[str, list[str]]:
    """A masculine noun ending in a consonant (Wrocław, Gdańsk, Nowak, Piotr, Marek)."""
    stems = [word]
    for final, soft in _SOFT_FINAL.items():
        if word.endswith(final):
            stems = [word[: -len(final)] + soft]
    if word.endswith("ów"):
        stems = [word[:-2] + "ow"]
    elif len(word) > 4 and word.endswith("ek") and word[-3] not in _VOWELS:
        stems.append(word[:-2] + "k")  # Marek -> Marka
    elif len(word) > 4 and word.endswith("ec") and word[-3] not in _VOWELS:
        stems.append(word[:-2] + "c")  # Kaczmarzec -> Kaczmarca
    out: dict[str, list[str]] = {c: [] for c in CASES}
    for stem in stems:
        soft_stem = stem.endswith(tuple(_SOFT_FINAL.values())) or stem.endswith(_SOFT)
        out["gen"].append(stem + "a")
        out["dat"].append(stem + "owi")
        out["ins"].append(stem + ("iem" if stem.endswith(("k", "g")) else "em"))
        out["acc"].append(stem + "a" if person else word)
        if stem.endswith(_VELAR) or soft_stem:
            out["loc"].append(stem + "u")
        else:
            loc = _loc_e(stem)
            out["loc"].append(loc if loc else stem + "u")
        if stem.endswith("w") and not person and not word.endswith("ów"):  # Wrocław -> Wrocławia, Wrocławiu (a soft w of old)
            out["gen"].append(stem + "ia")
            out["loc"].append(stem + "iu")
    return out


def _feminine(word: str) -> dict[str, list[str]]:
    """A noun ending in -a (Warszawa, Ewa, Zaręba) or -ia / -ja (Gdynia, Maria, Maja)."""
    if word.endswith(("ia", "ja")):
        stem = word[:-1]
        gen = word[:-2] + ("ii" if word.endswith("ia") and word[-3:-2] not in ("n", "s", "c", "z") else "i")
        if word.endswith("ja"):
            gen = word[:-2] + "i"
        return {"gen": [gen], "dat": [gen], "acc": [stem + "ę"], "ins": [stem + "ą"], "loc": [gen]}
    stem = word[:-1]
    gen = stem + ("i" if stem.endswith(("k", "g", "l", "j")) else "y")
    loc = _loc_e(stem) or (stem + "y")
    return {"gen": [gen], "dat": [loc], "acc": [stem + "ę"], "ins": [stem + "ą"], "loc": [loc]}


def _adjectival(word: str) -> dict[str, list[str]] | None:
    """-ski / -cki / -dzki / -ny / -ty (masculine) and -ska / -na (feminine) names and adjectives."""
    low = word.lower()
    if low.endswith(("ki", "gi")):
        return {"gen": [word + "ego"], "dat": [word + "emu"], "acc": [word + "ego"], "ins": [word + "m"], "loc": [word + "m"]}
    if low.endswith("y") and len(low) > 3:
        return {"gen": [word[:-1] + "ego"], "dat": [word[:-1] + "emu"], "acc": [word[:-1] + "ego"], "ins": [word[:-1] + "ym"],
                "loc": [word[:-1] + "ym"]}
    if low.endswith(("ska", "cka", "dzka")):
        return {"gen": [word[:-1] + "iej"], "dat": [word[:-1] + "iej"], "acc": [word[:-1] + "ą"], "ins": [word[:-1] + "ą"],
                "loc": [word[:-1] + "iej"]}
    return None


def _plural(word: str) -> dict[str, list[str]] | None:
    """Plural place names: Katowice, Gliwice, Kielce (-ice / -yce / -ce)."""
    if word.endswith(("ice", "yce")) or word.endswith("ce") and len(word) > 4:
        stem = word[:-1]
        return {"gen": [stem], "dat": [stem + "om"], "acc": [word], "ins": [stem + "ami"], "loc": [stem + "ach"]}
    return None


def word_forms(word: str, person: bool = False) -> dict[str, list[str]]:
    """Case forms of one capitalised word (nominative excluded)."""
    low = word.lower()
    forms = _adjectival(word) if low.endswith(("ski", "cki", "dzki", "ska", "cka", "dzka")) else None
    if forms is None and not person:
        forms = _plural(word)
    if forms is None:
        if low.endswith("a"):
            forms = _feminine(word)
        elif low.endswith(("o", "e")) and not person:  # Opole, Gniezno: neuter
            stem = word[:-1]
            loc = stem + "u" if low.endswith("e") or stem.endswith(_VELAR) else (_loc_e(stem) or stem + "u")
            forms = {"gen": [stem + "a"], "dat": [stem + "u"], "acc": [word], "ins": [stem + "em"], "loc": [loc]}
        elif low[-1:] not in _VOWELS:
            forms = _masculine(word, person)
        else:
            forms = {c: [word] for c in CASES}  # another vowel (Antoni, Tychy): left as it is
    return forms


def place_forms(name: str) -> dict[str, list[str]]:
    """Case forms of a place name; in a several-word name the words before the last agree like adjectives
    ("Nowy Sącz" -> "Nowym Sączu", "Zielona Góra" -> "Zielonej Górze")."""
    words = name.split()
    if len(words) == 1:
        return word_forms(name)
    last = word_forms(words[-1])
    out: dict[str, list[str]] = {}
    for case in CASES:
        heads = []
        for w in words[:-1]:
            adj = _adjectival(w) if w.lower().endswith(("y", "i", "ka", "ska")) else None
            if w.lower().endswith("a") and not w.lower().endswith(("ska", "cka")):
                a = w[:-1]
                adj = {"gen": [a + "ej"], "dat": [a + "ej"], "acc": [a + "ą"], "ins": [a + "ą"], "loc": [a + "ej"]}
            heads.append(adj[case][0] if adj else w)
        out[case] = [" ".join([*heads, form]) for form in last[case]] if last[case] != [words[-1]] else [name]
    return out


def person_forms(name: str, female: bool) -> dict[str, list[str]]:
    """Case forms of a first name or a surname. A feminine surname in a consonant does not inflect."""
    if female and name[-1:].lower() not in ("a",):
        return {c: [name] for c in CASES}
    return word_forms(name, person=True)


def all_forms(forms: dict[str, list[str]]) -> list[str]:
    return sorted({f for fs in forms.values() for f in fs})
