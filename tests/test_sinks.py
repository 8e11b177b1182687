"""Parquet sinks: layout, atomic deterministic files, safe partition values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import apache_beam as beam
import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from conftest import TEST_RUNNER, make_article
from newsbeam.schemas import (
    DATASETS,
    Article,
    DeadLetter,
    Mention,
    layout,
    pyarrow_partitioning,
)
from newsbeam.schemas.layout import DATE, DATE_ACTOR
from newsbeam.transforms.sinks import (
    ReadStored,
    UnsafePartitionError,
    WriteDatasets,
    partition_path,
    partition_value,
    read_article_ids,
    stored_article_files,
)

DAY1 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
DAY2 = datetime(2024, 3, 5, 23, 59, tzinfo=UTC)


def article(n: int, when: datetime = DAY1) -> Article:
    return make_article(f"a{n}", published_at=when)


def mention(n: int, actor: str, when: datetime = DAY1) -> Mention:
    return Mention(
        mention_id=f"m{n}",
        article_id=f"a{n}",
        actor_id=actor,
        actor_name=actor.title(),
        actor_type="person",
        actor_country=None,
        label="PERSON",
        text=actor,
        start_char=0,
        end_char=3,
        published_at=when,
    )


def test_partition_paths():
    assert partition_path(DATASETS["articles"], article(1, DAY2)) == "date=2024-03-05"
    assert partition_path(DATASETS["mentions"], mention(1, "1984")) == "date=2024-03-04"
    assert (
        partition_path(DATASETS["mentions"], mention(1, "1984"), DATE_ACTOR)
        == "date=2024-03-04/actor_id=1984"
    )
    assert (
        partition_path(DATASETS["articles"], article(1, DAY2), DATE_ACTOR)
        == "date=2024-03-05"
    )


def test_an_articles_rows_share_its_write_shard():
    """The articles file of (date, shard) commits exactly the mentions of the same
    (date, shard), so a rerun after a crash rewrites them under the same names."""
    shards = {
        layout.file_key(DATASETS["articles"], article(n), DATE) for n in range(1, 40)
    }
    assert len({shard for _date, shard in shards}) == layout.WRITE_SHARDS
    for n in range(1, 40):
        assert layout.file_key(DATASETS["articles"], article(n), DATE) == (
            layout.file_key(DATASETS["mentions"], mention(n, "russia"), DATE)
        )


@pytest.mark.parametrize("value", ["", "../etc", "a/b", "a\\b", "..", "A", "x" * 200])
def test_unsafe_partition_values_are_refused(value):
    with pytest.raises(UnsafePartitionError):
        partition_value(value)


def write(tmp_path, articles, mentions=(), dead=(), layout_name=DATE):
    with TestPipeline(runner=TEST_RUNNER) as p:
        datasets = {
            "articles": p | "A" >> beam.Create(list(articles)),
            "mentions": p | "M" >> beam.Create(list(mentions)),
            "quotes": p | "Q" >> beam.Create([]),
            "dead_letters": p | "D" >> beam.Create(list(dead)),
        }
        _ = datasets | WriteDatasets(str(tmp_path), layout_name)


def files(tmp_path):
    return sorted(
        p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
    )


FOLDERS = {
    DATE: [
        "articles/date=2024-03-04",
        "articles/date=2024-03-05",
        "dead_letters/date=2024-03-05",
        "mentions/date=2024-03-04",
        "mentions/date=2024-03-05",
    ],
    DATE_ACTOR: [
        "articles/date=2024-03-04",
        "articles/date=2024-03-05",
        "dead_letters/date=2024-03-05",
        "mentions/date=2024-03-04/actor_id=1984",
        "mentions/date=2024-03-04/actor_id=boris-johnson",
        "mentions/date=2024-03-05/actor_id=russia",
    ],
}


@pytest.mark.parametrize("layout_name", [DATE, DATE_ACTOR])
def test_layout_schema_and_idempotent_rerun(tmp_path, layout_name):
    arts = [article(1), article(2), article(3, DAY2)]
    ments = [
        mention(1, "boris-johnson"),
        mention(2, "1984"),
        mention(3, "russia", DAY2),
    ]
    dead = [DeadLetter("feeds", "f", "timeout", "", "", DAY2)]
    write(tmp_path, arts, ments, dead, layout_name)
    first = files(tmp_path)
    assert sorted({f.rsplit("/", 1)[0] for f in first}) == FOLDERS[layout_name]
    assert not [f for f in first if "inprogress" in f]
    contents = {f: (tmp_path / f).read_bytes() for f in first}

    # same input, other order
    write(tmp_path, reversed(arts), reversed(ments), dead, layout_name)
    assert files(tmp_path) == first
    assert {f: (tmp_path / f).read_bytes() for f in first} == contents

    table = ds.dataset(
        tmp_path / "mentions",
        format="parquet",
        partitioning=pyarrow_partitioning("mentions", layout_name),
    ).to_table()
    assert table.num_rows == 3
    assert sorted(table.column("actor_id").to_pylist()) == [
        "1984",
        "boris-johnson",
        "russia",
    ]
    read = ds.dataset(
        tmp_path / "articles",
        format="parquet",
        partitioning=pyarrow_partitioning("articles", layout_name),
    )
    assert (
        read.schema.field("published_at").type
        == DATASETS["articles"].schema.field("published_at").type
    )
    glob = layout.data_glob(str(tmp_path), "mentions", layout_name)
    rows = duckdb.sql(
        f"SELECT actor_id, date, count(*) FROM read_parquet('{glob}',"
        " hive_partitioning=true, hive_types={'date': DATE}) GROUP BY ALL"
        " ORDER BY actor_id"
    ).fetchall()
    assert [(r[0], str(r[1]), r[2]) for r in rows] == [
        ("1984", "2024-03-04", 1),
        ("boris-johnson", "2024-03-04", 1),
        ("russia", "2024-03-05", 1),
    ]


def test_a_run_writes_at_most_one_file_per_date_and_shard(tmp_path):
    """Many actors on one day: a handful of files, each sorted by actor, with
    statistics a reader can skip row groups by."""
    actors = [f"actor-{n:03d}" for n in range(60)]
    arts = [article(n) for n in range(40)]
    ments = [
        replace(mention(n * 100 + k, actors[(n * 7 + k) % 60]), article_id=f"a{n}")
        for n in range(40)
        for k in range(5)
    ]
    write(tmp_path, arts, ments)
    written = [f for f in files(tmp_path) if f.startswith("mentions/")]
    assert 1 < len(written) <= layout.WRITE_SHARDS
    for name in written:
        parquet = pq.ParquetFile(tmp_path / name)
        actor_ids = parquet.read().column("actor_id").to_pylist()
        assert actor_ids == sorted(actor_ids)
        stats = parquet.metadata.row_group(0).column(2).statistics
        assert stats.has_min_max and (stats.min, stats.max) == (
            actor_ids[0],
            actor_ids[-1],
        )
        sorting = parquet.metadata.row_group(0).sorting_columns
        assert [s.column_index for s in sorting][:2] == [2, 1]
        assert not sorting[0].nulls_first
    total = sum(pq.read_metadata(tmp_path / f).num_rows for f in written)
    assert total == len(ments)


def test_stored_article_ids_are_read_back(tmp_path):
    write(tmp_path, [article(1), article(2, DAY2)])
    paths = stored_article_files(str(tmp_path))
    assert len(paths) == 2
    assert sorted(i for p in paths for i in read_article_ids(p)) == ["a1", "a2"]
    assert stored_article_files(str(tmp_path / "nothing-here")) == []
    from apache_beam.testing.util import assert_that, equal_to

    with TestPipeline(runner=TEST_RUNNER) as p:
        ids = p | ReadStored(
            str(tmp_path), read_article_ids, listing=stored_article_files
        )
        assert_that(ids, equal_to(["a1", "a2"]))
