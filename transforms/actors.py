"""Actors: who a mention is about, as a stable id that partitions the mention output.

An actor id is ``slugify(canonical name)``. Output Parquet is partitioned by it, so an
id, once written, must never change: the curated tables in ``transforms/data/`` pin the
canonical name of every country, institution and known person, and ``slugify`` is
tested against fixed expectations.

The registry knows three kinds of names:

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
import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import apache_beam as beam
import pycountry
from newsbeam.schemas import ActorRecord, Mention, Quote

DATA_DIR = Path(__file__).with_name("data")
ACTOR_TYPES = ("person", "organisation", "place", "group", "other")
MAX_SLUG = 80

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


@lru_cache(maxsize=1 << 16)  # the same names recur across articles
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


@lru_cache(maxsize=1 << 16)
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


# ------------------------------------------------------------------------ registry


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
        for row in rows:
            row += [""] * (4 - len(row))
            name, actor_type, code, aliases = row[:4]
            country = countries[code].actor_id if code else ""
            actor = Actor(slugify(name), name, actor_type, country)
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


# ------------------------------------------------------------ across articles


def resolve_across_articles(
    persons: Iterable[tuple[str, str]],
    counts: Mapping[str, int] | None = None,
) -> dict[str, str]:
    """Rewrites for person ids after all articles are seen: ``{old id: new id}``.

    ``persons`` are ``(actor_id, actor_name)`` pairs of every person actor seen, in
    any order, duplicates allowed. Two rewrites, both deterministic and independent
    of order:

    * spelling variants of one full name ("Sergey Lavrov" in one article, "Sergei
      Lavrov" in another) go to one id: the most frequent by ``counts`` (if given),
      ties and no counts broken by the smallest id;
    * a surname-only (or single-word) actor goes to the one full-name person whose
      surname it is; if two full names share the surname, it stays as it is.

    Ids that need no rewrite are absent, so applying the result is ``ids.get(x, x)``.
    """
    counts = counts or {}
    full: dict[str, set[str]] = defaultdict(set)  # person key -> ids
    surname_of: dict[str, str] = {}  # person key -> surname word
    single: dict[str, str] = {}  # id -> folded word
    for actor_id, name in persons:
        words = name_words(name)
        if len(words) >= 2:
            key = "".join(words)
            full[key].add(actor_id)
            surname_of[key] = words[-1]
        elif words:
            single[actor_id] = words[0]

    rewrites: dict[str, str] = {}
    representative: dict[str, str] = {}
    by_surname: dict[str, set[str]] = defaultdict(set)
    for key, ids in full.items():
        best = min(ids, key=lambda i: (-counts.get(i, 0), i))
        representative[key] = best
        by_surname[surname_of[key]].add(best)
        for actor_id in ids:
            if actor_id != best:
                rewrites[actor_id] = best
    for actor_id, word in single.items():
        targets = by_surname.get(word, set())
        if len(targets) == 1:
            target = next(iter(targets))
            if target != actor_id:
                rewrites[actor_id] = target
    # A rewritten id may itself have been a representative: follow to the end.
    for actor_id in list(rewrites):
        seen = {actor_id}
        target = rewrites[actor_id]
        while target in rewrites and target not in seen:
            seen.add(target)
            target = rewrites[target]
        rewrites[actor_id] = target
    return rewrites


# ------------------------------------------------------------ across articles (Beam)
#
# The pure rules above resolve names inside one article. The steps below run once per
# job over every person actor the job saw (plus those earlier runs stored in
# OUTPUT/actors/), so that "Cameron" alone in one article joins "David Cameron" from
# another, whatever the order of the input or the number of workers.


def rewrite_table(counted: Iterable[tuple[tuple[str, str], int]]) -> dict:
    """``{old id: (new id, new name)}`` from ``((actor_id, name), mentions)`` pairs."""
    counted = list(counted)
    counts: dict[str, int] = defaultdict(int)
    names: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (actor_id, name), n in counted:
        counts[actor_id] += n
        names[actor_id][name] += n
    rewrites = resolve_across_articles(
        ((actor_id, name) for (actor_id, name), _n in counted), counts
    )

    def best_name(actor_id: str) -> str:
        spellings = names.get(actor_id)
        if not spellings:
            return actor_id
        return min(spellings, key=lambda name: (-spellings[name], name))

    return {old: (new, best_name(new)) for old, new in sorted(rewrites.items())}


def apply_to_mention(mention: Mention, table: dict) -> Mention:
    target = table.get(mention.actor_id)
    if target is None:
        return mention
    new_id, name = target
    return replace(mention, actor_id=new_id, actor_name=name)


def apply_to_quote(quote: Quote, table: dict) -> Quote:
    target = table.get(quote.speaker_id)
    if target is None:
        return quote
    new_id, name = target
    return replace(quote, speaker_id=new_id, speaker_name=name)


class ResolveAcrossArticles(beam.PTransform):
    """``{"mentions", "quotes"}`` → the same, person ids unified across articles.

    ``stored_actors`` (the actors earlier runs wrote) join the vote, so a surname seen
    today resolves to the full name a past run stored.
    """

    def __init__(self, stored_actors: beam.PCollection | None = None) -> None:
        super().__init__()
        self._stored_actors = stored_actors

    def expand(self, streams):
        mentions, quotes = streams["mentions"], streams["quotes"]
        sources = [
            mentions
            | "People" >> beam.Filter(lambda m: m.actor_type == "person")
            | "PersonNames" >> beam.Map(lambda m: ((m.actor_id, m.actor_name), 1))
        ]
        if self._stored_actors is not None:
            sources.append(
                self._stored_actors
                | "StoredPeople" >> beam.Filter(lambda a: a.actor_type == "person")
                | "StoredNames"
                >> beam.Map(lambda a: ((a.actor_id, a.actor_name), a.mention_count))
            )
        table = (
            tuple(sources)
            | "AllPeople" >> beam.Flatten()
            | "CountNames" >> beam.CombinePerKey(sum)
            | "AllCounts" >> beam.combiners.ToList()
            | "RewriteTable" >> beam.Map(rewrite_table)
        )
        side = beam.pvalue.AsSingleton(table)
        return {
            "mentions": mentions
            | "RewriteMentions" >> beam.Map(apply_to_mention, side),
            "quotes": quotes | "RewriteQuotes" >> beam.Map(apply_to_quote, side),
        }


def stored_people_table(records: Iterable[ActorRecord]) -> tuple[dict, dict]:
    """From the actors earlier runs stored: the rewrite table for their ids, and the
    one full-name person for each surname that has exactly one.

    Streaming cannot wait for the whole run, so it resolves against what is stored.
    """
    people = [r for r in records if r.actor_type == "person" and r.actor_name]
    table = rewrite_table(((r.actor_id, r.actor_name), r.mention_count) for r in people)
    by_surname: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in people:
        words = name_words(r.actor_name)
        if len(words) >= 2 and r.actor_id not in table:
            by_surname[words[-1]].add((r.actor_id, r.actor_name))
    unique = {w: next(iter(ids)) for w, ids in by_surname.items() if len(ids) == 1}
    return table, unique


def resolve_with_stored(
    actor_id: str, name: str, is_person: bool, table: dict, by_surname: dict
) -> tuple[str, str] | None:
    """The stored person an id or a lone surname stands for, if there is one."""
    if actor_id is None:
        return None
    target = table.get(actor_id)
    if target is None and is_person and name:
        words = name_words(name)
        if len(words) == 1:
            target = by_surname.get(words[0])
    return target if target and target[0] != actor_id else None


class ResolveWithStoredActors(beam.PTransform):
    """Streaming's cross-article step: ``{"mentions", "quotes"}`` resolved against the
    people earlier (batch) runs stored, with no wait for the end of the stream."""

    def __init__(self, records: list[ActorRecord]) -> None:
        super().__init__()
        self._table, self._by_surname = stored_people_table(records)

    def expand(self, streams):
        table, by_surname = self._table, self._by_surname

        def mention(m: Mention) -> Mention:
            target = resolve_with_stored(
                m.actor_id, m.actor_name, m.actor_type == "person", table, by_surname
            )
            if target is None:
                return m
            return replace(m, actor_id=target[0], actor_name=target[1])

        def quote(q: Quote) -> Quote:
            target = resolve_with_stored(
                q.speaker_id, q.speaker_name, True, table, by_surname
            )
            if target is None:
                return q
            return replace(q, speaker_id=target[0], speaker_name=target[1])

        return {
            "mentions": streams["mentions"] | "StoredMentions" >> beam.Map(mention),
            "quotes": streams["quotes"] | "StoredQuotes" >> beam.Map(quote),
        }


class SummariseActors(beam.PTransform):
    """Mentions of this run, plus stored actors → one merged record per actor."""

    def __init__(self, stored_actors: beam.PCollection | None = None) -> None:
        super().__init__()
        self._stored_actors = stored_actors

    def expand(self, mentions):
        current = (
            mentions
            | "KeyByActor" >> beam.Map(lambda m: (m.actor_id, m))
            | "GroupByActor" >> beam.GroupByKey()
            | "Summarise" >> beam.MapTuple(summarise_actor)
        )
        records = [current]
        if self._stored_actors is not None:
            records.append(self._stored_actors)
        return (
            tuple(records)
            | "AllRecords" >> beam.Flatten()
            | "KeyRecord" >> beam.Map(lambda r: (r.actor_id, r))
            | "GroupRecords" >> beam.GroupByKey()
            | "Merge" >> beam.MapTuple(lambda _id, rs: merge_actor(rs))
        )


# ------------------------------------------------------------------ actors dataset


def summarise_actor(actor_id: str, mentions: Iterable) -> ActorRecord:
    """One actor's record from its mentions in this run."""
    mentions = list(mentions)
    names: dict[str, int] = defaultdict(int)
    spellings: dict[str, int] = defaultdict(int)
    types: dict[str, int] = defaultdict(int)
    countries: dict[str, int] = defaultdict(int)
    for m in mentions:
        names[m.actor_name] += 1
        spellings[m.text] += 1
        types[m.actor_type] += 1
        if m.actor_country:
            countries[m.actor_country] += 1
    return _record(
        actor_id,
        names,
        types,
        countries,
        spellings,
        len(mentions),
        min(m.published_at for m in mentions),
        max(m.published_at for m in mentions),
    )


def merge_actor(records: Iterable) -> ActorRecord:
    """Several records of one actor (this run's and stored ones) as one."""
    records = list(records)
    names: dict[str, int] = defaultdict(int)
    types: dict[str, int] = defaultdict(int)
    countries: dict[str, int] = defaultdict(int)
    spellings: dict[str, int] = defaultdict(int)
    for r in records:
        if r.actor_name:
            names[r.actor_name] += r.mention_count
        types[r.actor_type or "other"] += r.mention_count
        if r.actor_country:
            countries[r.actor_country] += r.mention_count
        for rank, alias in enumerate(r.aliases or ()):
            spellings[alias] += max(r.mention_count - rank, 1)
    return _record(
        records[0].actor_id,
        names,
        types,
        countries,
        spellings,
        sum(r.mention_count for r in records),
        min(r.first_seen for r in records),
        max(r.last_seen for r in records),
    )


MAX_ALIASES = 50


def _most(counts: Mapping[str, int]) -> str:
    return min(counts, key=lambda k: (-counts[k], k)) if counts else ""


def _record(actor_id, names, types, countries, spellings, count, first, last):
    aliases = sorted(spellings, key=lambda k: (-spellings[k], k))[:MAX_ALIASES]
    return ActorRecord(
        actor_id=actor_id,
        actor_name=_most(names) or actor_id,
        actor_type=_most(types) or "other",
        actor_country=_most(countries) or None,
        aliases=aliases,
        mention_count=count,
        first_seen=first,
        last_seen=last,
    )
