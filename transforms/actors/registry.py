"""The actor registry: the actors known before any article is read.

It knows three kinds of names:

* every country (pycountry), with curated aliases and demonyms: "Russian", "Russians"
  and "Russian Federation" all resolve to ``russia``; "UK", "U.K." and "Britain" to
  ``united-kingdom``; "US", "America" and "Americans" to ``united-states``
  (``data/countries.tsv``). England, Scotland, Wales and Northern Ireland stay their own
  places inside ``united-kingdom``: a news "England" is as often a football team as
  the state, so folding it into the country would be wrong half the time;
* institutions, supranational bodies and cities, each its own actor that carries its
  country: the Kremlin and Moscow -> russia, Downing Street -> united-kingdom
  (``data/places.tsv``);
* people (``data/people.tsv``), mostly so that a lone "Trump" tagged ORG by the small
  model is repaired to a person and linked to ``donald-trump``.

User aliases (``ActorRegistry.load(path)``) extend or override the shipped tables. The
file is either JSON or CSV/TSV (chosen by extension):

* JSON: an object ``{"alias": "Canonical Name", ...}`` or
  ``{"alias": {"name": "Canonical Name", "type": "person", "country": "Russia"}}``;
* CSV (``,``) or TSV (tab): rows ``alias, canonical name[, type[, country]]``; blank
  lines and lines starting with ``#`` are skipped; no header.

``type`` is one of person | organisation | place | group | other (default: the type of
the canonical name if the registry knows it, else ``other``); ``country`` is a country
name, alias or alpha-2 code (default: none). An alias whose canonical name is already
known (say "Vova" -> "Vladimir Putin") simply points at that actor.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pycountry
from newsbeam.transforms.actors.names import (
    ACTOR_TYPES,
    DATA_DIR,
    alias_key,
    person_key,
    slugify,
)


@dataclass(frozen=True, slots=True)
class Actor:
    """A resolved actor: what the mention rows carry besides the mention itself."""

    actor_id: str
    name: str
    type: str  # person | organisation | place | group | other
    country: str = ""  # actor id of the country, "" if none


def _read_tsv(path: Path) -> tuple[str, list[list[str]]]:
    """Rows of a curated table and its ``# version:`` line."""
    version = "0"
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# version:"):
            version = line.split(":", 1)[1].strip()
        if not line.strip() or line.startswith("#"):
            continue
        rows.append(line.split("\t"))
    return version, rows


def _split(field: str) -> list[str]:
    return [part.strip() for part in field.split("|") if part.strip()]


