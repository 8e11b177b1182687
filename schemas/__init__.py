"""Arrow schemas and row types: the one place where newsbeam's columns are defined.

Every row that travels through the pipeline is one of the dataclasses below; the sinks
turn them into Arrow tables with the schema of the same name. ``tests/test_schemas.py``
proves that each row type and its schema name the same columns in the same order.

One vocabulary across datasets: an actor is ``actor_id``/``actor_name``/``actor_type``/
``actor_country`` wherever it appears (mentions, actors), a quote's speaker is
``speaker_id``/``speaker_name``/``speaker_country``; a missing value is NULL, never
``''`` (``to_table`` enforces it for every nullable text column); ``start_char`` and
``end_char`` are 0-based character offsets into ``articles.text``, end exclusive.

Partition columns (``date``, and in the ``date-actor`` layout the actor id) live in
directory names (hive style); ``schemas.layout`` owns every path under an output.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
# One part of a quote's content: 0-based character offsets into articles.text.
SEGMENT = pa.struct(
    [pa.field("start_char", pa.int32()), pa.field("end_char", pa.int32())]
)

# --------------------------------------------------------------------------- rows


def _pickled_as_tuples(cls):
    """Pickle rows as (class, field values): Beam pickles every row that crosses
    a shuffle, and the dataclass default (a state dict built from ``fields()``)
    costs a third more each way."""
    values = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))

    def __reduce__(self):
        return cls, values(self)

    cls.__reduce__ = __reduce__
    return cls


@_pickled_as_tuples
@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a parsed feed, before it becomes an article (never written)."""

    feed_url: str
    source: str
    link: str
    guid: str
    title: str
    published: datetime | None
    updated: datetime | None
    fetched_at: datetime
    html: str
    date_error: str = ""
    outlet: str | None = None  # from the feed list, else the feed's title
    outlet_country: str | None = None  # ISO 3166-1 alpha-2, when known


@_pickled_as_tuples
@dataclass(frozen=True, slots=True)
class Article:
    article_id: str
    feed_url: str
    source: str  # the feed's own title
    outlet: str | None  # who published it: the feed list's name, else the feed title
    outlet_country: str | None  # ISO 3166-1 alpha-2 of the outlet, NULL if unknown
    url: str
    guid: str | None
    title: str | None
    published_at: datetime
    date_source: str  # published | updated | fetched
    fetched_at: datetime
    language: str
    text: str  # headline, blank line, body: every offset indexes into this
    word_count: int
    text_source: str  # feed | page


@_pickled_as_tuples
@dataclass(frozen=True, slots=True)
class Mention:
    mention_id: str
    article_id: str
    actor_id: str
    actor_name: str
    actor_type: str  # person | organisation | place | group | other
    actor_country: str | None  # actor id of the country the actor belongs to
    label: str
    text: str
    start_char: int
    end_char: int
    published_at: datetime


@_pickled_as_tuples
@dataclass(frozen=True, slots=True)
class Quote:
    quote_id: str
    article_id: str
    speaker_id: str | None  # actor id; NULL when the speaker is not known
    speaker_name: str | None  # the actor's canonical name
    speaker_text: str | None  # the source as written: "He", "a spokesman for Disney"
    speaker_role: str | None  # spokesman, minister, official...
    speaker_country: str | None  # actor id of the speaker's country
    quote: str  # the content: its segments joined by a space
    segments: tuple[tuple[int, int], ...]  # (start_char, end_char) of each part
    kind: str  # direct | indirect | mixed
    cue: str | None
    start_char: int  # the first segment's start
    end_char: int  # the last segment's end
    speaker_start_char: int | None
    speaker_end_char: int | None
    rule: str
    confidence: float
    published_at: datetime


@_pickled_as_tuples
@dataclass(frozen=True, slots=True)
class ActorRecord:
    """One actor as seen across every run into an output directory."""

    actor_id: str
    actor_name: str
    actor_type: str
    actor_country: str | None
    aliases: list[str]  # spellings seen in the text, most frequent first
    mention_count: int
    first_seen: datetime
    last_seen: datetime


@_pickled_as_tuples
@dataclass(frozen=True, slots=True)
class DeadLetter:
    stage: str
    source: str
    error: str
    detail: str
    payload: str
    occurred_at: datetime


# ------------------------------------------------------------------------ schemas

ARTICLES = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("feed_url", pa.string()),
        pa.field("source", pa.string()),
        pa.field("outlet", pa.string()),
        pa.field("outlet_country", pa.string()),
        pa.field("url", pa.string()),
        pa.field("guid", pa.string()),
        pa.field("title", pa.string()),
        pa.field("published_at", TS, nullable=False),
        pa.field("date_source", pa.string()),
        pa.field("fetched_at", TS),
        pa.field("language", pa.string()),
        pa.field("text", pa.large_string()),
        pa.field("word_count", pa.int32()),
        pa.field("text_source", pa.string()),
    ]
)

