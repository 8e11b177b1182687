"""Parquet datasets in the output's layout, written atomically through Beam.

Where each row goes is ``schemas.layout``'s: by default one folder per day, a few
files per day per run (one per write shard), rows sorted by actor inside each file
so that an actor filter skips the other row groups; ``--layout date-actor`` adds a
folder per actor. This module only writes what the layout names.

Why not ``fileio.WriteToFiles``: with nested destination folders it silently loses
data on local disk. Instead each file's rows are grouped by key and written with
pyarrow through Beam's ``FileSystems`` (so ``gs://`` and ``s3://`` work too):

* the file name is a digest of the rows' ids, so the same input gives the same file
  and a retried bundle overwrites its own file instead of adding a second one;
* each file is written under a hidden temporary name in its folder, then renamed, so a
  reader never sees half a file;
* partition values are slugs checked again by the layout, so no value can escape the
  output directory.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from newsbeam.schemas import (
    ACTORS_SPEC,
    DATASETS,
    ActorRecord,
    DatasetSpec,
    from_table,
    to_table,
)
from newsbeam.schemas import layout as paths
from newsbeam.schemas.layout import (  # noqa: F401 - re-exported for callers
    NULL_PARTITION,
    UnsafePartitionError,
    partition_path,
    partition_value,
)
from newsbeam.transforms.common import read_bytes, write_atomically

SMALL_TABLE_BYTES = 64 * 1024  # smaller tables are written with snappy, not zstd


def file_stem(spec: DatasetSpec, rows: list) -> str:
    """A name that depends only on which rows the file holds."""
    return paths.file_stem(spec, rows)


def _sort_value(value) -> tuple:
    """NULLs last, numbers as numbers: the order DuckDB and Spark would give."""
    if value is None:
        return (2, "")
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value))


def sort_rows(spec: DatasetSpec, rows: Iterable) -> list:
    return sorted(
        rows, key=lambda r: tuple(_sort_value(getattr(r, k)) for k in spec.sort_by)
    )


def sorting_columns(spec: DatasetSpec, schema: pa.Schema) -> list[pq.SortingColumn]:
    """The file's sort order, recorded in its footer for readers that use it."""
    return [
        pq.SortingColumn(schema.get_field_index(name), nulls_first=False)
        for name in spec.sort_by
        if name in schema.names
    ]


def parquet_bytes(
    table: pa.Table,
    spec: DatasetSpec | None = None,
    row_group_rows: int = paths.ROW_GROUP_ROWS,
) -> bytes:
    """The table as Parquet: zstd for real data, snappy for the many tiny files.

    Row groups of ``row_group_rows`` carry min/max statistics of every column; with
    rows sorted by actor, a filter on the actor id skips every group that cannot
    hold it. zstd spends ~0.4 ms setting up each column chunk, which is most of the
    cost of a file of a few rows, and such a file is no smaller with zstd than with
    snappy; nor does a dictionary pay for itself in a few rows.
    """
    sink = io.BytesIO()
    options = dict(row_group_size=row_group_rows, write_statistics=True)
    if spec is not None:
        options["sorting_columns"] = sorting_columns(spec, table.schema)
    if table.nbytes >= SMALL_TABLE_BYTES:
        pq.write_table(table, sink, compression="zstd", compression_level=3, **options)
    else:
        pq.write_table(
            table, sink, compression="snappy", use_dictionary=False, **options
        )
    return sink.getvalue()


def write_file(output: str, spec: DatasetSpec, partition: str, rows: list) -> list[str]:
    """Write one file's rows (sorted) into ``partition``; returns the paths written.

    More than ``MAX_ROWS_PER_FILE`` rows make more than one file.
    """
    rows = sort_rows(spec, rows)
    written = []
    for start in range(0, len(rows), paths.MAX_ROWS_PER_FILE):
        chunk = rows[start : start + paths.MAX_ROWS_PER_FILE]
        name = paths.file_name(spec.name, (paths.row_key(spec.name, r) for r in chunk))
        path = paths.data_file(output, spec.name, partition, name)
        write_atomically(path, parquet_bytes(to_table(chunk, spec), spec))
        written.append(path)
    return written


def group_by_file(spec: DatasetSpec, rows: Iterable, layout: str) -> dict:
    """Rows by the file of this run they belong to: ``(partition, shard) -> rows``."""
    groups: dict[tuple[str, int], list] = {}
    for row in rows:
        groups.setdefault(paths.file_key(spec, row, layout), []).append(row)
    return groups


class WriteFileFn(beam.DoFn):
    """Adapts ``write_file``; emits ``(dataset, rows, files)`` per file key."""

    def __init__(self, output: str, dataset: str) -> None:
        self._output = output
        self._dataset = dataset
        self.files = Metrics.counter("newsbeam", f"{dataset}_files_written")
        self.rows = Metrics.counter("newsbeam", f"{dataset}_rows_written")

    def process(self, element) -> Iterator[tuple[str, int, int]]:
        (partition, _shard), rows = element
        rows = list(rows)
        written = write_file(self._output, DATASETS[self._dataset], partition, rows)
        self.files.inc(len(written))
        self.rows.inc(len(rows))
        yield self._dataset, len(rows), len(written)


class RowsToList(beam.combiners.ToListCombineFn):
    """A file's rows as one list, whose partial lists cross the shuffle pickled whole.

    Beam's default coder for a list encodes it element by element, falling back to
    one ``pickle.dumps`` call per row object; one call for the whole list does the
    same work in C (a third of the shuffle's time on the benchmark corpus).
    """

    def get_accumulator_coder(self):
        return beam.coders.PickleCoder()


