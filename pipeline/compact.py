"""``newsbeam compact DIR``: rewrite each day's small files into a few big sorted ones.

Every ingest adds up to ``WRITE_SHARDS`` files per dataset per day, and a streaming
job adds them every window; compaction merges each closed day of each dataset into
as few files as ``--target-file-size`` allows (default 128 MiB), rows sorted by actor
and deduplicated by their id, in row groups an actor filter can skip.

It is a planner and an executor. The planner (pure: ``plan``) decides from a listing
which (dataset, day) pairs need work. The executor rewrites one pair at a time:

1. read the day's files; mentions and quotes whose article is not stored yet (an
   ingest still running, or killed before its articles) are left for later;
2. write an intent, ``_compaction/DATASET-DAY.json``, naming inputs and outputs;
3. write each output under a hidden name and rename it (content-addressed, so a
   retry makes the same names);
4. delete the inputs, then the intent.

Killed at any point, the next run first finishes or undoes what an intent names:
all outputs present -> delete the inputs left (roll forward); some missing -> delete
the outputs written (roll back). Readers never see a partial file; between steps 3
and 4 they may briefly see a day's rows twice, never none.

A lease (``pipeline.directory``) keeps compaction away from a running batch ingest
and from another compaction, and a streaming ingest's lease names the first day it
may still write, which compaction leaves alone unless ``--include-open-dates``.

``--convert`` rewrites an output of newsbeam 0.1 (``date=/actor=`` folders, old
column names) into this release's layout and columns; ``--layout`` moves an output
between the ``date`` and ``date-actor`` layouts.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from newsbeam.pipeline import directory
from newsbeam.schemas import ACTORS_SPEC, DATASETS, DatasetSpec
from newsbeam.schemas import layout as paths
from newsbeam.schemas.layout import DATE, DATE_ACTOR, LEGACY, StoredFile
from newsbeam.transforms.common import read_bytes, utc_now, write_atomically
from newsbeam.transforms.sinks import parquet_bytes

LOG = logging.getLogger("newsbeam")
MIB = 1024 * 1024
DEFAULT_TARGET_FILE_SIZE = 128 * MIB
EXIT_USAGE = 2
EXIT_BUSY = 3  # another job holds DIR: a scheduler should try again later

# ------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Job:
    """One dataset's files of one day, to be rewritten together."""

    dataset: str
    day: date
    inputs: tuple[StoredFile, ...]

    @property
    def id(self) -> str:
        return paths.job_id(self.dataset, self.day)


def in_target_form(file: StoredFile, layout: str) -> bool:
    """Whether a file already sits where ``layout`` puts it, as compaction wrote it."""
    if not file.compacted:
        return False
    if layout == DATE_ACTOR and DATASETS[file.dataset].actor_field:
        return file.actor_key == DATASETS[file.dataset].actor_field
    return file.actor_key is None


def needs_rewrite(files: list[StoredFile], layout: str) -> bool:
    """A day needs work when a file is out of place, or a folder holds more than
    one file that is not the output of one earlier compaction."""
    if any(f.actor_key not in (None, DATASETS[f.dataset].actor_field) for f in files):
        return True  # newsbeam 0.1 folders
    wants_actor = layout == DATE_ACTOR and DATASETS[files[0].dataset].actor_field
    if any((f.actor_key is not None) != bool(wants_actor) for f in files):
        return True  # the other layout
    by_folder: dict[str, list[StoredFile]] = defaultdict(list)
    for file in files:
        by_folder[file.path.rsplit("/", 1)[0]].append(file)
    return any(
        len(group) > 1 and not all(in_target_form(f, layout) for f in group)
        for group in by_folder.values()
    )


def plan(
    files: Iterable[StoredFile],
    layout: str,
    until: date | None,
    datasets: Iterable[str] | None = None,
) -> list[Job]:
    """The (dataset, day) pairs to rewrite, oldest day first, articles last.

    ``until`` is the last day that may be touched (None: every day).
    """
    wanted = set(datasets or DATASETS)
    groups: dict[tuple[str, date], list[StoredFile]] = defaultdict(list)
    for file in files:
        if file.dataset in wanted and (until is None or file.day <= until):
            groups[file.dataset, file.day].append(file)
    order = {"mentions": 0, "quotes": 1, "dead_letters": 2, "articles": 3}
    return [
        Job(name, day, tuple(sorted(group, key=lambda f: f.path)))
        for (name, day), group in sorted(
            groups.items(), key=lambda item: (item[0][1], order[item[0][0]])
        )
        if needs_rewrite(group, layout)
    ]


