"""Across articles: one id per person (and per defined short name) for the whole run.

The in-article rules (``mentions``) resolve names against one article. These rules run
once per job over every actor the job saw, plus those earlier runs stored in the
``actors`` dataset, so that "Cameron" alone in one article joins "David Cameron" from
another, whatever the order of the input or the number of workers. Streaming cannot
wait for the end of the run, so it resolves against the stored actors only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace

import apache_beam as beam
from newsbeam.schemas import ActorRecord, Mention, Quote
from newsbeam.transforms.actors.names import alias_key, name_words, slugify
from newsbeam.transforms.actors.organisations import is_acronym, name_forms

# Only these join by short form or acronym: people have their own rules, and a
# place's short form ("Indiana") is another place.
_FORM_TYPES = frozenset({"organisation", "group", "other"})


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


def short_form_rewrites(
    uses: Iterable[tuple[str, str, str, str]],
) -> dict[str, tuple[str, str]]:
    """``{old id: (new id, new name)}`` for organisations written short in one
    article and in full in another.

    ``uses`` are ``(actor_id, actor_name, actor_type, alias_key(text))`` of every
    organisation, group or other mention (and stored alias). An actor known only by
    its own name ("IE6", "Scientology") goes to the one other actor that carries
    that name as a defined acronym ("Internet Explorer 6", written "IE6" where it
    was defined), or whose name has it as a short form ("Church of Scientology").
    Two candidates, or none, and it stays as it is: a wrong merge costs more than a
    split.
    """
    keys: dict[str, set[str]] = defaultdict(set)
    info: dict[str, tuple[str, str]] = {}
    for actor_id, name, actor_type, key in uses:
        if actor_type in _FORM_TYPES and actor_id:
            keys[actor_id].add(key)
            info[actor_id] = (name, actor_type)
    carriers: dict[str, set[str]] = defaultdict(set)
    shorts: dict[str, set[str]] = defaultdict(set)
    for actor_id, used in keys.items():
        name_key = alias_key(info[actor_id][0])
        for key in used - {name_key}:
            carriers[key].add(actor_id)
        for form in name_forms(info[actor_id][0]) - {name_key}:
            shorts[form].add(actor_id)
    rewrites = {}
    for actor_id, used in sorted(keys.items()):
        name = info[actor_id][0]
        name_key = alias_key(name)
        if used != {name_key} or actor_id != slugify(name):
            continue  # resolved in its article already, or known by other names
        targets = (carriers[name_key] if is_acronym(name) else set()) | shorts[name_key]
        targets.discard(actor_id)
        if len(targets) == 1:
            target = next(iter(targets))
            rewrites[actor_id] = (target, info[target][0])
    return rewrites


def rewrite_table(
    counted: Iterable[tuple[tuple[str, str], int]],
    uses: Iterable[tuple[str, str, str, str]] = (),
) -> dict:
    """``{old id: (new id, new name)}`` from people's ``((actor_id, name), mentions)``
    pairs and the other actors' ``uses`` (see ``short_form_rewrites``)."""
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

    table = {old: (new, best_name(new)) for old, new in sorted(rewrites.items())}
    table.update(short_form_rewrites(uses))
    return table


def mention_use(m: Mention) -> tuple[str, str, str, str]:
    return (m.actor_id, m.actor_name, m.actor_type, alias_key(m.text))


def stored_uses(record: ActorRecord) -> list[tuple[str, str, str, str]]:
    """A stored actor's name and aliases, as the uses ``short_form_rewrites`` reads."""
    texts = {record.actor_name or "", *(record.aliases or ())}
    return [
        (record.actor_id, record.actor_name, record.actor_type, alias_key(t))
        for t in sorted(texts)
        if t
    ]


