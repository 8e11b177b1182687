"""How many row groups (and rows) each reader reads for an actor filter.

The default layout sorts each file by actor and writes row groups with min/max
statistics; a reader that uses them reads only the groups whose range can hold the
actor. Each function asks the reader itself, in its own terms:

* DuckDB: the profiler's ``row_groups_scanned`` / ``total_row_groups_to_scan``;
* Polars: its verbose log, "Predicate pushdown: reading N / M row groups";
* pyarrow: ``ParquetFileFragment.split_by_row_group(filter)``;
* Spark: the Parquet scan's ``numOutputRows`` (it returns whole row groups).

Returns ``(read, total)`` row groups, or rows for Spark.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def duckdb_row_groups(path: str | Path, actor: str) -> tuple[int, int]:
    import duckdb

    with tempfile.TemporaryDirectory() as folder:
        profile = Path(folder) / "profile.json"
        con = duckdb.connect()
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute(f"PRAGMA profiling_output = '{profile}'")
        con.execute(
            f"SELECT count(*) FROM read_parquet('{path}') WHERE actor_id = ?", [actor]
        ).fetchall()
        con.close()
        query = json.loads(profile.read_text())["query"]
    return query["total_row_groups_scanned"], query["total_row_groups_to_scan"]


_POLARS = re.compile(r"Predicate pushdown: reading (\d+) / (\d+) row groups")


def polars_row_groups(path: str | Path, actor: str) -> tuple[int, int]:
    """In a child process: Polars logs to the process's stderr when verbose."""
    code = (
        "import polars as pl, sys\n"
        f"pl.scan_parquet({str(path)!r}).filter(pl.col('actor_id') == {actor!r})"
        ".select(pl.len()).collect()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "POLARS_VERBOSE": "1"},
        timeout=120,
        check=True,
    )
    found = _POLARS.findall(done.stderr)
    if not found:
        raise RuntimeError("Polars did not report its row groups (log format?)")
    return sum(int(r) for r, _ in found), sum(int(t) for _, t in found)


def pyarrow_row_groups(path: str | Path, actor: str) -> tuple[int, int]:
    import pyarrow.dataset as ds

    fragment = next(ds.dataset(str(path), format="parquet").get_fragments())
    kept = fragment.split_by_row_group(ds.field("actor_id") == actor)
    return len(kept), fragment.metadata.num_row_groups


def spark_rows(spark, path: str | Path, actor: str) -> tuple[int, int]:
    """Rows the Parquet scan handed on (whole row groups), and rows in the file."""
    frame = spark.read.parquet(str(path))
    query = frame.filter(frame.actor_id == actor)
    query.collect()
    plan = query._jdf.queryExecution().executedPlan()
    leaves = plan.collectLeaves().iterator()
    scanned = None
    while leaves.hasNext():
        metrics = leaves.next().metrics()
        if metrics.contains("numOutputRows"):
            scanned = metrics.apply("numOutputRows").value()
    if scanned is None:
        raise RuntimeError("Spark's scan reported no numOutputRows")
    return int(scanned), frame.count()
