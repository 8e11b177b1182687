"""The same input gives the same datasets, whatever the feed order or worker count.

Actor ids partition the output, so they must not depend on which article a worker saw
first; file names are digests of their rows, so even the file lists must agree.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as ds
import pytest
from conftest import EXAMPLE_FEEDS
from newsbeam.pipeline.cli import main
from newsbeam.schemas import pyarrow_partitioning

pytestmark = [pytest.mark.model, pytest.mark.slow]

FEEDS = ["world-rss2.xml", "europe-atom.xml", "briefing-rdf.xml"]


def ingest(output: Path, feeds: list[str], *beam_options: str) -> None:
    argv = ["ingest", "--output", str(output), "--fetch-articles", "never"]
    for feed in feeds:
        argv += ["--feeds", str(EXAMPLE_FEEDS / feed)]
    assert main([*argv, *beam_options]) == 0


def contents(output: Path) -> dict:
    def rows(name: str, columns: list[str]) -> list[tuple]:
        table = ds.dataset(
            output / name, partitioning=pyarrow_partitioning(name)
        ).to_table(columns=columns)
        return sorted(zip(*(table.column(c).to_pylist() for c in columns), strict=True))

    files = sorted(
        p.relative_to(output).as_posix()
        for sub in ("articles", "mentions", "quotes")
        for p in (output / sub).rglob("*.parquet")
    )
    return {
        "articles": rows("articles", ["article_id", "feed_url"]),
        "mentions": rows("mentions", ["article_id", "start_char", "actor_id"]),
        "quotes": rows("quotes", ["article_id", "start_char", "speaker_id"]),
        "files": files,
    }


def test_feed_order_and_workers_do_not_change_the_output(tmp_path):
    ingest(tmp_path / "a", FEEDS)
    ingest(tmp_path / "b", list(reversed(FEEDS)))
    ingest(
        tmp_path / "c",
        FEEDS,
        "--direct_num_workers=2",
        "--direct_running_mode=multi_processing",
    )
    first = contents(tmp_path / "a")
    assert first["mentions"] and first["quotes"]
    assert contents(tmp_path / "b") == first
    assert contents(tmp_path / "c") == first
