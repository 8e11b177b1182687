"""End to end through the CLI: feeds served on 127.0.0.1 → Parquet read back.

These run the real spaCy model on the in-process FnApiRunner and read the output with
pyarrow, DuckDB and Polars, checking partitions, schemas, counts and reruns.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from conftest import REPO
from newsbeam.pipeline.cli import main
from newsbeam.pipeline.query import run_query
from newsbeam.schemas import DATASETS, pyarrow_partitioning
from newsbeam.schemas.layout import WRITE_SHARDS
from newsfeeds import STORIES, rss
from servers import Route, serve

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def feeds_server():
    xml = {"Content-Type": "application/rss+xml; charset=utf-8"}
    routes = {
        "/world.xml": Route(body=rss(STORIES[:2], "World"), headers=xml),
        # the first story again, with a tracking parameter: one article, one duplicate
        "/more.xml": Route(body=rss([STORIES[0], STORIES[2]], "More"), headers=xml),
        "/missing.xml": Route(status=404, body="gone"),
        "/page.xml": Route(
            body="<html><body><p>Not a feed</p></body></html>",
            headers={"Content-Type": "text/html"},
        ),
    }
    with serve(routes) as server:
        yield server


RUNS = iter(range(10**6))


def ingest(feeds: list[str], output: Path, *extra: str) -> dict:
    """Run the CLI and return this run's record (run ids are given, not guessed)."""
    run_id = f"test-{next(RUNS):06d}"
    argv = ["ingest", "--output", str(output), "--fetch-articles", "never"]
    argv += ["--run-id", run_id, *extra]
    for feed in feeds:
        argv += ["--feeds", feed]
    assert main(argv) == 0
    return json.loads((output / "_runs" / f"{run_id}.json").read_text())


@pytest.fixture(scope="module")
def first_run(feeds_server, tmp_path_factory):
    output = tmp_path_factory.mktemp("out")
    feeds = [
        feeds_server.url(p)
        for p in ("/world.xml", "/more.xml", "/missing.xml", "/page.xml")
    ]
    record = ingest(feeds, output)
    return feeds, output, record


def test_run_record_accounts_for_every_item(first_run):
    feeds, _output, record = first_run
    counts = record["counts"]
    assert counts["feeds"] == 4
    assert counts["items_seen"] == 4
    assert counts["articles_written"] == 3
    assert counts["duplicates"] == 1
    assert counts["items_seen"] == (
        counts["articles_written"] + counts["duplicates"] + counts["dead_letters_items"]
    )
    assert counts["dead_letters_feeds"] == 2
    assert [f["feed"] for f in record["feeds"]] == feeds
    status = {f["feed"].rsplit("/", 1)[1]: f for f in record["feeds"]}
    assert status["missing.xml"]["status"] == "failed"
    assert status["missing.xml"]["http_status"] == 404
    assert status["page.xml"]["status"] == "failed"
    for feed in record["feeds"]:  # the same accounting holds feed by feed
        assert feed["items_seen"] == (
            feed["articles_written"] + feed["duplicates"] + feed["dead_letters"]
        )
    assert status["world.xml"]["items_seen"] == 2
    assert status["more.xml"]["items_seen"] == 2
    assert record["runner"].startswith("FnApiRunner")


def test_layout_and_schemas(first_run):
    _feeds, output, _record = first_run
    assert sorted(p.name for p in (output / "articles").iterdir()) == [
        "date=2024-03-04",
        "date=2024-03-05",
    ]
    # The default layout: a folder per day, at most one file per write shard.
    assert json.loads((output / "_layout.json").read_text())["layout"] == "date"
    for name in ("mentions", "quotes", "articles"):
        for day in (output / name).iterdir():
            assert day.name.startswith("date=")
            assert 1 <= len(list(day.glob("*.parquet"))) <= WRITE_SHARDS
            assert not [p for p in day.iterdir() if p.is_dir()]
    assert list((output / "dead_letters").glob("date=*/*.parquet"))
    for name, spec in DATASETS.items():
        dataset = ds.dataset(
            output / name, format="parquet", partitioning=pyarrow_partitioning(name)
        )
        for field in spec.schema:
            assert dataset.schema.field(field.name).type == field.type, (name, field)
        assert dataset.schema.field("date").type == pa.date32()
    assert not list(output.rglob("*.inprogress*"))


def test_offsets_index_article_text(first_run):
    _feeds, output, _record = first_run
    con = duckdb.connect()
    rows = con.execute(
        f"""SELECT a.text, m.text, m.start_char, m.end_char
            FROM read_parquet('{output}/mentions/*/*.parquet', hive_partitioning=1,
                              hive_types={{'date': DATE}}) m
            JOIN read_parquet('{output}/articles/*/*.parquet') a USING (article_id)"""
    ).fetchall()
    assert rows
    for text, mention, start, end in rows:
        assert text[start:end] == mention
    quotes = con.execute(
        f"""SELECT a.text, q.quote, q.start_char, q.end_char, q.segments
            FROM read_parquet('{output}/quotes/*/*.parquet') q
            JOIN read_parquet('{output}/articles/*/*.parquet') a USING (article_id)"""
    ).fetchall()
    assert quotes
    for text, quote, start, end, segments in quotes:
        # One row per attribution: the content is its segments joined by a space,
        # and start/end span the whole, first segment to last.
        parts = [(s["start_char"], s["end_char"]) for s in segments]
        assert quote == " ".join(text[a:b] for a, b in parts)
        assert (start, end) == (parts[0][0], parts[-1][1])