def effective_until(
    requested: date | None, now: datetime, streaming_open_from: date | None, force: bool
) -> date:
    """The last day compaction may touch: ``--until`` (default: the last closed day),
    and never a day a live streaming ingest may still write unless forced."""
    until = requested or paths.last_closed_date(now)
    if streaming_open_from is not None and not force:
        until = min(until, date.fromordinal(streaming_open_from.toordinal() - 1))
    return until


# ------------------------------------------------------------ tables (pure)


def upgrade(name: str, table: pa.Table) -> pa.Table:
    """A stored table in this release's columns, whatever release wrote it.

    newsbeam 0.1 wrote mentions with ``actor`` (= ``actor_id``) and ``country``,
    quotes with ``speaker`` and ``speaker_id = 'unknown'``, actors with ``name``,
    ``type`` and ``country``, and articles without ``outlet`` (which is the feed's
    title, ``source``, when the feed list names none). Columns this release added
    and no older file holds are NULL; '' in a nullable text column becomes NULL.
    """
    columns = dict(zip(table.column_names, table.columns, strict=True))
    if name == "mentions" and "actor" in columns:
        columns.pop("actor")
        columns.setdefault("actor_country", columns.pop("country", None))
    if name == "quotes" and "speaker" in columns:
        columns.setdefault("speaker_name", columns.pop("speaker"))
        speaker = columns["speaker_id"]
        columns["speaker_id"] = pc.if_else(
            pc.equal(speaker, "unknown"), pa.scalar(None, pa.string()), speaker
        )
    if name == "actors" and "name" in columns:
        columns.setdefault("actor_name", columns.pop("name"))
        columns.setdefault("actor_type", columns.pop("type", None))
        columns.setdefault("actor_country", columns.pop("country", None))
    if name == "articles" and "outlet" not in columns and "source" in columns:
        columns["outlet"] = columns["source"]
    spec = ACTORS_SPEC if name == "actors" else DATASETS[name]
    return conform(columns, spec.schema)


def conform(columns: dict, schema: pa.Schema) -> pa.Table:
    """Columns cast to ``schema``, missing ones NULL, empty text NULL."""
    rows = len(next(iter(c for c in columns.values() if c is not None), []))
    arrays = []
    for target in schema:
        column = columns.get(target.name)
        if column is None:
            arrays.append(pa.nulls(rows, target.type))
            continue
        column = column.cast(target.type)
        if target.nullable and target.type in (pa.string(), pa.large_string()):
            empty = pc.equal(column, pa.scalar("", target.type))
            column = pc.if_else(empty, pa.scalar(None, target.type), column)
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=schema)


def row_keys(name: str, table: pa.Table) -> list[str]:
    """Each row's identity (``schemas.layout.row_key`` over a table)."""
    columns = [table.column(c).to_pylist() for c in paths.row_id_columns(name)]
    return [
        "\x1e".join(str(v) for v in values) for values in zip(*columns, strict=True)
    ]


def merge(name: str, tables: list[pa.Table]) -> pa.Table:
    """One table of every row once (by its id), in the dataset's sort order."""
    spec = DATASETS[name]
    table = pa.concat_tables(tables) if tables else spec.schema.empty_table()
    seen: set[str] = set()
    keep = []
    for key in row_keys(name, table):
        keep.append(key not in seen)
        seen.add(key)
    if not all(keep):
        table = table.filter(pa.array(keep))
    return sort_table(spec, table)


def sort_table(spec: DatasetSpec, table: pa.Table) -> pa.Table:
    """Rows in the dataset's order; Arrow puts NULLs last, as the writer does."""
    keys = [(k, "ascending") for k in spec.sort_by if k in table.column_names]
    return table.sort_by(keys) if keys else table


SAMPLE_ROWS = 64 * 1024


def rows_per_file(table: pa.Table, spec: DatasetSpec, target_bytes: int) -> int:
    """How many rows make a file of about ``target_bytes``, judged by writing a
    sample of them: the input files' sizes say little (a thousand tiny files are
    mostly footers)."""
    if table.num_rows == 0:
        return 1
    sample = table.slice(0, SAMPLE_ROWS)
    per_row = len(parquet_bytes(sample, spec)) / sample.num_rows
    return max(1, int(target_bytes / per_row))


