"""``newsbeam query``: DuckDB over an output directory.

Views ``articles``, ``mentions``, ``quotes``, ``dead_letters`` (and ``actors`` when
present) read the hive-partitioned Parquet of whichever layout the directory holds,
with the partition columns typed explicitly (``date`` DATE; in the ``date-actor``
layout the actor folder repeats ``actor_id``/``speaker_id``, read as VARCHAR), so the
views have the same columns in both layouts and an all-digit actor id never changes
a query's meaning. A dataset with no files yet is an empty view with the right
columns, so queries never fail on a fresh directory.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa
from newsbeam.schemas import ACTORS_SPEC, DATASETS
from newsbeam.schemas import layout as paths

_SQL_TYPES = {"date": "DATE", "actor_id": "VARCHAR", "speaker_id": "VARCHAR"}


def hive_types(name: str, layout: str = paths.DEFAULT_LAYOUT) -> str:
    """DuckDB's ``hive_types`` for a dataset: only the keys it is partitioned by."""
    keys = paths.partition_keys(DATASETS[name], layout)
    return "{" + ", ".join(f"'{k}': {_SQL_TYPES[k]}" for k in keys) + "}"


def _has_files(pattern: str) -> bool:
    if "://" in pattern:
        return True  # let DuckDB's httpfs decide; it reports a clear error itself
    return bool(glob.glob(pattern))


class NotAnOutputError(FileNotFoundError):
    """A folder that newsbeam did not write: querying it would answer 0 rows."""


# Each run writes its record under _runs/; older outputs may only hold datasets.
_DATASET_FOLDERS = (*DATASETS, "actors")


def check_output(output: str) -> None:
    """Refuse a local folder that is not a newsbeam output, with what to pass."""
    if "://" in output:
        return  # object stores have no folders to look at cheaply; DuckDB reports
    if not os.path.isdir(output):
        raise FileNotFoundError(f"output directory not found: {output}")
    if (
        os.path.isdir(paths.runs_dir(output))
        or os.path.isfile(paths.layout_record_path(output))
        or any(_holds_a_dataset(os.path.join(output, n)) for n in _DATASET_FOLDERS)
    ):
        return
    parent = os.path.dirname(os.path.abspath(output))
    name = os.path.basename(os.path.abspath(output))
    if name in _DATASET_FOLDERS and os.path.isdir(paths.runs_dir(parent)):
        raise NotAnOutputError(
            f"{output} is the {name} dataset inside a newsbeam output: "
            f"query {parent} and use the view {name}"
        )
    raise NotAnOutputError(
        f"not a newsbeam output directory: {output} (no _runs/ or datasets in it; "
        "pass the --output of newsbeam ingest)"
    )


def _holds_a_dataset(folder: str) -> bool:
    """Partition folders or Parquet files: what newsbeam writes in a dataset."""
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    return any(n.startswith("date=") or n.endswith(".parquet") for n in names)


def output_layout(output: str) -> str:
    """The directory's layout: its record, else what its folders show."""
    record = paths.layout_record_path(output)
    if "://" in output:
        try:
            data = duckdb.sql(f"SELECT content FROM read_text('{record}')").fetchone()
        except duckdb.Error:
            return paths.DEFAULT_LAYOUT
        return paths.layout_from_record(data[0].encode(), record)
    if os.path.isfile(record):
        with open(record, "rb") as handle:
            return paths.layout_from_record(handle.read(), record)
    found = [
        paths.parse_data_path(output, path.replace(os.sep, "/"))
        for name in ("mentions", "quotes")
        for path in glob.glob(f"{paths.dataset_dir(output, name)}/*/*/*.parquet")
    ]
    inferred = paths.infer_layout(f for f in found if f is not None)
    if inferred == paths.LEGACY:
        raise paths.LayoutError(
            f"{output} was written by newsbeam 0.1: convert it with "
            f"'newsbeam compact {output} --convert' to query it"
        )
    return inferred or paths.DEFAULT_LAYOUT


def connect(output: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per dataset under ``output``: every
    dataset, with its columns, whether or not any run has written it yet."""
    check_output(output)
    layout = output_layout(output)
    con = duckdb.connect()
    for name in DATASETS:
        pattern = paths.data_glob(output, name, layout)
        if _has_files(pattern):
            types = hive_types(name, layout)
            hive = f", hive_partitioning = true, hive_types = {types}"
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
                f"'{pattern}', union_by_name = true{hive})"
            )
        else:
            _empty_view(con, name, empty_table(name))
    actors = paths.actors_glob(output)
    if "://" not in output and _has_files(actors):
        con.execute(f"CREATE VIEW actors AS SELECT * FROM read_parquet('{actors}')")
    else:  # streaming-only outputs have no actors table yet
        _empty_view(con, "actors", ACTORS_SPEC.schema.empty_table())
    return con


def empty_table(name: str) -> pa.Table:
    """A dataset with no rows, with the columns a reader of its files would see.

    ``date`` is added; an actor folder adds no column, since it repeats one.
    """
    table = DATASETS[name].schema.empty_table()
    return table.append_column("date", pa.array([], type=pa.date32()))


def _empty_view(con: duckdb.DuckDBPyConnection, name: str, empty: pa.Table) -> None:
    """A view with these columns and no rows, defined in SQL alone, so no helper
    table shows up in ``SHOW TABLES``."""
    relation = con.from_arrow(empty)
    columns = ", ".join(
        f'CAST(NULL AS {sql_type}) AS "{column}"'
        for column, sql_type in zip(relation.columns, relation.types, strict=True)
    )
    con.execute(f"CREATE VIEW {name} AS SELECT {columns} WHERE false")


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def format_rows(columns: list[str], rows: list[tuple], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows],
            ensure_ascii=False,
            indent=1,
        )
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_plain(v) for v in row] for row in rows])
        return buffer.getvalue().rstrip("\n")
    return format_table(columns, rows)


def format_table(columns: list[str], rows: list[tuple], width: int = 60) -> str:
    def cell(value) -> str:
        text = "" if value is None else str(_plain(value))
        text = " ".join(text.split())
        return text if len(text) <= width else text[: width - 1] + "…"

    body = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in body]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    out = [line, rule]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in body]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def run_query(output: str, sql: str, fmt: str = "table") -> str:
    con = connect(output)
    try:
        relation = con.sql(sql)
        if relation is None:  # a statement with no result set
            return ""
        columns = relation.columns
        rows = relation.fetchall()
    finally:
        con.close()
    return format_rows(columns, rows, fmt)
