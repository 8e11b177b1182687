"""Every path under an output directory, and the two layouts its datasets can have.

One module owns the output's vocabulary of places, so that the writers (sinks, the
streaming commit, the run record, the feed state), the readers (``newsbeam query``)
and ``newsbeam compact`` cannot drift apart::

    DIR/_layout.json                                the layout record
    DIR/_leases/KIND-OWNER.json                     who works on DIR right now
    DIR/_compaction/JOB.json                        a compaction's intent
    DIR/_runs/RUN_ID.json                           the run record
    DIR/_state/feeds.json                           conditional-GET state per feed
    DIR/actors/actors.parquet                       one row per actor
    DIR/DATASET/date=YYYY-MM-DD/NAME.parquet        layout ``date`` (default)
    DIR/mentions/date=D/actor_id=ID/NAME.parquet    layout ``date-actor``
    DIR/quotes/date=D/speaker_id=ID/NAME.parquet    (NULL -> __HIVE_DEFAULT_PARTITION__)

``date`` partitions by day only and clusters rows by actor inside each file: rows
sorted by the actor id and written in row groups whose min/max statistics let every
reader skip the other actors. An actor folder per (day, actor) made files grow as
runs x actors (issue 13: 7,589 files for 383 articles, 63% of mention folders holding
a single row). ``date-actor`` keeps the folders for small curated feed sets, where
browsing a folder per actor helps. Its folder is named after the column it repeats
(``actor_id=``, ``speaker_id=``), so every hive reader sees the same columns in both.

Names beginning with ``_`` or ``.`` are skipped by Spark, pyarrow and Polars when they
discover a dataset, and no ``*.parquet`` glob matches a temporary name.

Everything here is pure; the I/O on these paths lives with its users.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

import pyarrow as pa
from newsbeam.schemas import DATASETS, PARTITION_TYPES, DatasetSpec

DATE = "date"
DATE_ACTOR = "date-actor"
LAYOUTS = (DATE, DATE_ACTOR)
DEFAULT_LAYOUT = DATE
# An output of newsbeam 0.1: date=/actor= folders and the old column names. Never
# written any more; ``newsbeam compact --convert`` rewrites it.
LEGACY = "legacy-0.1"
LEGACY_ACTOR_KEY = "actor"

# A run writes at most this many files per dataset per date (more only past
# MAX_ROWS_PER_FILE rows). Rows go to the shard of their article, so the articles
# file of (date, shard) commits exactly the mentions and quotes of the same
# (date, shard): after a crash the rerun rewrites those files under the same names.
WRITE_SHARDS = 4
MAX_ROWS_PER_FILE = 1_000_000
# Rows per Parquet row group, DuckDB's own default (122,880) rounded to 2^17: big
# enough for a reader's per-group overhead to vanish, small enough that at 100k
# articles a day (~3M mentions) an actor filter reads ~1 group in 25.
ROW_GROUP_ROWS = 128 * 1024
# A day is "closed" this long after it ended (UTC): a streaming job still writes
# late items into open days, and compaction leaves them alone unless told.
LATENESS = timedelta(days=1)

# What hive readers (Spark, DuckDB, pyarrow, Polars) read back as NULL.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_SAFE_VALUE = re.compile(r"^[a-z0-9][a-z0-9\-]{0,127}$")
INGEST_PREFIX = "part-"  # files an ingest writes
COMPACTED_PREFIX = "compact-"  # files a compaction writes
_ROW_ID = {
    "articles": ("article_id",),
    "mentions": ("mention_id",),
    "quotes": ("quote_id",),
    "dead_letters": ("stage", "source", "error", "detail", "payload", "occurred_at"),
}


class LayoutError(ValueError):
    """An output directory whose layout is not the one asked for, or unknown."""


class UnsafePartitionError(ValueError):
    """A partition value that could name a folder outside the output directory."""


# ------------------------------------------------------------------ top level


def root(output: str) -> str:
    return output.rstrip("/")


def layout_record_path(output: str) -> str:
    return f"{root(output)}/_layout.json"


def runs_dir(output: str) -> str:
    return f"{root(output)}/_runs"


def record_path(output: str, run_id: str) -> str:
    return f"{runs_dir(output)}/{run_id}.json"


def probe_path(output: str, token: str) -> str:
    """A throw-away object that proves the output is writable."""
    return f"{runs_dir(output)}/.probe-{token}"


def feed_state_path(output: str) -> str:
    return f"{root(output)}/_state/feeds.json"


def actors_file(output: str) -> str:
    return f"{root(output)}/actors/actors.parquet"


def actors_glob(output: str) -> str:
    return f"{root(output)}/actors/*.parquet"


def leases_dir(output: str) -> str:
    return f"{root(output)}/_leases"


def lease_path(output: str, kind: str, owner: str) -> str:
    return f"{leases_dir(output)}/{kind}-{owner}.json"


def leases_glob(output: str) -> str:
    return f"{leases_dir(output)}/*.json"


def compaction_dir(output: str) -> str:
    return f"{root(output)}/_compaction"


def intent_path(output: str, job: str) -> str:
    return f"{compaction_dir(output)}/{job}.json"


def intents_glob(output: str) -> str:
    return f"{compaction_dir(output)}/*.json"


def temporary_path(path: str, token: str) -> str:
    """A hidden name beside ``path``: no reader's glob or discovery sees it."""
    folder, name = path.rsplit("/", 1)
    return f"{folder}/.{name}.inprogress-{token}"


