"""PySpark (local mode) reads both layouts and gets DuckDB's answers.

Java comes from the Debian package ``openjdk-17-jre-headless``, which ``make test``
installs when ``java`` is missing; PySpark is in the dev extra. The driver binds to
127.0.0.1 and the UI is off: nothing listens beyond loopback.

Spark reads each dataset with ``basePath`` set and partition type inference off,
so ``date`` (cast to DATE here) and, in ``date-actor``, ``actor_id``/``speaker_id``
stay strings, as the README says to read them.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import REPO
from newsbeam.pipeline import compact as compaction
from newsbeam.pipeline.query import connect
from newsbeam.schemas.layout import DATE, DATE_ACTOR

sys.path.insert(0, str(REPO / "benchmarks"))
import synthetic  # noqa: E402
from queries import answers, canonical_queries  # noqa: E402
from row_groups import spark_rows  # noqa: E402

pyspark = pytest.importorskip("pyspark", reason="PySpark is in the dev extra")
pytestmark = pytest.mark.slow

QUERIES = canonical_queries("united-kingdom", "russia", "sergei-lavrov")


@pytest.fixture(scope="module")
def spark():
    if shutil.which("java") is None:
        pytest.fail("java is missing: make test installs openjdk-17-jre-headless")
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # never another interface
    session = (
        SparkSession.builder.master("local[1]")
        .appName("newsbeam-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def spark_answers(spark, output: Path) -> dict[str, list[tuple]]:
    from pyspark.sql.functions import col

    for name in ("articles", "mentions", "quotes"):
        folder = str(output / name)
        frame = spark.read.option("basePath", folder).parquet(folder)
        frame.withColumn("date", col("date").cast("date")).createOrReplaceTempView(name)
    return {
        name: [tuple(row) for row in spark.sql(sql).collect()]
        for name, sql in QUERIES.items()
    }


def duckdb_answers(output: Path) -> dict[str, list[tuple]]:
    con = connect(str(output))
    try:
        return answers(con, QUERIES)
    finally:
        con.close()


def test_spark_reads_both_layouts_as_duckdb_does(spark, tmp_path):
    options = dict(mentions=3_000, days=3, actors=200, runs_per_day=2)
    outputs = {}
    for layout in (DATE, DATE_ACTOR):
        outputs[layout] = tmp_path / layout
        synthetic.write_output(outputs[layout], layout=layout, **options)
    expected = duckdb_answers(outputs[DATE])
    assert all(expected.values())
    for layout, output in outputs.items():
        assert duckdb_answers(output) == expected, layout
        assert spark_answers(spark, output) == expected, layout
        compaction.compact(str(output), say=lambda _line: None)
        assert spark_answers(spark, output) == expected, (layout, "compacted")


def test_spark_skips_row_groups_of_other_actors(spark, tmp_path):
    import pyarrow.parquet as pq
    from newsbeam.schemas import DATASETS
    from newsbeam.transforms.sinks import parquet_bytes

    output = tmp_path / "out"
    synthetic.write_output(output, mentions=4_000, days=1, actors=300)
    compaction.compact(str(output), say=lambda _line: None)
    [path] = (output / "mentions").rglob("*.parquet")
    small = tmp_path / "small.parquet"
    table = pq.read_table(path)
    small.write_bytes(parquet_bytes(table, DATASETS["mentions"], row_group_rows=500))
    scanned, total = spark_rows(spark, small, "sergei-lavrov")
    assert total == 4_000
    assert scanned in (500, 1_000)  # the one or two groups that can hold the actor