class WriteDataset(beam.PTransform):
    """Rows of one dataset → Parquet files, one per (partition, write shard).

    Emits ``(dataset, rows, files)`` once per file key, so that later steps can wait
    on the write and count what it wrote.
    """

    def __init__(self, output: str, dataset: str, layout: str) -> None:
        super().__init__()
        self._output = output
        self._dataset = dataset
        self._layout = layout

    def expand(self, rows):
        spec = DATASETS[self._dataset]
        layout = self._layout
        return (
            rows
            | "KeyByFile"
            >> beam.Map(lambda row: (paths.file_key(spec, row, layout), row))
            # A combine, not a GroupByKey: the runner gathers each bundle's rows per
            # file before the shuffle, which then moves lists, not single rows.
            | "GroupByFile" >> beam.CombinePerKey(RowsToList())
            | "WriteParquet" >> beam.ParDo(WriteFileFn(self._output, self._dataset))
        )


class WriteDatasets(beam.PTransform):
    """Writes articles, mentions, quotes, dead letters and actors under ``output``.

    Articles are written last: an article row is the commit marker that tells a later
    run the article is stored, so its mentions and quotes must already be on disk if
    a crash stops the job between the two. A run's mentions and quotes of one
    (date, shard) belong to the articles file of the same (date, shard), so a file
    is either wholly committed or wholly rewritten, under its own name, by the rerun.
    (Streaming commits per window instead: ``transforms.stream.CommitDatasets``.)
    """

    def __init__(self, output: str, layout: str = paths.DEFAULT_LAYOUT) -> None:
        super().__init__()
        self._output = output
        self._layout = layout

    def expand(self, datasets: dict):
        written = {
            name: datasets[name]
            | f"Write_{name}" >> WriteDataset(self._output, name, self._layout)
            for name in ("mentions", "quotes", "dead_letters")
        }
        if "actors" in datasets:
            written["actors"] = datasets["actors"] | "Write_actors" >> WriteActors(
                self._output
            )
        dependents_done = (
            tuple(
                written[name]
                for name in ("mentions", "quotes", "actors")
                if name in written
            )
            | "DependentsWritten" >> beam.Flatten()
            | "CountDependentWrites" >> beam.combiners.Count.Globally()
        )
        articles = datasets["articles"] | "WaitForMentionsAndQuotes" >> beam.Map(
            lambda article, _done: article, beam.pvalue.AsSingleton(dependents_done)
        )
        written["articles"] = articles | "Write_articles" >> WriteDataset(
            self._output, "articles", self._layout
        )
        return written


# --------------------------------------------------------------- stored article ids


def stored_article_files(output: str) -> list[str]:
    pattern = paths.data_glob(output, "articles", paths.DATE)
    try:
        [result] = FileSystems.match([pattern])
    except (OSError, ValueError, beam.io.filesystem.BeamIOError):
        return []
    return sorted(m.path for m in result.metadata_list)


def read_article_ids(path: str) -> list[str]:
    """Ids in one stored articles file; an unreadable file holds none (logged)."""
    try:
        table = pq.read_table(pa.BufferReader(read_bytes(path)), columns=["article_id"])
    except (OSError, pa.ArrowInvalid, KeyError) as error:
        logging.getLogger("newsbeam").warning(
            "skipping unreadable articles file %s: %s", path, error
        )
        return []
    return table.column("article_id").to_pylist()


class ReadStored(beam.PTransform):
    """What earlier runs left under ``output``.

    ``listing(output)`` names the pieces to read (spread over workers) and
    ``reader(piece)`` reads one; without a listing, ``reader(output)`` reads it all.
    The stored article ids feed the dedup step, which is what makes reruns and
    overlapping runs idempotent; the stored actors feed the actor pass.
    """

    def __init__(self, output: str, reader, listing=None) -> None:
        super().__init__()
        self._output = output
        self._reader = reader
        self._listing = listing

    def expand(self, pbegin):
        pieces = pbegin | "Start" >> beam.Create([self._output])
        if self._listing is not None:
            pieces = (
                pieces
                | "List" >> beam.FlatMap(self._listing)
                | "Spread" >> beam.Reshuffle()
            )
        return pieces | "Read" >> beam.FlatMap(self._reader)


def stored_article_ids(output: str) -> Iterator[str]:
    """Every article id stored under ``output``, read in this process."""
    for path in stored_article_files(output):
        yield from read_article_ids(path)


# ------------------------------------------------------------------------ actors


def read_actor_records(output: str) -> list[ActorRecord]:
    """The actors table earlier runs wrote, or nothing when there is none yet."""
    path = paths.actors_file(output)
    try:
        if not FileSystems.exists(path):
            return []
        table = pq.read_table(pa.BufferReader(read_bytes(path)))
    except (OSError, beam.io.filesystem.BeamIOError):
        return []
    return from_table(table, ACTORS_SPEC)


def write_actor_records(
    output: str, records: list[ActorRecord]
) -> tuple[str, int, int]:
    """Replace the actors table whole: it is small, and a rewrite keeps it one file."""
    rows = sort_rows(ACTORS_SPEC, records)
    table = to_table(rows, ACTORS_SPEC)
    write_atomically(paths.actors_file(output), parquet_bytes(table, ACTORS_SPEC))
    return "actors", len(rows), 1


class WriteActors(beam.PTransform):
    """All actor records → ``OUTPUT/actors/actors.parquet``, written once per run."""

    def __init__(self, output: str) -> None:
        super().__init__()
        self._output = output

    def expand(self, records):
        output = self._output
        return (
            records
            | "AllActors" >> beam.combiners.ToList()
            | "WriteActorsFile"
            >> beam.Map(lambda rows: write_actor_records(output, rows))
        )