MENTIONS = pa.schema(
    [
        pa.field("mention_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("actor_id", pa.string(), nullable=False),
        pa.field("actor_name", pa.string()),
        pa.field("actor_type", pa.string()),
        pa.field("actor_country", pa.string()),
        pa.field("label", pa.string()),
        pa.field("text", pa.string()),
        pa.field("start_char", pa.int32()),
        pa.field("end_char", pa.int32()),
        pa.field("published_at", TS),
    ]
)

QUOTES = pa.schema(
    [
        pa.field("quote_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("speaker_id", pa.string()),
        pa.field("speaker_name", pa.string()),
        pa.field("speaker_text", pa.string()),
        pa.field("speaker_role", pa.string()),
        pa.field("speaker_country", pa.string()),
        pa.field("quote", pa.large_string()),
        pa.field("segments", pa.list_(SEGMENT)),
        pa.field("kind", pa.string()),
        pa.field("cue", pa.string()),
        pa.field("start_char", pa.int32()),
        pa.field("end_char", pa.int32()),
        pa.field("speaker_start_char", pa.int32()),
        pa.field("speaker_end_char", pa.int32()),
        pa.field("rule", pa.string()),
        pa.field("confidence", pa.float32()),
        pa.field("published_at", TS),
    ]
)

ACTORS = pa.schema(
    [
        pa.field("actor_id", pa.string(), nullable=False),
        pa.field("actor_name", pa.string()),
        pa.field("actor_type", pa.string()),
        pa.field("actor_country", pa.string()),
        pa.field("aliases", pa.list_(pa.string())),
        pa.field("mention_count", pa.int64()),
        pa.field("first_seen", TS),
        pa.field("last_seen", TS),
    ]
)

DEAD_LETTERS = pa.schema(
    [
        pa.field("stage", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("error", pa.string()),
        pa.field("detail", pa.string()),
        pa.field("payload", pa.large_string()),
        pa.field("occurred_at", TS),
    ]
)

# Partition columns, typed explicitly for every reader (pyarrow, DuckDB, Polars).
# An actor partition is named after the column it holds (``actor_id=``,
# ``speaker_id=``), so hive readers see the same columns whatever the layout.
PARTITION_TYPES: dict[str, pa.DataType] = {
    "date": pa.date32(),
    "actor_id": pa.string(),
    "speaker_id": pa.string(),
}


@dataclass(frozen=True)
class DatasetSpec:
    """What the layout needs to know about one dataset.

    ``date_field`` gives the day (the ``date=`` partition); ``actor_field`` is the
    actor id rows are clustered by (sorted first, and the actor folder of the
    ``date-actor`` layout); ``sort_by`` is the order of rows inside every file,
    NULLs last. Which folders a layout makes is ``schemas.layout``'s business.
    """

    name: str
    schema: pa.Schema
    row_type: type
    date_field: str
    actor_field: str | None = None
    sort_by: tuple[str, ...] = field(default=())


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "articles",
            ARTICLES,
            Article,
            "published_at",
            sort_by=("published_at", "article_id"),
        ),
        DatasetSpec(
            "mentions",
            MENTIONS,
            Mention,
            "published_at",
            actor_field="actor_id",
            sort_by=("actor_id", "article_id", "start_char", "mention_id"),
        ),
        DatasetSpec(
            "quotes",
            QUOTES,
            Quote,
            "published_at",
            actor_field="speaker_id",
            sort_by=("speaker_id", "article_id", "start_char", "quote_id"),
        ),
        DatasetSpec(
            "dead_letters",
            DEAD_LETTERS,
            DeadLetter,
            "occurred_at",
            sort_by=("stage", "source", "error", "detail"),
        ),
    )
}

ROW_TYPES = {spec.row_type: spec for spec in DATASETS.values()}

# Not partitioned: one small table, rewritten whole by each run (DIR/actors/*.parquet).
ACTORS_SPEC = DatasetSpec(
    "actors", ACTORS, ActorRecord, "last_seen", sort_by=("actor_id",)
)


def spec_for(row: Any) -> DatasetSpec:
    return ROW_TYPES[type(row)]


def row_fields(row_type: type) -> list[str]:
    return [f.name for f in dataclasses.fields(row_type)]


def _missing_as_null(schema: pa.Schema) -> frozenset[str]:
    return frozenset(
        f.name
        for f in schema
        if f.nullable and f.type in (pa.string(), pa.large_string())
    )


_NULL_IF_EMPTY = {
    id(s): _missing_as_null(s)
    for s in (ARTICLES, MENTIONS, QUOTES, ACTORS, DEAD_LETTERS)
}


def _segments(value) -> list[dict] | None:
    if value is None:
        return None
    return [{"start_char": start, "end_char": end} for start, end in value]


def to_table(rows: list[Any], spec: DatasetSpec) -> pa.Table:
    """Rows of one type as an Arrow table with the dataset's explicit schema.

    An empty string in a nullable text column is written as NULL: a missing title,
    GUID or country is missing, not a value a query should have to know about.
    """
    null_if_empty = _NULL_IF_EMPTY.get(id(spec.schema), frozenset())
    columns = {}
    for name in spec.schema.names:
        values = [getattr(r, name) for r in rows]
        if name in null_if_empty:
            values = [None if v == "" else v for v in values]
        elif name == "segments":
            values = [_segments(v) for v in values]
        columns[name] = values
    return pa.Table.from_pydict(columns, schema=spec.schema)


def from_table(table: pa.Table, spec: DatasetSpec) -> list[Any]:
    """Rows of a stored table (the inverse of ``to_table``, NULLs kept as None)."""
    names = [f.name for f in dataclasses.fields(spec.row_type)]
    rows = []
    for record in table.to_pylist():
        values = {k: record.get(k) for k in names}
        if "segments" in values and values["segments"] is not None:
            values["segments"] = tuple(
                (s["start_char"], s["end_char"]) for s in values["segments"]
            )
        rows.append(spec.row_type(**values))
    return rows


def pyarrow_partitioning(name: str, layout: str = "date"):
    """The hive partitioning of a dataset, for ``pyarrow.dataset.dataset``."""
    import pyarrow.dataset as ds
    from newsbeam.schemas.layout import partitioning_schema

    return ds.partitioning(partitioning_schema(DATASETS[name], layout), flavor="hive")