def test_quotes_and_speakers(first_run):
    _feeds, output, _record = first_run
    answer = json.loads(
        run_query(
            str(output),
            "SELECT speaker_id, kind, quote FROM quotes ORDER BY speaker_id, quote",
            "json",
        )
    )
    said = {(r["speaker_id"], r["quote"]) for r in answer}
    assert any(
        s == "david-cameron" and q.startswith("We will not be intimidated")
        for s, q in said
    )
    assert any(s == "sergei-lavrov" and "lowest point" in q for s, q in said)
    assert any(
        s == "david-cameron" and r["kind"] == "indirect"
        for r in answer
        for s in [r["speaker_id"]]
    )


def test_query_views_and_polars(first_run):
    _feeds, output, _record = first_run
    table = run_query(
        str(output),
        "SELECT date, count(*) AS n FROM articles GROUP BY date ORDER BY date",
    )
    assert "2024-03-04" in table and "(2 rows)" in table
    csv_out = run_query(str(output), "SELECT count(*) AS n FROM dead_letters", "csv")
    assert csv_out.splitlines()[0] == "n" and int(csv_out.splitlines()[1]) >= 2
    frame = pl.scan_parquet(
        f"{output}/mentions/*/*.parquet",
        hive_partitioning=True,
        hive_schema={"date": pl.Date},
    ).collect()
    assert frame.schema["date"] == pl.Date
    assert "united-kingdom" in set(frame["actor_id"].to_list())


def test_rerun_adds_nothing(first_run):
    feeds, output, _record = first_run
    before = run_query(str(output), "SELECT count(*) FROM articles", "csv")
    mentions_before = run_query(str(output), "SELECT count(*) FROM mentions", "csv")
    record = ingest(feeds, output)  # unchanged feeds: skipped by body digest
    assert record["counts"]["articles_written"] == 0
    assert record["counts"]["items_seen"] == 0
    assert {f["status"] for f in record["feeds"][:2]} == {"not_modified"}
    (output / "_state" / "feeds.json").unlink()  # forget the feed state: items are
    record = ingest(feeds, output)  # parsed again, and dedup against stored ids
    assert record["counts"]["articles_written"] == 0
    assert record["counts"]["duplicates"] == 4
    assert run_query(str(output), "SELECT count(*) FROM articles", "csv") == before
    assert run_query(str(output), "SELECT count(*) FROM mentions", "csv") == (
        mentions_before
    )


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "newsbeam.pipeline.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "--output", "/tmp/x"], "no feeds given"),
        (
            ["ingest", "--feeds", "/nonexistent/list.txt", "--output", "/tmp/x"],
            "feed source not readable",
        ),
        (
            [
                "ingest",
                "--feeds",
                "examples/feeds/local.txt",
                "--output",
                "/proc/newsbeam-out",
            ],
            "output not writable",
        ),
        (
            [
                "ingest",
                "--feeds",
                "examples/feeds/local.txt",
                "--output",
                "/tmp/x",
                "--spacy-model",
                "no_such_model",
            ],
            "is not installed",
        ),
        (
            [
                "ingest",
                "--feeds",
                "examples/feeds/local.txt",
                "--output",
                "/tmp/x",
                "--direct_num_workers=2",
                "--direct_running_mode=multi_threading",
            ],
            "use --direct_running_mode=multi_processing",
        ),
        (["ingest", "--feedz", "x"], "unknown option --feedz"),
        (["frobnicate"], "unknown command"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args, message):
    done = run_cli(*args)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], done.stderr


def test_query_errors_are_one_line(tmp_path):
    (tmp_path / "_runs").mkdir()  # a newsbeam output that has no data yet
    done = run_cli("query", str(tmp_path), "SELEC nonsense")
    assert done.returncode == 2
    assert done.stderr.startswith("newsbeam: error: query failed")
    done = run_cli("query", str(tmp_path / "missing"), "SELECT 1")
    assert done.returncode == 2 and "not found" in done.stderr
    done = run_cli(
        "query", str(tmp_path), "SELECT count(*) AS n FROM quotes", "--format", "csv"
    )
    assert done.returncode == 0 and done.stdout.split() == ["n", "0"]


def test_unchanged_feeds_cost_no_parsing_and_changed_ones_add_only_new(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text(rss(STORIES[:1], "Local"), encoding="utf-8")
    output = tmp_path / "out"
    first = ingest([str(feed)], output)
    assert first["counts"]["articles_written"] == 1
    state = json.loads((output / "_state" / "feeds.json").read_text())
    assert state["feeds"][str(feed)]["body_sha256"]

    second = ingest([str(feed)], output)
    assert second["feeds"][0]["status"] == "not_modified"
    assert second["counts"]["items_seen"] == 0
    assert second["counts"]["articles_written"] == 0
    assert second["pipeline_started"] is False
    checked = json.loads((output / "_state" / "feeds.json").read_text())
    assert (
        checked["feeds"][str(feed)]["checked_at"]
        > (state["feeds"][str(feed)]["checked_at"])
    )

    feed.write_text(rss(STORIES[:2], "Local"), encoding="utf-8")
    third = ingest([str(feed)], output)
    assert third["pipeline_started"] is True
    assert third["feeds"][0]["status"] == "ok"
    assert third["counts"]["items_seen"] == 2
    assert third["counts"]["articles_written"] == 1
    assert third["counts"]["duplicates"] == 1
    rows = run_query(str(output), "SELECT count(*) FROM articles", "csv")
    assert rows.splitlines()[1] == "2"
