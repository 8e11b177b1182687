"""Parquet sinks: layout, atomic deterministic files, safe partition values."""

from __future__ import annotations

from datetime import UTC, datetime

import apache_beam as beam
import duckdb
import pyarrow.dataset as ds
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from conftest import TEST_RUNNER, make_article
from newsbeam.schemas import (
    DATASETS,
    Article,
    DeadLetter,
    Mention,
    pyarrow_partitioning,
)
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
    assert (
        partition_path(DATASETS["mentions"], mention(1, "1984"))
        == "date=2024-03-04/actor_id=1984"
    )


@pytest.mark.parametrize("value", ["", "../etc", "a/b", "a\\b", "..", "A", "x" * 200])
def test_unsafe_partition_values_are_refused(value):
    with pytest.raises(UnsafePartitionError):
        partition_value(value)


def write(tmp_path, articles, mentions=(), dead=()):
    with TestPipeline(runner=TEST_RUNNER) as p:
        datasets = {
            "articles": p | "A" >> beam.Create(list(articles)),
            "mentions": p | "M" >> beam.Create(list(mentions)),
            "quotes": p | "Q" >> beam.Create([]),
            "dead_letters": p | "D" >> beam.Create(list(dead)),
        }
        _ = datasets | WriteDatasets(str(tmp_path))


def files(tmp_path):
    return sorted(
        p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
    )


def test_layout_schema_and_idempotent_rerun(tmp_path):
    arts = [article(1), article(2), article(3, DAY2)]
    ments = [
        mention(1, "boris-johnson"),
        mention(2, "1984"),
        mention(3, "russia", DAY2),
    ]
    dead = [DeadLetter("feeds", "f", "timeout", "", "", DAY2)]
    write(tmp_path, arts, ments, dead)
    first = files(tmp_path)
    assert [f.rsplit("/", 1)[0] for f in first] == [
        "articles/date=2024-03-04",
        "articles/date=2024-03-05",
        "dead_letters/date=2024-03-05",
        "mentions/date=2024-03-04/actor_id=1984",
        "mentions/date=2024-03-04/actor_id=boris-johnson",
        "mentions/date=2024-03-05/actor_id=russia",
    ]
    assert not [f for f in first if "inprogress" in f]
    contents = {f: (tmp_path / f).read_bytes() for f in first}

    write(tmp_path, reversed(arts), reversed(ments), dead)  # same input, other order
    assert files(tmp_path) == first
    assert {f: (tmp_path / f).read_bytes() for f in first} == contents

    table = ds.dataset(
        tmp_path / "mentions",
        format="parquet",
        partitioning=pyarrow_partitioning("mentions"),
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
        partitioning=pyarrow_partitioning("articles"),
    )
    assert (
        read.schema.field("published_at").type
        == DATASETS["articles"].schema.field("published_at").type
    )
    rows = duckdb.sql(
        "SELECT actor_id, date, count(*) FROM read_parquet("
        f"'{tmp_path}/mentions/*/*/*.parquet',"
        " hive_partitioning=true, hive_types={'date': DATE, 'actor_id': VARCHAR})"
        " GROUP BY ALL ORDER BY actor_id"
    ).fetchall()
    assert [(r[0], str(r[1]), r[2]) for r in rows] == [
        ("1984", "2024-03-04", 1),
        ("boris-johnson", "2024-03-04", 1),
        ("russia", "2024-03-05", 1),
    ]


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