# ------------------------------------------------------------------- datasets


def dataset_dir(output: str, name: str) -> str:
    return f"{root(output)}/{name}"


def partition_keys(spec: DatasetSpec, layout: str) -> tuple[str, ...]:
    """The hive keys of a dataset's folders in a layout."""
    if layout == DATE_ACTOR and spec.actor_field:
        return ("date", spec.actor_field)
    if layout == LEGACY and spec.actor_field:
        return ("date", LEGACY_ACTOR_KEY)
    return ("date",)


def partitioning_schema(spec: DatasetSpec, layout: str = DEFAULT_LAYOUT) -> pa.Schema:
    types = {**PARTITION_TYPES, LEGACY_ACTOR_KEY: pa.string()}
    return pa.schema([(k, types[k]) for k in partition_keys(spec, layout)])


def data_glob(output: str, name: str, layout: str) -> str:
    """Every data file of a dataset: ``DIR/NAME/*/[*/]*.parquet``."""
    depth = len(partition_keys(DATASETS[name], layout))
    return "/".join([dataset_dir(output, name), *(["*"] * depth), "*.parquet"])


def partition_value(value: str) -> str:
    """The value as it may appear in a folder name, or an error: never ``/``, ``..``."""
    if not _SAFE_VALUE.match(value) or ".." in value:
        raise UnsafePartitionError(f"unsafe partition value {value!r}")
    return value


def date_partition(day: date) -> str:
    return f"date={day.isoformat()}"


def row_date(spec: DatasetSpec, row) -> date:
    moment: datetime = getattr(row, spec.date_field)
    return moment.date()


def partition_path(spec: DatasetSpec, row, layout: str = DEFAULT_LAYOUT) -> str:
    """``date=YYYY-MM-DD`` (or ``.../actor_id=ID`` in ``date-actor``) for a row."""
    parts = [date_partition(row_date(spec, row))]
    if layout == DATE_ACTOR and spec.actor_field:
        parts.append(actor_partition(spec.actor_field, getattr(row, spec.actor_field)))
    return "/".join(parts)


def actor_partition(key: str, value: str | None) -> str:
    value = NULL_PARTITION if value is None else partition_value(value)
    return f"{key}={value}"


def shard_of(spec: DatasetSpec, row) -> int:
    """The write shard of a row: its article's, so one commit unit spans datasets."""
    if spec.name == "dead_letters":
        key = f"{row.stage}\x1f{row.source}"
    else:
        key = row.article_id
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % WRITE_SHARDS


def file_key(spec: DatasetSpec, row, layout: str) -> tuple[str, int]:
    """Rows with the same key go to the same file of a run: (partition, shard).

    ``date-actor`` already splits a day by actor, so it writes one file per folder
    per run, as newsbeam always has.
    """
    shard = shard_of(spec, row) if layout == DATE else 0
    return partition_path(spec, row, layout), shard


def _digest(*parts: str, length: int = 20) -> str:
    data = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:length]


def row_key(name: str, row) -> str:
    """What identifies a row of a dataset (its id; the whole row for dead letters)."""
    return "\x1e".join(str(getattr(row, field)) for field in _ROW_ID[name])


def row_id_columns(name: str) -> tuple[str, ...]:
    return _ROW_ID[name]


def file_name(name: str, row_keys: Iterable[str], prefix: str = INGEST_PREFIX) -> str:
    """A name that depends only on which rows the file holds: a retried write of
    the same rows replaces its file instead of adding a second one."""
    return f"{prefix}{_digest(name, *sorted(row_keys))}.parquet"


def file_stem(spec: DatasetSpec, rows: list) -> str:
    name = file_name(spec.name, (row_key(spec.name, r) for r in rows))
    return name.removesuffix(".parquet")


def data_file(output: str, name: str, partition: str, file: str) -> str:
    return f"{dataset_dir(output, name)}/{partition}/{file}"


def job_id(name: str, day: date) -> str:
    """A compaction job's name: one per dataset and date."""
    return f"{name}-{day.isoformat()}"


# ----------------------------------------------------------------- reading paths


@dataclass(frozen=True)
class StoredFile:
    """One data file found under an output, placed by its path."""

    path: str
    dataset: str
    day: date
    actor_key: str | None  # the actor folder's key, if any (``actor_id``, ``actor``)
    actor_value: str | None
    size: int = 0

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[1]

    @property
    def compacted(self) -> bool:
        return self.name.startswith(COMPACTED_PREFIX)


_DATE_RE = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


