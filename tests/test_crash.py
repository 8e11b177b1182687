"""A run killed with SIGKILL mid-write, then rerun: nothing partial, lost or doubled.

The corpus is the project's own example feeds, copied under varied URLs and dates
into feed files in ``tmp_path`` so that the run takes several seconds and writes many
partitions. The first run is killed as soon as its first file of a dataset appears;
readers must never see a partial file, and the rerun must leave every article once
and every mention once.
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

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import EXAMPLE_FEEDS, REPO
from newsbeam.schemas import pyarrow_partitioning
from newsbeam.transforms.feeds import parse_feed

pytestmark = [pytest.mark.model, pytest.mark.slow]

COPIES = 3


def write_corpus(folder: Path) -> tuple[list[str], int]:
    """Feed files holding every example item ``COPIES`` times under new URLs."""
    fetched = datetime(2024, 3, 22, tzinfo=UTC)
    items = []
    for path in sorted(EXAMPLE_FEEDS.glob("*.xml")):
        items += parse_feed(path.read_bytes(), str(path), fetched).items
    feeds = []
    for copy in range(COPIES):
        entries = []
        for n, item in enumerate(items):
            when = (item.published or fetched) + timedelta(days=3 * copy)
            entries.append(
                f"<item><title>{escape(item.title)}</title>"
                f"<link>https://crash.example/{copy}/{n}</link>"
                f"<pubDate>{format_datetime(when)}</pubDate>"
                f"<description>{escape(item.html)}</description></item>"
            )
        path = folder / f"copy-{copy}.xml"
        path.write_text(
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            f"<title>Copy {copy}</title><link>https://crash.example/</link>"
            f"<description>d</description>{''.join(entries)}</channel></rss>",
            encoding="utf-8",
        )
        feeds.append(str(path))
    return feeds, COPIES * len(items)


def ingest_argv(feeds: list[str], output: Path) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "newsbeam.pipeline.cli",
        "ingest",
        "--output",
        str(output),
    ]
    argv += ["--fetch-articles", "never"]
    for feed in feeds:
        argv += ["--feeds", feed]
    return argv


def kill_when_written(argv: list[str], watched: Path, timeout: float = 240) -> None:
    """Start the ingest and SIGKILL it once ``watched`` holds its first Parquet file."""
    process = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + timeout
        while not (watched.is_dir() and next(watched.rglob("*.parquet"), None)):
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no file appeared in time"
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def assert_no_partial_files(output: Path) -> None:
    """Every visible Parquet file is whole; temporaries are hidden from globs."""
    for path in output.rglob("*.parquet"):
        assert not path.name.startswith("."), path
        pq.read_table(path)  # raises on a truncated file
    for path in output.rglob("*inprogress*"):
        assert path.name.startswith("."), path
        assert ".inprogress-" in path.name or path.name.endswith(".inprogress"), path
        assert not path.match("*.parquet"), path


def read(output: Path, name: str) -> list[dict]:
    dataset = ds.dataset(
        output / name, format="parquet", partitioning=pyarrow_partitioning(name)
    )
    return dataset.to_table().to_pylist()


@pytest.mark.parametrize("killed_while_writing", ["mentions", "articles"])
def test_kill_9_mid_run_then_rerun_leaves_every_row_once(
    tmp_path, killed_while_writing
):
    feeds, items = write_corpus(tmp_path)
    assert items >= 60
    output = tmp_path / "out"

    kill_when_written(ingest_argv(feeds, output), output / killed_while_writing)

    assert not list((output / "_runs").glob("*.json"))  # the run never finished
    assert not (output / "_state" / "feeds.json").exists()  # nothing marked as read
    assert_no_partial_files(output)

    done = subprocess.run(
        ingest_argv(feeds, output),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    [record_file] = (output / "_runs").glob("*.json")
    counts = json.loads(record_file.read_text())["counts"]
    assert counts["items_seen"] == items
    assert counts["items_seen"] == (
        counts["articles_written"] + counts["duplicates"] + counts["dead_letters_items"]
    )
    assert_no_partial_files(output)

    articles = [a["article_id"] for a in read(output, "articles")]
    assert len(articles) == len(set(articles)) == items
    mentions = [m["mention_id"] for m in read(output, "mentions")]
    assert mentions and len(mentions) == len(set(mentions))
    quotes = [q["quote_id"] for q in read(output, "quotes")]
    assert quotes and len(quotes) == len(set(quotes))
    mentioned = {m["article_id"] for m in read(output, "mentions")}
    assert mentioned <= set(articles)