def split(table: pa.Table, per_file: int) -> list[pa.Table]:
    """Consecutive slices of nearly equal size, none over ``per_file`` rows."""
    count = max(1, math.ceil(table.num_rows / per_file))
    size = math.ceil(table.num_rows / count)
    return [table.slice(start, size) for start in range(0, table.num_rows, size)]


def outputs_for(
    output: str,
    name: str,
    day: date,
    table: pa.Table,
    layout: str,
    per_file: int,
) -> list[tuple[str, pa.Table]]:
    """Where the merged rows of one day go: ``(path, rows)`` per output file."""
    spec = DATASETS[name]
    groups: list[tuple[str, pa.Table]] = []
    day_folder = paths.date_partition(day)
    if layout == DATE_ACTOR and spec.actor_field:
        actor_ids = table.column(spec.actor_field)
        for value in pc.unique(actor_ids).to_pylist():
            selected = (
                pc.is_null(actor_ids) if value is None else pc.equal(actor_ids, value)
            )
            folder = f"{day_folder}/{paths.actor_partition(spec.actor_field, value)}"
            groups.append((folder, table.filter(selected)))
    else:
        groups.append((day_folder, table))
    placed = []
    for folder, rows in groups:
        for part in split(rows, per_file):
            file = paths.file_name(
                name, row_keys(name, part), prefix=paths.COMPACTED_PREFIX
            )
            placed.append((paths.data_file(output, name, folder, file), part))
    return placed


# ------------------------------------------------------------------ executor


def read_table(path: str) -> pa.Table:
    return pq.read_table(pa.BufferReader(read_bytes(path)))


def stored_article_ids(output: str, day: date) -> set[str]:
    folder = f"{paths.dataset_dir(output, 'articles')}/{paths.date_partition(day)}"
    ids: set[str] = set()
    for path, _size in directory.match(f"{folder}/*.parquet"):
        if paths.parse_data_path(output, path) is None:
            continue
        table = pq.read_table(pa.BufferReader(read_bytes(path)), columns=["article_id"])
        ids.update(table.column("article_id").to_pylist())
    return ids


def write_intent(output: str, job: Job, outputs: list[str], owner: str) -> str:
    path = paths.intent_path(output, job.id)
    body = {
        "job": job.id,
        "dataset": job.dataset,
        "day": job.day.isoformat(),
        "inputs": [f.path for f in job.inputs],
        "outputs": outputs,
        "owner": owner,
        "written_at": utc_now().isoformat(),
    }
    write_atomically(path, json.dumps(body, indent=1).encode())
    return path


def finish_intent(intent_path: str, intent: dict) -> str:
    """Complete or undo the swap an intent describes; returns what was done."""
    inputs, outputs = set(intent["inputs"]), set(intent["outputs"])
    if all(directory.exists(p) for p in outputs):
        directory.delete(sorted(inputs - outputs))
        done = "finished"
    else:
        directory.delete(sorted(outputs - inputs))
        done = "undone"
    directory.delete([intent_path])
    return done


def recover(output: str, say: Callable[[str], None]) -> int:
    """Every swap a killed compaction left half done, finished or undone."""
    count = 0
    for path, _size in directory.match(paths.intents_glob(output)):
        try:
            intent = json.loads(read_bytes(path))
        except (OSError, ValueError) as error:
            raise RuntimeError(f"unreadable compaction intent {path}") from error
        done = finish_intent(path, intent)
        say(f"  {done} the interrupted compaction of {intent['job']}")
        count += 1
    return count


@dataclass
class JobResult:
    job: Job
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # articles not stored yet


def run_job(
    output: str,
    job: Job,
    layout: str,
    target_bytes: int,
    owner: str,
    keep_orphans: bool = False,
) -> JobResult:
    """Rewrite one dataset's day (steps 1-4 of the module docstring)."""
    result = JobResult(job)
    tables = {f.path: upgrade(job.dataset, read_table(f.path)) for f in job.inputs}
    inputs = list(job.inputs)
    if job.dataset in ("mentions", "quotes") and not keep_orphans:
        stored = stored_article_ids(output, job.day)
        ready = [
            f
            for f in inputs
            if set(tables[f.path].column("article_id").to_pylist()) <= stored
        ]
        result.left = [f.path for f in inputs if f not in ready]
        inputs = ready
    if not inputs or not needs_rewrite(inputs, layout):
        return result
    spec = DATASETS[job.dataset]
    merged = merge(job.dataset, [tables[f.path] for f in inputs])
    per_file = rows_per_file(merged, spec, target_bytes)
    placed = outputs_for(output, job.dataset, job.day, merged, layout, per_file)
    job = Job(job.dataset, job.day, tuple(inputs))
    targets = [path for path, _rows in placed]
    intent = write_intent(output, job, targets, owner)
    input_paths = {f.path for f in inputs}
    for path, rows in placed:
        if path in input_paths and directory.exists(path):
            continue  # same name, same rows: it is already there
        write_atomically(path, parquet_bytes(rows, spec))
        result.written.append(path)
    stale = sorted(input_paths - set(targets))
    directory.delete(stale)
    result.deleted = stale
    directory.delete([intent])
    return result


