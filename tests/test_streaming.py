"""Streaming: semantics under TestStream, then a live run against a growing feed.

TestStream runs on Beam's BundleBasedDirectRunner (the Python direct runner that
implements TestStream, watermarks and timers without downloading anything); the live
run uses the CLI, which runs the unbounded graph on the in-process FnApiRunner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from conftest import REPO, make_article
from newsbeam.schemas import DATASETS, Article, pyarrow_partitioning
from newsbeam.schemas.layout import DATE, file_key
from newsbeam.transforms.stream import CommitWindows, DedupAcrossPolls, prune
from servers import Route, serve

NOW = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)


def article(n: int, published: datetime = NOW, feed: str = "f") -> Article:
    return make_article(f"a{n}", published_at=published, feed_url=feed)


def streaming_pipeline() -> beam.Pipeline:
    return beam.Pipeline(
        runner=BundleBasedDirectRunner(), options=PipelineOptions(["--streaming"])
    )


def at(value, seconds: float):
    return window.TimestampedValue(value, seconds)


def test_prune_keeps_only_ids_within_retention():
    assert prune({"a": 0.0, "b": 50.0, "c": 99.0}, now=100.0, retention=60.0) == {
        "b": 50.0,
        "c": 99.0,
    }


def test_dedup_across_polls_keeps_first_sight_and_counts_the_rest():
    polls = (
        TestStream()
        .add_elements([at(article(1), 10), at(article(2), 10)])
        .advance_watermark_to(20)
        .add_elements([at(article(1, feed="g"), 30), at(article(3), 30)])
        .advance_watermark_to(40)
        .add_elements([at(article(2), 50)])
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        out = p | polls | DedupAcrossPolls(retention_seconds=3600)
        assert_that(
            out["articles"] | "Ids" >> beam.Map(lambda a: a.article_id),
            equal_to(["a1", "a2", "a3"]),
            label="FirstSightOnly",
        )
        assert_that(
            out["duplicates"],
            equal_to(
                [("g", "duplicate_across_polls"), ("f", "duplicate_across_polls")]
            ),
            label="RepeatsCounted",
        )


def test_dedup_forgets_ids_after_retention():
    polls = (
        TestStream()
        .add_elements([at(article(1), 10)])
        .advance_watermark_to(500)  # fires the prune timer set for 10 + 100
        .add_elements([at(article(1), 600)])  # long after retention: new again
        .add_elements([at(article(1), 650)])  # within retention of the last sight
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        out = p | polls | DedupAcrossPolls(retention_seconds=100)
        assert_that(
            out["articles"] | "Times" >> beam.Map(lambda a: a.article_id),
            equal_to(["a1", "a1"]),
            label="ForgottenThenSeen",
        )
        assert_that(
            out["duplicates"] | "Reasons" >> beam.Map(lambda d: d[1]),
            equal_to(["duplicate_across_polls"]),
            label="OneRepeat",
        )


def test_each_window_commits_its_own_files_and_late_items_keep_their_date(tmp_path):
    old = NOW - timedelta(days=3)
    stream = (
        TestStream()
        .add_elements([at(article(1), 10), at(article(2), 20)])
        .advance_watermark_to(70)  # closes window [0, 60)
        .add_elements([at(article(3), 80), at(article(4, published=old), 90)])
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        _ = p | stream | CommitWindows(str(tmp_path), "articles", 60)
    day = tmp_path / "articles" / f"date={NOW.date()}"
    late = tmp_path / "articles" / f"date={old.date()}"
    # One commit per window, one file per write shard among its rows.
    spec = DATASETS["articles"]
    shards = {
        (window, file_key(spec, article(n), DATE)[1])
        for window, n in ((0, 1), (0, 2), (1, 3))
    }
    assert len(list(day.glob("*.parquet"))) == len(shards)
    assert len(list(late.glob("*.parquet"))) == 1  # the old item in its own date
    table = ds.dataset(
        tmp_path / "articles", partitioning=pyarrow_partitioning("articles")
    ).to_table()
    assert sorted(table.column("article_id").to_pylist()) == ["a1", "a2", "a3", "a4"]


# ---------------------------------------------------------------------- live run


def rss(n_items: int) -> str:
    items = []
    for n in range(n_items):
        when = NOW + timedelta(hours=n)
        items.append(
            f"<item><title>Minister {n} speaks</title>"
            f"<link>https://news.example.test/story-{n}</link>"
            f"<pubDate>{format_datetime(when)}</pubDate><description>"
            + escape(
                f"<p>Foreign Minister Anna Berg met officials in Oslo on day {n}.</p>"
                f'<p>"We will keep talking," Berg said.</p>'
            )
            + "</description></item>"
        )
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Live</title>"
        "<link>https://news.example.test/</link><description>d</description>"
        + "".join(items)
        + "</channel></rss>"
    )


def newsbeam(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "newsbeam.pipeline.cli", "ingest", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate, timeout: float, process: subprocess.Popen) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if process.poll() is not None:
            return predicate()
        time.sleep(0.2)
    return False


def read_ids(output: Path, name: str, column: str) -> list[str]:
    folder = output / name
    if not folder.exists():
        return []
    table = ds.dataset(folder, partitioning=pyarrow_partitioning(name)).to_table()
    return table.column(column).to_pylist()


@pytest.mark.model
@pytest.mark.slow
def test_live_streaming_run_writes_while_running_and_each_item_once(tmp_path):
    xml = {"Content-Type": "application/rss+xml"}
    growing = [Route(body=rss(1), headers=xml)] * 2 + [Route(body=rss(3), headers=xml)]
    output = tmp_path / "out"
    with serve({"/live.xml": growing}) as server:
        process = newsbeam(
            "--streaming",
            "--feeds",
            server.url("/live.xml"),
            "--output",
            str(output),
            "--poll-interval",
            "2",
            "--max-polls",
            "5",
            "--fetch-articles",
            "never",
        )
        try:
            first_file = wait_for(
                lambda: any((output / "articles").rglob("*.parquet")), 120, process
            )
            running_when_written = process.poll() is None
            stdout, stderr = process.communicate(timeout=180)
        finally:
            process.kill()
        assert process.returncode == 0, stderr[-2000:]
        assert first_file and running_when_written, "no Parquet before the run ended"
        assert server.hits("/live.xml") == 5

    ids = read_ids(output, "articles", "article_id")
    assert len(ids) == 3 and len(set(ids)) == 3
    mention_ids = read_ids(output, "mentions", "mention_id")
    assert len(mention_ids) == len(set(mention_ids)) > 0
    [record_file] = (output / "_runs").glob("*.json")
    record = json.loads(record_file.read_text())
    counts = record["counts"]
    assert counts["articles_written"] == 3
    assert counts["items_seen"] == (
        counts["articles_written"] + counts["duplicates"] + counts["dead_letters_items"]
    )
    assert record["feeds"][0]["polls"] == 5
    assert "streaming" in record["runner"] and "run record" in stdout


@pytest.mark.model
@pytest.mark.slow
def test_sigterm_stops_cleanly_with_everything_written(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text(rss(2), encoding="utf-8")
    output = tmp_path / "out"
    process = newsbeam(
        "--streaming",
        "--feeds",
        str(feed),
        "--output",
        str(output),
        "--poll-interval",
        "1",
        "--fetch-articles",
        "never",
    )
    try:
        assert wait_for(
            lambda: any((output / "articles").rglob("*.parquet")), 120, process
        ), "nothing written"
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr[-2000:]
    assert sorted(read_ids(output, "articles", "article_id")) == sorted(
        set(read_ids(output, "articles", "article_id"))
    )
    assert len(read_ids(output, "articles", "article_id")) == 2
    [record_file] = (output / "_runs").glob("*.json")
    record = json.loads(record_file.read_text())
    assert record["counts"]["articles_written"] == 2
    assert json.loads((output / "_state" / "feeds.json").read_text())["feeds"]


@pytest.mark.model
@pytest.mark.slow
def test_streaming_resolves_surnames_against_people_a_batch_run_stored(tmp_path):
    from newsbeam.pipeline.cli import main

    output = tmp_path / "out"
    full = tmp_path / "full.xml"
    full.write_text(rss(1), encoding="utf-8")  # "Foreign Minister Anna Berg"
    assert (
        main(
            [
                "ingest",
                "--feeds",
                str(full),
                "--output",
                str(output),
                "--fetch-articles",
                "never",
            ]
        )
        == 0
    )
    later = tmp_path / "later.xml"
    later.write_text(
        rss(1)
        .replace("story-0", "story-99")
        .replace("Foreign Minister Anna Berg", "Berg"),
        encoding="utf-8",
    )
    assert (
        main(
            [
                "ingest",
                "--streaming",
                "--feeds",
                str(later),
                "--output",
                str(output),
                "--poll-interval",
                "1",
                "--max-polls",
                "1",
                "--fetch-articles",
                "never",
            ]
        )
        == 0
    )
    speakers = set(read_ids(output, "quotes", "speaker_id"))
    assert speakers == {"anna-berg"}