def _table(counted: list, uses: list) -> dict:
    return rewrite_table(counted, uses)


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
        uses = [
            mentions
            | "Others" >> beam.Filter(lambda m: m.actor_type != "person")
            | "OtherUses" >> beam.Map(mention_use)
        ]
        if self._stored_actors is not None:
            uses.append(
                self._stored_actors
                | "StoredOthers" >> beam.Filter(lambda a: a.actor_type != "person")
                | "StoredUses" >> beam.FlatMap(stored_uses)
            )
        all_uses = (
            tuple(uses)
            | "AllUses" >> beam.Flatten()
            | "DistinctUses" >> beam.Distinct()
            | "UseList" >> beam.combiners.ToList()
        )
        table = (
            tuple(sources)
            | "AllPeople" >> beam.Flatten()
            | "CountNames" >> beam.CombinePerKey(sum)
            | "AllCounts" >> beam.combiners.ToList()
            | "RewriteTable" >> beam.Map(_table, beam.pvalue.AsSingleton(all_uses))
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
    records = list(records)
    people = [r for r in records if r.actor_type == "person" and r.actor_name]
    table = rewrite_table(((r.actor_id, r.actor_name), r.mention_count) for r in people)
    by_surname: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in people:
        words = name_words(r.actor_name)
        if len(words) >= 2 and r.actor_id not in table:
            by_surname[words[-1]].add((r.actor_id, r.actor_name))
    unique = {w: next(iter(ids)) for w, ids in by_surname.items() if len(ids) == 1}
    return table, unique


def stored_short_forms(records: Iterable[ActorRecord]) -> dict:
    """``{short form's id: (stored id, name)}``: the ids a new mention would get for
    an acronym or short form that the stored actors define ("IE6" -> the stored
    "Internet Explorer 6" whose aliases hold "IE6"), found without the run."""
    targets: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in records:
        if r.actor_type not in _FORM_TYPES or not r.actor_name:
            continue
        own = alias_key(r.actor_name)
        for alias in r.aliases or ():
            if is_acronym(alias) and alias_key(alias) != own:
                targets[slugify(alias)].add((r.actor_id, r.actor_name))
        for form in name_forms(r.actor_name) - {own}:
            targets[slugify(form)].add((r.actor_id, r.actor_name))
    return {
        short: next(iter(found))
        for short, found in targets.items()
        if len(found) == 1 and next(iter(found))[0] != short
    }


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
    actors earlier (batch) runs stored, with no wait for the end of the stream:
    people by spelling and surname, organisations by the acronyms and short forms
    the stored actors define."""

    def __init__(self, records: list[ActorRecord]) -> None:
        super().__init__()
        records = list(records)
        self._table, self._by_surname = stored_people_table(records)
        self._forms = stored_short_forms(records)

    def expand(self, streams):
        table, by_surname, forms = self._table, self._by_surname, self._forms

        def mention(m: Mention) -> Mention:
            is_person = m.actor_type == "person"
            target = resolve_with_stored(
                m.actor_id, m.actor_name, is_person, table, by_surname
            )
            if target is None and not is_person:
                target = forms.get(m.actor_id)
            if target is None:
                return m
            return replace(m, actor_id=target[0], actor_name=target[1])

        def quote(q: Quote) -> Quote:
            target = resolve_with_stored(
                q.speaker_id, q.speaker_name, True, table, by_surname
            )
            if target is None and q.speaker_id not in table:
                target = forms.get(q.speaker_id)
            if target is None:
                return q
            return replace(q, speaker_id=target[0], speaker_name=target[1])

        return {
            "mentions": streams["mentions"] | "StoredMentions" >> beam.Map(mention),
            "quotes": streams["quotes"] | "StoredQuotes" >> beam.Map(quote),
        }


def cross_article_rewrites(mentions) -> dict[str, str]:
    """``{old id: new id}`` for mentions of several articles: what the batch pass
    (``ResolveAcrossArticles``) does, as one pure function over plain mentions."""
    counted: dict[tuple[str, str], int] = defaultdict(int)
    uses = set()
    for m in mentions:
        if m.actor_type == "person":
            counted[(m.actor_id, m.actor_name)] += 1
        else:
            uses.add((m.actor_id, m.actor_name, m.actor_type, alias_key(m.text)))
    table = rewrite_table(counted.items(), uses)
    return {old: new for old, (new, _name) in table.items()}
