"""Organisation names: what tells them apart from people and places, and their forms.

General rules of English names, no list of particular organisations (those are in the
registry):

* an organisation's name ends in a head word ("Party", "Council", "Rovers", "FC"):
  a name tagged PERSON or GPE that ends in one is an organisation (the small model
  calls the football club "Ashbourne Rovers" a person);
* an acronym is the initials of its long form, digits kept ("IE6" for "Internet
  Explorer 6"), or is defined beside it in parentheses, in either order, whatever
  its letters' order in another language ("Union of Rationalist Atheists and
  Agnostics (UAAR)");
* a long form and its short forms are one organisation: "Church of Scientology" and
  "Scientology", "Department of Homeland Security" and "Homeland Security"; the
  "Department of Justice" and the "Justice Department"; "UK Home Office" and "Home
  Office" (a country qualifier); "Union of Rationalist Atheists and Agnostics" and
  its truncation before "and"; legal suffixes ("Inc", "plc") are not part of it;
* in a sports report a country's name is often its national team ("Australia beat
  England 2-1"): that is its own actor, which records the country.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from newsbeam.transforms.actors.names import DATA_DIR, alias_key

_ACRONYM_SKIP = frozenset({"of", "the", "and", "for", "de", "la", "du", "des", "on"})
_SCORE = re.compile(r"(?<![\d/.:])\d{1,3} ?[-–] ?\d{1,3}(?![\d/.:])")
_DEFINITION = re.compile(r"\s*\(\s*([A-Z][A-Za-z0-9&.\-]{1,9})\s*\)")
_MIN_SPORTS_WORDS = 4


@dataclass(frozen=True, slots=True)
class OrganisationRules:
    legal_suffixes: frozenset[str]
    heads: frozenset[str]
    of_heads: frozenset[str]
    sports_words: frozenset[str]
    location_prepositions: frozenset[str]
    place_heads: frozenset[str]
    sporting_nations: frozenset[str]
    direction_words: frozenset[str]


@lru_cache(maxsize=1)
def organisation_rules() -> OrganisationRules:
    """Loaded once per process from ``data/organisations.json``."""
    data = json.loads((DATA_DIR / "organisations.json").read_text(encoding="utf-8"))
    return OrganisationRules(
        legal_suffixes=frozenset(data["legal_suffixes"]),
        heads=frozenset(data["organisation_heads"]),
        of_heads=frozenset(data["of_heads"]),
        sports_words=frozenset(data["sports_words"]),
        location_prepositions=frozenset(data["location_prepositions"]),
        place_heads=frozenset(data["place_heads"]),
        sporting_nations=frozenset(data["sporting_nations"]),
        direction_words=frozenset(data["direction_words"]),
    )


def has_organisation_head(text: str) -> bool:
    """Does the name end in a word only organisations end in ("Ashbourne Rovers")?"""
    words = alias_key(text).split()
    return len(words) >= 2 and words[-1] in organisation_rules().heads


def initials(text: str) -> str:
    """Initials of the significant words, numbers kept whole: "Internet Explorer 6"
    -> "IE6", "Korean People's Army" -> "KPA"."""
    letters = []
    for word in text.replace("-", " ").split():
        if word.isdigit():
            letters.append(word)
        elif word[0].isalpha() and word.lower() not in _ACRONYM_SKIP:
            letters.append(word[0])
    return "".join(letters).upper()


def is_acronym(text: str) -> bool:
    """Capitals (and digits) only, two to eight characters: "KCNA", "IE6", "U.N."."""
    bare = text.replace(".", "")
    return (
        2 <= len(bare) <= 8
        and bare.isalnum()
        and bare[0].isalpha()
        and bare.upper() == bare
        and sum(ch.isalpha() for ch in bare) >= 2
    )


def defines(long_name: str, acronym: str) -> bool:
    """Can ``acronym``, written in parentheses beside ``long_name``, stand for it?

    Its first letter is the long form's, or its letters are the long form's initials
    in another order (an acronym kept from the original language).
    """
    bare = acronym.replace(".", "").upper()
    first = initials(long_name)
    if not first or not is_acronym(acronym) or " " not in long_name.strip():
        return False
    return bare[0] == first[0] or sorted(bare) == sorted(first)


def parenthesised_acronym(text: str, end: int) -> tuple[str, int, int] | None:
    """The acronym in parentheses right after ``end`` in ``text``, with its offsets."""
    match = _DEFINITION.match(text, end)
    if match is None or not is_acronym(match.group(1)):
        return None
    return match.group(1), match.start(1), match.end(1)


def name_forms(text: str) -> set[str]:
    """Lookup keys of one organisation name: its short forms among them.

    "Church of Scientology" -> {"church of scientology", "scientology"};
    "Department of Justice" and "Justice Department" share "justice department";
    "Acme Holdings Inc" -> {"acme holdings inc", "acme holdings"}.
    """
    rules = organisation_rules()
    key = alias_key(text)
    words = key.split()
    forms = {key}
    while len(words) > 1 and words[-1] in rules.legal_suffixes:
        words = words[:-1]
        forms.add(" ".join(words))
    if len(words) >= 3 and words[1] == "of" and words[0] in rules.of_heads:
        rest = words[2:]
        forms.add(" ".join(rest))  # "scientology", "homeland security"
        forms.add(" ".join([*rest, words[0]]))  # "justice department"
    if " and " in f" {' '.join(words)} ":
        head = " ".join(words).split(" and ", 1)[0]
        if len(head.split()) >= 3:
            forms.add(head)  # "union of rationalist atheists"
    return forms


def without_country(text: str, is_country) -> tuple[str, str] | None:
    """("Home Office", country words) for "UK Home Office": a leading country name or
    adjective before a name of at least two words; None when there is none."""
    words = text.split()
    for n in (2, 1):
        if len(words) - n >= 2 and is_country(" ".join(words[:n])):
            return " ".join(words[n:]), " ".join(words[:n])
    return None


def sports_report(text: str, lower_words: list[str]) -> bool:
    """Is the article a sports report? Several words of sport and a score, or many."""
    found = {w for w in lower_words if w in organisation_rules().sports_words}
    if len(found) >= 2 * _MIN_SPORTS_WORDS:
        return True
    return len(found) >= _MIN_SPORTS_WORDS and _SCORE.search(text) is not None


def national_team_name(country_name: str) -> str:
    return f"{country_name} national team"