def convert_actors(output: str) -> bool:
    """newsbeam 0.1's actors table in this release's columns (one atomic rewrite)."""
    path = paths.actors_file(output)
    if not directory.exists(path):
        return False
    table = read_table(path)
    if "name" not in table.column_names:
        return False
    upgraded = sort_table(ACTORS_SPEC, upgrade("actors", table))
    write_atomically(path, parquet_bytes(upgraded, ACTORS_SPEC))
    return True


@dataclass
class Totals:
    files: int = 0
    bytes: int = 0


def totals(files: list[StoredFile]) -> dict[str, Totals]:
    found = {name: Totals() for name in DATASETS}
    for file in files:
        found[file.dataset].files += 1
        found[file.dataset].bytes += file.size
    return found


@dataclass
class Report:
    output: str
    layout: str
    until: date | None
    before: dict[str, Totals]
    after: dict[str, Totals]
    days: int = 0
    left: int = 0
    recovered: int = 0
    stopped: str | None = None
    planned: list[Job] = field(default_factory=list)

    def lines(self, datasets: Iterable[str]) -> list[str]:
        until = self.until.isoformat() if self.until else "every day"
        out = [f"newsbeam compact: {self.output} (layout {self.layout}, up to {until})"]
        for name in datasets:
            b, a = self.before[name], self.after[name]
            out.append(
                f"  {name:<13} {b.files:>7,} files {human(b.bytes):>10}  ->  "
                f"{a.files:>7,} files {human(a.bytes):>10}"
            )
        out.append(
            f"  {self.days} dataset-days rewritten"
            + (f", {self.left} files left: their articles are not stored yet"
               if self.left else "")
            + (f", {self.recovered} interrupted compactions resolved"
               if self.recovered else "")
        )  # fmt: skip
        if self.stopped:
            out.append(f"  stopped early: {self.stopped}; run it again later")
        return out


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


class CompactionRefused(ValueError):
    """A compaction that must not start: the message says why and what to do."""


def compact(
    output: str,
    *,
    datasets: tuple[str, ...] | None = None,
    until: date | None = None,
    target_file_size: int = DEFAULT_TARGET_FILE_SIZE,
    layout: str | None = None,
    convert: bool = False,
    wait_seconds: float = 0.0,
    include_open_dates: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
    say: Callable[[str], None] = print,
) -> Report:
    """Compact ``output``; see the module docstring. Raises ``CompactionRefused``
    and ``directory.LeaseBusy`` with one-line messages."""
    found = directory.read_layout(output)
    if found is None:
        raise CompactionRefused(f"no newsbeam output found at {output}")
    if found == LEGACY and not convert:
        raise CompactionRefused(
            f"{output} was written by newsbeam 0.1 (date=/actor= folders, old column "
            "names): add --convert to rewrite it into this release's layout"
        )
    target = layout or (DATE if found == LEGACY else found)
    names = tuple(datasets or DATASETS)
    relayout = convert or target != found
    with directory.compaction_lease(output, wait_seconds, say) as holder:
        now = now or utc_now()
        stream_from = directory.open_from(holder.others())
        last = (
            None
            if relayout
            else effective_until(until, now, stream_from, include_open_dates)
        )
        if relayout and until is not None:
            raise CompactionRefused("--until cannot be combined with a conversion")
        if relayout and stream_from is not None:
            raise CompactionRefused(
                f"a streaming ingest writes to {output}: stop it before converting"
            )
        before = directory.data_files(output)
        report = Report(output, target, last, totals(before), totals(before))
        report.recovered = recover(output, say) if not dry_run else 0
        if report.recovered:
            before = directory.data_files(output)
        jobs = plan(before, target, last, names)
        report.planned = jobs
        if dry_run:
            return report
        if relayout:
            directory.record_layout(output, target)
            convert_actors(output)
        for job in jobs:
            holder.check()
            blockers = directory.compaction_blockers(holder.others())
            if blockers:
                report.stopped = f"a {blockers[0].describe()} started"
                break
            result = run_job(
                output, job, target, target_file_size, holder.lease.owner, relayout
            )
            report.days += bool(result.written or result.deleted)
            report.left += len(result.left)
        report.after = totals(directory.data_files(output))
    return report


