"""The actors dataset: one record per actor, merged with what earlier runs stored."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

import apache_beam as beam
from newsbeam.schemas import ActorRecord


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
