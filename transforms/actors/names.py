"""Names: actor ids, lookup keys, and the words of a person's name.

An actor id is ``slugify(canonical name)``. Ids are written into every dataset, so an
id, once written, must never change: the curated tables in ``transforms/data/`` pin
the canonical name of every country, institution and known person, and ``slugify``
is tested against fixed expectations.

Given names have short forms (hypocorisms): "Bill" is William, "Cres" is Creswell.
``same_given_name`` accepts a pair when the ``nicknames`` package (a hand-curated
table of English given names and their nicknames, Apache-2.0) lists it, or when one
is a clipped start of the other of at least three letters; callers use it only when
the surnames agree.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
ACTOR_TYPES = ("person", "organisation", "place", "group", "other")
MAX_SLUG = 80
# Names remembered per function: a day of news repeats a few thousand names, and a
# stream meets new ones without end (65,536 a function grew a streaming worker).
NAMES_KEPT = 8192
# Letters that NFKD does not decompose into an ASCII base letter.
_ASCII_FOLD = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "ł": "l",
        "Ł": "L",
        "ı": "i",
        "ŋ": "ng",
    }
)
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_NON_KEY = re.compile(r"[^a-z0-9' ]+")


def ascii_fold(text: str) -> str:
    """Diacritics off ("Curaçao" -> "Curacao") so spellings with and without agree."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=NAMES_KEPT)  # the same names recur across articles
def slugify(name: str) -> str:
    """The actor id of a canonical name: lower-case ASCII words joined by hyphens.

    It becomes a directory name, so it never contains a path separator or "..", is never
    empty (names with no Latin letters get "x-" and a hash of the name) and is bounded:
    a long name keeps its first words and a hash of the whole, so two long names that
    share a prefix still differ. Changing this function renames partitions: don't.
    """
    folded = ascii_fold(name).lower().replace("&", " and ")
    slug = _NON_SLUG.sub("-", _APOSTROPHES.sub("", folded)).strip("-")
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    if not slug:
        return "x-" + digest[:10]
    if len(slug) > MAX_SLUG:
        return slug[: MAX_SLUG - 9].rstrip("-") + "-" + digest[:8]
    return slug


@lru_cache(maxsize=NAMES_KEPT)  # the same names recur across articles
def alias_key(text: str) -> str:
    """How a name is looked up: case, accents, full stops, hyphens and "the" folded.

    "U.K.", "UK" and "the UK" meet at "uk"; "Timor-Leste" at "timor leste".
    """
    text = ascii_fold(text).lower()
    text = _APOSTROPHES.sub("'", text).replace(".", "").replace("&", " and ")
    text = _NON_KEY.sub(" ", text)
    words = text.split()
    if words and words[0] == "the":
        words = words[1:]
    if words and words[-1] in ("'s", "'"):
        words = words[:-1]
    if words and words[-1].endswith("'s"):
        words[-1] = words[-1][:-2]
    return " ".join(words)


# ------------------------------------------------------------------ person names


@dataclass(frozen=True, slots=True)
class NameRules:
    """Titles, honorifics, suffixes and given-name variants (``data/names.json``)."""

    honorifics: frozenset[str]
    titles: frozenset[str]
    max_title_words: int
    suffixes: frozenset[str]
    variants: Mapping[str, str]  # spelling -> representative spelling
    version: str


@lru_cache(maxsize=1)
def name_rules() -> NameRules:
    """Loaded once per process: every article needs them."""
    data = json.loads((DATA_DIR / "names.json").read_text(encoding="utf-8"))
    variants = {}
    for representative, spellings in data["given_name_variants"].items():
        for spelling in spellings:
            variants[spelling] = representative
    titles = frozenset(data["titles"]) | frozenset(data["honorifics"])
    return NameRules(
        honorifics=frozenset(data["honorifics"]),
        titles=titles,
        max_title_words=max(len(t.split()) for t in titles),
        suffixes=frozenset(data["suffixes"]),
        variants=variants,
        version=str(data["version"]),
    )


# Transliteration endings that differ between romanisations of the same name:
# Sergey/Sergei, Dmitriy/Dmitri, Zelenskyy/Zelensky, Natalya/Natalia.
_ENDINGS = (("iy", "i"), ("yy", "y"), ("ey", "ei"), ("ii", "i"), ("ya", "ia"))


@lru_cache(maxsize=NAMES_KEPT)
def fold_name_word(word: str) -> str:
    """One word of a person's name in a form shared by its common transliterations."""
    rules = name_rules()
    word = rules.variants.get(word, word)
    word = word.replace("ks", "x")
    for ending, replacement in _ENDINGS:
        if word.endswith(ending) and len(word) > 3:
            word = word[: -len(ending)] + replacement
            break
    if len(word) > 3 and word.endswith("y") and word[-2] not in "aeiou":
        word = word[:-1] + "i"
    return rules.variants.get(word, word)


def name_words(name: str) -> list[str]:
    """The folded words of a person's name, without suffixes ("Jr.") and apostrophes.

    Hyphens split words, so "Jong-un" and "Jong Un" agree when the words are joined.
    """
    key = alias_key(name).replace("'", "").replace("-", " ")
    suffixes = name_rules().suffixes
    words = [w for w in key.split() if w]
    while len(words) > 1 and words[-1] in suffixes:
        words.pop()
    return [fold_name_word(w) for w in words]


def person_key(name: str) -> str:
    """All the name's folded words joined: equal keys mean the same written name."""
    return "".join(name_words(name))


# ------------------------------------------------------------------ given names

_MIN_CLIPPED = 3  # "Cres" for Creswell; "Al" for Alan is left to the table


@lru_cache(maxsize=1)
def _nickname_table() -> tuple[frozenset[str], Mapping[str, frozenset[str]]]:
    """(every listed given name, name -> the names it is a short form of or has).

    Built once per process from the ``nicknames`` package's CSV of
    (name, has_nickname, nickname) triples: about 1,100 English given names.
    """
    from nicknames import name_triplets

    related: dict[str, set[str]] = {}
    names: set[str] = set()
    for triple in name_triplets():
        a, b = triple.name1, triple.name2
        names.update((a, b))
        related.setdefault(a, set()).add(b)
        related.setdefault(b, set()).add(a)
    return frozenset(names), {k: frozenset(v) for k, v in related.items()}


def is_given_name(word: str) -> bool:
    """Is this (folded) word an English given name listed in the nickname table?"""
    return word in _nickname_table()[0]


@lru_cache(maxsize=NAMES_KEPT)
def same_given_name(a: str, b: str) -> bool:
    """Are two folded given names one person's, as a hypocorism and its full form?

    Equal names, a listed pair ("bill"/"william", both ways) or a clipped start of
    at least three letters ("cres"/"creswell"). Only meaningful when the surnames
    already agree: "Chris" clips both Christopher and Christine.
    """
    if a == b:
        return True
    short, full = sorted((a, b), key=len)
    if len(short) >= _MIN_CLIPPED and full.startswith(short):
        return True
    return b in _nickname_table()[1].get(a, ())
