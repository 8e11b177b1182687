"""End to end on real material from ../shared (read in place, never copied).

The seed article this project was created from, wrapped as a feed item, must give its
six direct quotes with the right speakers and its actors; every real-world feed in
../shared/fixtures/feeds must ingest without a crash and with full accounting.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import pyarrow.dataset as ds
import pytest
from conftest import shared_path
from newsbeam.pipeline.cli import main
from newsbeam.schemas import pyarrow_partitioning

pytestmark = [pytest.mark.model, pytest.mark.slow, pytest.mark.shared]


def seed_feed(tmp_path: Path) -> Path:
    """The seed article as a one-item RSS feed: headline, date line, body paragraphs."""
    text = shared_path("seed", "uk-russia-2017-12-22.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    headline = lines[0].strip()
    body = "\n".join(lines[2:])
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    feed = tmp_path / "seed.xml"
    feed.write_text(
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        "<title>Wikinews</title><link>https://en.wikinews.test/</link>"
        "<description>seed</description><item>"
        f"<title>{escape(headline)}</title>"
        "<link>https://en.wikinews.test/wiki/Boris_Johnson_abundant_evidence</link>"
        "<pubDate>Fri, 22 Dec 2017 12:00:00 +0000</pubDate>"
        f"<description>{escape(html)}</description></item></channel></rss>",
        encoding="utf-8",
    )
    return feed


def read(output: Path, name: str) -> list[dict]:
    dataset = ds.dataset(
        output / name, format="parquet", partitioning=pyarrow_partitioning(name)
    )
    return dataset.to_table().to_pylist()


def normalise(text: str) -> str:
    return " ".join(text.strip().strip(",").split())


def test_seed_article_quotes_speakers_and_actors(tmp_path):
    gold = json.loads(shared_path("seed", "gold.json").read_text(encoding="utf-8"))
    output = tmp_path / "out"
    argv = [
        "ingest",
        "--feeds",
        str(seed_feed(tmp_path)),
        "--output",
        str(output),
        "--fetch-articles",
        "never",
    ]
    assert main(argv) == 0

    [article] = read(output, "articles")
    assert str(article["date"]) == gold["date"]
    quotes = read(output, "quotes")
    found = {
        normalise(q["quote"]): q["speaker_name"]
        for q in quotes
        if q["kind"] != "indirect"
    }
    for expected in gold["direct_quotes"]:
        text = normalise(expected["quote"])
        matches = [speaker for quote, speaker in found.items() if text in quote]
        assert matches, f"direct quote not found: {text!r} in {sorted(found)}"
        assert matches[0] == expected["speaker"], (text, matches)
    speakers = [q["speaker_name"] for q in quotes if q["kind"] != "indirect"]
    assert speakers.count("Boris Johnson") >= 4
    assert speakers.count("Sergei Lavrov") >= 2

    actors = {m["actor_id"] for m in read(output, "mentions")}
    missing = set(gold["actors"]) - actors
    assert not missing, f"actors not found: {sorted(missing)}"
    assert not {"johnson", "lavrov", "sergey-lavrov"} & actors


def test_every_real_feed_ingests_with_full_accounting(tmp_path):
    folder = shared_path("feeds")
    feeds = sorted(
        str(p) for p in folder.rglob("*") if p.is_file() and p.name != "LICENSE"
    )
    output = tmp_path / "out"
    argv = ["ingest", "--output", str(output), "--fetch-articles", "never"]
    for feed in feeds:
        argv += ["--feeds", feed]
    assert main(argv) == 0
    [record_file] = (output / "_runs").glob("*.json")
    record = json.loads(record_file.read_text())
    counts = record["counts"]
    assert counts["feeds"] == len(feeds)
    assert sorted(f["feed"] for f in record["feeds"]) == feeds
    assert counts["items_seen"] > 300
    assert counts["items_seen"] == (
        counts["articles_written"] + counts["duplicates"] + counts["dead_letters_items"]
    )
    for feed in record["feeds"]:
        assert feed["status"] in {"ok", "failed"}, feed
        assert feed["items_seen"] == (
            feed["articles_written"] + feed["duplicates"] + feed["dead_letters"]
        ), feed
    failed = {Path(f["feed"]).name for f in record["feeds"] if f["status"] == "failed"}
    assert "notafeed.html" in failed
    assert len(read(output, "articles")) == counts["articles_written"]
