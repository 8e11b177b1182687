"""Arrow schemas and row types: the one place where newsbeam's columns are defined.

Every row that travels through the pipeline is one of the dataclasses below; the sinks
turn them into Arrow tables with the schema of the same name. ``tests/test_schemas.py``
proves that each row type and its schema name the same columns in the same order.

Partition columns (``date`` and, for mentions and quotes, ``actor``) live in the
directory names (hive style). They are typed explicitly by ``PARTITIONING`` so that an
all-digit actor id or a new column never changes how a reader sees them.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

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


@_pickled_as_tuples
@dataclass(frozen=True, slots=True)
class Article:
    article_id: str
    feed_url: str
    source: str
    url: str
    guid: str
    title: str
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
    actor: str  # equal to actor_id and to the partition value, so readers agree
    actor_name: str
    actor_type: str  # person | organisation | place | group | other
    country: str  # actor id of the country the actor belongs to, "" if none
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
    speaker_id: str
    speaker: str
    speaker_text: str
    quote: str
    kind: str  # direct | indirect | mixed
    cue: str
    start_char: int
    end_char: int
    speaker_start_char: int
    speaker_end_char: int
    rule: str
    confidence: float
    published_at: datetime


@_pickled_as_tuples
@dataclass(frozen=True, slots=True)
class ActorRecord:
    """One actor as seen across every run into an output directory."""

    actor_id: str
    name: str
    type: str
    country: str
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
        pa.field("actor", pa.string(), nullable=False),
        pa.field("actor_name", pa.string()),
        pa.field("actor_type", pa.string()),
        pa.field("country", pa.string()),
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
        pa.field("speaker_id", pa.string(), nullable=False),
        pa.field("speaker", pa.string()),
        pa.field("speaker_text", pa.string()),
        pa.field("quote", pa.large_string()),
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
        pa.field("name", pa.string()),
        pa.field("type", pa.string()),
        pa.field("country", pa.string()),
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
PARTITION_TYPES: dict[str, pa.DataType] = {"date": pa.date32(), "actor": pa.string()}


@dataclass(frozen=True)
class DatasetSpec:
    """How one dataset is laid out under the output directory."""

    name: str
    schema: pa.Schema
    row_type: type
    partition_by: tuple[str, ...]
    date_field: str
    actor_field: str | None = None
    sort_by: tuple[str, ...] = field(default=())

    @property
    def partitioning_schema(self) -> pa.Schema:
        return pa.schema([(key, PARTITION_TYPES[key]) for key in self.partition_by])


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "articles",
            ARTICLES,
            Article,
            ("date",),
            "published_at",
            sort_by=("published_at", "article_id"),
        ),
        DatasetSpec(
            "mentions",
            MENTIONS,
            Mention,
            ("date", "actor"),
            "published_at",
            actor_field="actor_id",
            sort_by=("article_id", "start_char", "mention_id"),
        ),
        DatasetSpec(
            "quotes",
            QUOTES,
            Quote,
            ("date", "actor"),
            "published_at",
            actor_field="speaker_id",
            sort_by=("article_id", "start_char", "quote_id"),
        ),
        DatasetSpec(
            "dead_letters",
            DEAD_LETTERS,
            DeadLetter,
            ("date",),
            "occurred_at",
            sort_by=("stage", "source", "error", "detail"),
        ),
    )
}

ROW_TYPES = {spec.row_type: spec for spec in DATASETS.values()}

# Not partitioned: one small table, rewritten whole by each run (DIR/actors/*.parquet).
ACTORS_SPEC = DatasetSpec(
    "actors", ACTORS, ActorRecord, (), "last_seen", sort_by=("actor_id",)
)


def spec_for(row: Any) -> DatasetSpec:
    return ROW_TYPES[type(row)]


def row_fields(row_type: type) -> list[str]:
    return [f.name for f in dataclasses.fields(row_type)]


def to_table(rows: list[Any], spec: DatasetSpec) -> pa.Table:
    """Rows of one type as an Arrow table with the dataset's explicit schema."""
    columns = {name: [getattr(r, name) for r in rows] for name in spec.schema.names}
    return pa.Table.from_pydict(columns, schema=spec.schema)


def pyarrow_partitioning(name: str):
    """The hive partitioning of a dataset, for ``pyarrow.dataset.dataset``."""
    import pyarrow.dataset as ds

    return ds.partitioning(DATASETS[name].partitioning_schema, flavor="hive")
