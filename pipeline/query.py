"""``newsbeam query``: DuckDB over an output directory.

Views ``articles``, ``mentions``, ``quotes``, ``dead_letters`` (and ``actors`` when
present) read the hive-partitioned Parquet with the partition columns typed explicitly
(``date`` DATE, ``actor`` VARCHAR), so an all-digit actor id or a column added by a
newer release never changes a query's meaning. A dataset with no files yet is an
empty view with the right columns, so queries never fail on a fresh directory.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa
from newsbeam.schemas import ACTORS_SPEC, DATASETS

_SQL_TYPES = {"date": "DATE", "actor_id": "VARCHAR", "speaker_id": "VARCHAR"}


def hive_types(name: str) -> str:
    """DuckDB's ``hive_types`` for a dataset: only the keys it is partitioned by."""
    keys = DATASETS[name].partition_by
    return "{" + ", ".join(f"'{k}': {_SQL_TYPES[k]}" for k in keys) + "}"


def _glob(output: str, name: str) -> str:
    depth = len(DATASETS[name].partition_by) if name in DATASETS else 0
    return "/".join([output.rstrip("/"), name, *(["*"] * depth), "*.parquet"])


def _has_files(pattern: str) -> bool:
    import glob

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
    if os.path.isdir(os.path.join(output, "_runs")) or any(
        _holds_a_dataset(os.path.join(output, name)) for name in _DATASET_FOLDERS
    ):
        return
    parent = os.path.dirname(os.path.abspath(output))
    name = os.path.basename(os.path.abspath(output))
    if name in _DATASET_FOLDERS and os.path.isdir(os.path.join(parent, "_runs")):
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


def connect(output: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per dataset under ``output``: every
    dataset, with its columns, whether or not any run has written it yet."""
    check_output(output)
    con = duckdb.connect()
    for name in DATASETS:
        pattern = _glob(output, name)
        if _has_files(pattern):
            hive = f", hive_partitioning = true, hive_types = {hive_types(name)}"
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
                f"'{pattern}', union_by_name = true{hive})"
            )
        else:
            _empty_view(con, name, DATASETS[name])
    actors = f"{output.rstrip('/')}/actors/*.parquet"
    if "://" not in output and _has_files(actors):
        con.execute(f"CREATE VIEW actors AS SELECT * FROM read_parquet('{actors}')")
    else:  # streaming-only outputs have no actors table yet
        _empty_view(con, "actors", ACTORS_SPEC)
    return con


def _empty_view(con: duckdb.DuckDBPyConnection, name: str, spec) -> None:
    """A view with the dataset's columns and no rows, defined in SQL alone, so no
    helper table shows up in ``SHOW TABLES``."""
    empty = spec.schema.empty_table()
    for key in spec.partition_by:
        if key in spec.schema.names:  # a column the files hold as well
            continue
        empty = empty.append_column(
            key, pa.array([], type=spec.partitioning_schema.field(key).type)
        )
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