def parse_data_path(output: str, path: str, size: int = 0) -> StoredFile | None:
    """Where a data file sits: dataset, date and actor folder; None if it is not one.

    Hidden and temporary names are never data.
    """
    prefix = root(output) + "/"
    if not path.startswith(prefix) or not path.endswith(".parquet"):
        return None
    parts = path[len(prefix) :].split("/")
    if len(parts) not in (3, 4) or parts[0] not in DATASETS:
        return None
    if parts[-1].startswith((".", "_")):
        return None
    match = _DATE_RE.match(parts[1])
    if not match:
        return None
    key = value = None
    if len(parts) == 4:
        key, _, value = parts[2].partition("=")
        if not value:
            return None
        value = None if value == NULL_PARTITION else value
    return StoredFile(
        path, parts[0], date.fromisoformat(match.group(1)), key, value, size
    )


def infer_layout(files: Iterable[StoredFile]) -> str | None:
    """The layout a set of data files was written in, for a DIR with no record.

    ``actor=`` folders are newsbeam 0.1's; ``actor_id=``/``speaker_id=`` folders are
    ``date-actor``; files right under ``date=`` are ``date``. None: no data yet.
    """
    found = None
    for file in files:
        if file.actor_key == LEGACY_ACTOR_KEY:
            return LEGACY
        if file.actor_key is not None:
            found = DATE_ACTOR
        elif file.dataset in ("mentions", "quotes") and found is None:
            found = DATE
    return found


# ------------------------------------------------------------- the layout record


def layout_record(layout: str) -> bytes:
    """``DIR/_layout.json``: which layout the datasets under DIR are written in."""
    if layout not in LAYOUTS:
        raise LayoutError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    body = {"layout": layout, "format": 1, "write_shards": WRITE_SHARDS}
    return json.dumps(body, indent=1).encode()


def layout_from_record(data: bytes, where: str = "") -> str:
    try:
        layout = json.loads(data).get("layout")
    except (ValueError, AttributeError) as error:
        raise LayoutError(f"unreadable layout record {where}".strip()) from error
    if layout not in LAYOUTS:
        raise LayoutError(f"unknown layout {layout!r} in {where or 'the record'}")
    return layout


def choose_layout(requested: str | None, found: str | None, output: str) -> str:
    """The layout an ingest into ``output`` writes, or a one-line refusal."""
    if found == LEGACY:
        raise LayoutError(
            f"{output} was written by newsbeam 0.1 (date=/actor= folders, old column "
            f"names): run 'newsbeam compact {output} --convert' first"
        )
    if found is None:
        return requested or DEFAULT_LAYOUT
    if requested and requested != found:
        raise LayoutError(
            f"{output} holds the '{found}' layout, not '{requested}': ingest without "
            f"--layout, or convert it with 'newsbeam compact {output} --layout "
            f"{requested}'"
        )
    return found


# ------------------------------------------------------------------ the leases

INGEST = "ingest"
COMPACT = "compact"
LEASE_SECONDS = 120.0  # a holder that stops renewing is presumed gone after this
RENEW_SECONDS = 30.0  # how often a holder rewrites its lease


@dataclass(frozen=True)
class Lease:
    """One job's claim on an output directory, rewritten while the job runs.

    Every holder writes its own object (``_leases/KIND-OWNER.json``), so no two
    writers ever race on one object, then lists every lease: of two that start
    together, at least one sees the other (object stores now list what was written
    before). ``open_from`` is set by a streaming ingest: the first date it may still
    write; a batch ingest may write any date.
    """

    kind: str  # ingest | compact
    owner: str  # unique per holder
    host: str
    pid: int
    acquired_at: str  # ISO 8601, UTC
    expires_at: str
    streaming: bool = False
    open_from: str | None = None  # ISO date, streaming ingests only
    run_id: str | None = None

    def live(self, now: datetime) -> bool:
        return datetime.fromisoformat(self.expires_at) > now

    def renewed(self, now: datetime, open_from: date | None = None) -> Lease:
        values = asdict(self)
        values["expires_at"] = (now + timedelta(seconds=LEASE_SECONDS)).isoformat()
        if open_from is not None:
            values["open_from"] = open_from.isoformat()
        return Lease(**values)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Lease:
        values = json.loads(data)
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def describe(self) -> str:
        what = "streaming ingest" if self.streaming else self.kind
        run = f" (run {self.run_id})" if self.run_id else ""
        return f"{what}{run} on {self.host} pid {self.pid} since {self.acquired_at}"


def new_lease(
    kind: str,
    owner: str,
    host: str,
    pid: int,
    now: datetime,
    streaming: bool = False,
    run_id: str | None = None,
) -> Lease:
    stamp = now.isoformat()
    lease = Lease(kind, owner, host, pid, stamp, stamp, streaming, None, run_id)
    return lease.renewed(now, first_open_date(now) if streaming else None)


def first_open_date(now: datetime) -> date:
    """The first day that is not yet closed: later items may still land in it."""
    return (now - LATENESS).date()


def last_closed_date(now: datetime) -> date:
    return first_open_date(now) - timedelta(days=1)