# ----------------------------------------------------------------------- CLI


def parse_size(text: str) -> int:
    """Bytes, or a number with K/M/G (powers of 1024): ``134217728``, ``128M``."""
    units = {"": 1, "K": 1024, "M": MIB, "G": 1024 * MIB}
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = cleaned, ""
    if cleaned and cleaned[-1] in "KMG":
        number, unit = cleaned[:-1], cleaned[-1]
    try:
        size = int(float(number) * units[unit])
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}") from error
    if size <= 0:
        raise argparse.ArgumentTypeError("the target file size must be positive")
    return size


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"not a date (YYYY-MM-DD): {text!r}"
        ) from error


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbeam compact",
        description="Rewrite each closed day of an output into a few large files "
        "sorted by actor. Idempotent and safe to kill: rerun it to finish. Any Beam "
        "filesystem option (--s3_endpoint_url, ...) is passed on.",
    )
    parser.add_argument("output", help="The --output directory of newsbeam ingest.")
    parser.add_argument(
        "--dataset",
        action="append",
        choices=sorted(DATASETS),
        help="Compact only this dataset (repeatable; default: all).",
    )
    parser.add_argument(
        "--until",
        type=parse_day,
        help="Last day to compact (default: the last closed day, "
        f"{paths.LATENESS.days} day after it ended; never a day a running streaming "
        "ingest may still write).",
    )
    parser.add_argument(
        "--target-file-size",
        type=parse_size,
        default=DEFAULT_TARGET_FILE_SIZE,
        help="About how big each output file gets, in bytes or with K/M/G "
        "(default 128M).",
    )
    parser.add_argument(
        "--layout",
        choices=list(paths.LAYOUTS),
        help="Rewrite the output into this layout (default: the one it has).",
    )
    parser.add_argument(
        "--convert",
        action="store_true",
        help="Convert an output written by newsbeam 0.1 (date=/actor= folders, old "
        "column names) into this release's layout and columns.",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="Wait up to this long for a running ingest or compaction to finish "
        "(default 0: refuse at once, exit code 3).",
    )
    parser.add_argument(
        "--include-open-dates",
        action="store_true",
        help="Also compact days a running streaming ingest may still write.",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="Say what would be rewritten; change "
        "nothing."
    )  # fmt: skip
    return parser


def main(argv: list[str]) -> int:
    args, rest = parser().parse_known_args(argv)
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions
    from newsbeam.pipeline.cli import _unknown_flags

    unknown = _unknown_flags(PipelineOptions, rest)
    if unknown or [r for r in rest if not r.startswith("-")]:
        bad = (unknown or rest)[0]
        print(
            f"newsbeam: error: unknown argument {bad} (see 'newsbeam compact --help')",
            file=sys.stderr,
        )
        return EXIT_USAGE
    FileSystems.set_options(PipelineOptions(rest))
    output = args.output
    if "://" not in output:
        import os

        output = os.path.abspath(output)
    try:
        report = compact(
            output,
            datasets=tuple(args.dataset) if args.dataset else None,
            until=args.until,
            target_file_size=args.target_file_size,
            layout=args.layout,
            convert=args.convert,
            wait_seconds=args.wait,
            include_open_dates=args.include_open_dates,
            dry_run=args.dry_run,
        )
    except (CompactionRefused, paths.LayoutError) as error:
        print(f"newsbeam: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (directory.LeaseBusy, directory.LeaseLost) as error:
        print(f"newsbeam: error: {error}; try again later", file=sys.stderr)
        return EXIT_BUSY
    names = tuple(args.dataset) if args.dataset else tuple(DATASETS)
    if args.dry_run:
        for job in report.planned:
            print(f"would rewrite {job.dataset} {job.day} ({len(job.inputs)} files)")
        print(f"{len(report.planned)} dataset-days to rewrite")
        return 0
    print("\n".join(report.lines(names)))
    return 0