class ActorRegistry:
    """Known actors by alias: all countries, institutions, cities, people, user aliases.

    Plain dicts of small frozen dataclasses, so it pickles to Beam workers in a few
    kilobytes; ``load()`` reads three small tables and pycountry's country list.
    """

    def __init__(
        self,
        by_alias: dict[str, Actor],
        by_person_key: dict[str, Actor],
        countries: dict[str, Actor],
        version: str,
    ) -> None:
        self._by_alias = by_alias
        self._by_person_key = by_person_key
        self._countries = countries  # alpha-2 code -> country actor
        self.version = version
        # Actors whose aliases hold only where the article is about their country:
        # "the Democratic Party" of a Hong Kong story is not the US party.
        self.contextual: frozenset[str] = frozenset()

    # -- construction

    @classmethod
    def load(cls, user_aliases_path: str | None = None) -> ActorRegistry:
        """The shipped tables plus, if given, a user alias file (module docstring)."""
        by_alias: dict[str, Actor] = {}
        countries: dict[str, Actor] = {}
        demonyms: dict[str, Actor] = {}

        def add(alias: str, actor: Actor, table: dict[str, Actor] = by_alias) -> None:
            key = alias_key(alias)
            if key:
                table.setdefault(key, actor)

        countries_version, rows = _read_tsv(DATA_DIR / "countries.tsv")
        pinned = {row[0]: row for row in rows}
        for country in pycountry.countries:
            code = country.alpha_2
            row = pinned.get(code, [code, ""])
            row += [""] * (4 - len(row))
            name = row[1] or getattr(country, "common_name", None) or country.name
            actor = Actor(slugify(name), name, "place", slugify(name))
            countries[code] = actor
            add(name, actor)
            for alias in _split(row[2]):
                add(alias, actor)
            for demonym in _split(row[3]):
                add(demonym, actor, demonyms)
        # pycountry's formal names come after the pinned ones so they never shadow them.
        for country in pycountry.countries:
            actor = countries[country.alpha_2]
            for attr in ("name", "common_name", "official_name"):
                value = getattr(country, attr, None)
                if value:
                    add(value, actor)
                    if "," in value:  # "Korea, Republic of" -> "Republic of Korea"
                        head, _, tail = value.partition(",")
                        add(f"{tail.strip()} {head.strip()}", actor)

        places_version, rows = _read_tsv(DATA_DIR / "places.tsv")
        contextual: set[str] = set()
        for row in rows:
            row += [""] * (5 - len(row))
            name, actor_type, code, aliases, context = row[:5]
            country = countries[code].actor_id if code else ""
            actor = Actor(slugify(name), name, actor_type, country)
            if context.strip() == "country" and country:
                contextual.add(actor.actor_id)
            for alias in [name, *_split(aliases)]:
                add(alias, actor)
                if alias in ("Scottish", "Scots", "Welsh", "Northern Irish"):
                    add(alias, actor, demonyms)

        by_person_key: dict[str, Actor] = {}
        people_version, rows = _read_tsv(DATA_DIR / "people.tsv")
        for row in rows:
            row += [""] * (3 - len(row))
            name, code, aliases = row[:3]
            country = countries[code].actor_id if code else ""
            actor = Actor(slugify(name), name, "person", country)
            for alias in [name, *_split(aliases)]:
                add(alias, actor)
                by_person_key.setdefault(person_key(alias), actor)

        # Demonyms resolve to their country unless a name already claims the word.
        for key, actor in demonyms.items():
            by_alias.setdefault(key, actor)

        version = f"c{countries_version}.p{places_version}.n{people_version}"
        registry = cls(by_alias, by_person_key, countries, version)
        registry.contextual = frozenset(contextual)
        if user_aliases_path:
            registry._add_user_aliases(Path(user_aliases_path))
            registry.version += ".user"
        return registry

    def _add_user_aliases(self, path: Path) -> None:
        """User aliases override the shipped tables: they are the user's decision."""
        for alias, name, actor_type, country in _read_user_aliases(path):
            known = self.lookup(name)
            if actor_type and actor_type not in ACTOR_TYPES:
                raise ValueError(
                    f"{path}: alias {alias!r} has type {actor_type!r}; "
                    f"use one of {', '.join(ACTOR_TYPES)}"
                )
            country_id = ""
            if country:
                country_actor = self.country_of_name(country)
                if country_actor is None:
                    raise ValueError(
                        f"{path}: alias {alias!r} names unknown country {country!r}; "
                        "use a country name or alpha-2 code"
                    )
                country_id = country_actor.actor_id
            if known and not actor_type and not country:
                actor = known
            else:
                actor = Actor(
                    slugify(name),
                    name,
                    actor_type or (known.type if known else "other"),
                    country_id or (known.country if known else ""),
                )
            for text in (alias, name):
                self._by_alias[alias_key(text)] = actor
                if actor.type == "person":
                    self._by_person_key[person_key(text)] = actor

    # -- queries

    def lookup(self, text: str) -> Actor | None:
        """The actor a name, alias or demonym stands for, if the registry knows it."""
        return self._by_alias.get(alias_key(text))

    def lookup_key(self, key: str) -> Actor | None:
        """``lookup`` for a key already made by ``alias_key``: no second folding."""
        return self._by_alias.get(key)

    def person(self, name: str) -> Actor | None:
        """A known person by any spelling variant of a full name or listed alias."""
        return self._by_person_key.get(person_key(name))

    def person_by_key(self, key: str) -> Actor | None:
        """A known person by a key already made by ``person_key``."""
        return self._by_person_key.get(key)

    def country_of_name(self, text: str) -> Actor | None:
        """A country by alpha-2 code, name, alias or demonym."""
        if len(text) == 2 and text.upper() in self._countries:
            return self._countries[text.upper()]
        actor = self.lookup(text)
        if actor and actor.type == "place" and actor.actor_id == actor.country:
            return actor
        return None

    def countries(self) -> list[Actor]:
        return sorted(self._countries.values(), key=lambda a: a.actor_id)

    def __len__(self) -> int:
        return len(self._by_alias)


def _read_user_aliases(path: Path) -> Iterable[tuple[str, str, str, str]]:
    """(alias, canonical name, type, country) rows from a JSON or CSV/TSV alias file."""
    if not path.is_file():
        raise FileNotFoundError(f"user alias file {path} does not exist; fix the path")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from e
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected an object of alias -> name")
        for alias, value in data.items():
            if isinstance(value, str):
                yield alias, value, "", ""
            elif isinstance(value, dict) and isinstance(value.get("name"), str):
                yield (
                    alias,
                    value["name"],
                    str(value.get("type", "")),
                    str(value.get("country", "")),
                )
            else:
                raise ValueError(f"{path}: alias {alias!r} needs a name")
        return
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    for number, row in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
        cells = [cell.strip() for cell in row] + ["", ""]
        if not cells[0] or not cells[1]:
            raise ValueError(f"{path}: row {number} needs an alias and a name")
        yield cells[0], cells[1], cells[2], cells[3]


@lru_cache(maxsize=4)
def default_registry(user_aliases_path: str | None = None) -> ActorRegistry:
    """One registry per process and alias file, for DoFn.setup and tests."""
    return ActorRegistry.load(user_aliases_path)
