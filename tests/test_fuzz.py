"""Property-based fuzzing: damaged real feeds never crash a run, and every item is
accounted for.

Hypothesis takes real feeds (the bundled examples, and ../shared's fixtures when
present) and damages them the ways feeds arrive damaged: truncated downloads, flipped
and inserted bytes, deleted runs, pieces of another feed spliced in, the whole text
re-encoded (UTF-16/32 with or without a mark, 8-bit encodings, declared or not), and
gzip on top. Three levels, each asserting what the issue asks:

* the feed stage as pure functions (sniffing, expansion, parsing, item -> article):
  only the documented exceptions, and ``items_seen == items + item failures``;
* ``ReadFeeds | ToArticles`` under Beam: ``items_seen == articles + duplicates +
  item dead letters``;
* the CLI on the real model: exit 0, no traceback, the run record's accounting.

CI runs the ``ci`` profile (derandomised: the same examples every run, so a failure
reproduces); ``make fuzz`` runs the ``fuzz`` profile, random and longer.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from conftest import EXAMPLE_FEEDS, REPO, SHARED_FIXTURES, TEST_RUNNER
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from newsbeam.schemas import DATASETS, to_table
from newsbeam.schemas.status import FeedState, Stage
from newsbeam.transforms.feeds import (
    FeedListError,
    FeedParseError,
    ReadFeeds,
    expand_sources,
    parse_feed,
    read_local,
    sniff,
)
from newsbeam.transforms.http import FetchError, FetchOptions
from newsbeam.transforms.text import EmptyItemError, ToArticles, convert_item

settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
settings.register_profile(
    "fuzz",
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# The slow levels run fewer examples: a Beam pipeline or a CLI run per example.
PIPELINE_EXAMPLES = {"ci": 3, "fuzz": 60}
CLI_EXAMPLES = {"ci": 1, "fuzz": 12}
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

FETCHED = datetime(2025, 11, 2, 12, 0, tzinfo=UTC)
MAX_BYTES = 10 * 1024 * 1024


def _seeds() -> list[bytes]:
    """Real feeds, decompressed: the examples always, ../shared's when present."""
    paths = sorted(EXAMPLE_FEEDS.glob("*.xml"))
    shared = SHARED_FIXTURES / "feeds"
    if shared.is_dir():
        paths += sorted(p for p in shared.rglob("*") if p.is_file() and p.suffix)
    return [read_local(p, MAX_BYTES) for p in paths if p.name != "LICENSE"]


SEEDS = _seeds()
# Bytes that have broken parsers before: markup, references XML forbids, marks,
# NUL, entity declarations, a lone surrogate's UTF-8, CDATA ends.
NASTY = [
    b"\x00",
    b"<",
    b">",
    b"&",
    b"&#xD800;",
    b"&#0;",
    b"&#x110000;",
    b"&nbsp;",
    b"]]>",
    b"<![CDATA[",
    b"<item>",
    b"</item>",
    b"<entry>",
    b"</channel>",
    b"<!DOCTYPE r [<!ENTITY a 'b'>]>",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xed\xa0\x80",
    b"\xc2\x85",
    b'<?xml version="1.0" encoding="utf-16"?>',
    b'encoding="x-unknown"',
    b"xml:base='../../'",
    b'{"version": "https://jsonfeed.org/version/1", "items": [',
]
ENCODINGS = ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-16", "utf-32"]
_BOMS = {
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}
EIGHT_BIT = ["latin-1", "cp1252", "cp1251", "koi8-r", "gb18030", "shift_jis"]


@st.composite
def damaged_feed(draw) -> bytes:
    body = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        body = draw(st.sampled_from(_DAMAGE))(draw, body)
    return body


def _position(draw, body: bytes) -> int:
    return draw(st.integers(0, len(body)))


def _truncate(draw, body: bytes) -> bytes:
    return body[: _position(draw, body)]


def _flip(draw, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(draw(st.integers(1, 8))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def _insert(draw, body: bytes) -> bytes:
    at = _position(draw, body)
    piece = draw(st.one_of(st.sampled_from(NASTY), st.binary(max_size=24)))
    return body[:at] + piece + body[at:]


def _delete(draw, body: bytes) -> bytes:
    start = _position(draw, body)
    return body[:start] + body[start + draw(st.integers(0, 4096)) :]


def _splice(draw, body: bytes) -> bytes:
    other = draw(st.sampled_from(SEEDS))
    start = _position(draw, other)
    piece = other[start : start + draw(st.integers(1, 8192))]
    at = _position(draw, body)
    return body[:at] + piece + body[at:]


def _reencode(draw, body: bytes) -> bytes:
    text = body.decode("utf-8", "replace")
    if draw(st.booleans()):
        encoding = draw(st.sampled_from(ENCODINGS))
        data = text.encode(encoding, "surrogatepass")
        if draw(st.booleans()) and encoding in _BOMS:
            data = _BOMS[encoding] + data
        return data
    return text.encode(draw(st.sampled_from(EIGHT_BIT)), "replace")


def _declare(draw, body: bytes) -> bytes:
    """A declaration that may contradict the bytes, as real feeds' often do."""
    name = draw(st.sampled_from([*ENCODINGS, *EIGHT_BIT, "utf-8", "bogus"]))
    return f'<?xml version="1.0" encoding="{name}"?>'.encode() + body


def _gzip(_draw, body: bytes) -> bytes:
    return gzip.compress(body, mtime=0)


_DAMAGE = [_truncate, _flip, _insert, _delete, _splice, _reencode, _declare, _gzip]


# ------------------------------------------------------------------ pure stage


def feed_stage(body: bytes, name: str = "https://fuzz.example/feed") -> tuple[int, int]:
    """(items seen, items accounted for) for one body, as the feed stage sees it.

    Raises only what the stage handles: ``FeedParseError`` or ``FetchError``.
    """
    parsed = parse_feed(body, name, FETCHED)
    seen = len(parsed.items) + len(parsed.failures)
    articles = []
    lost = len(parsed.failures)
    for item in parsed.items:
        try:
            article, _notes = convert_item(item)
        except EmptyItemError:
            lost += 1
            continue
        articles.append(article)
    to_table(articles, DATASETS["articles"])  # what the Parquet writer must take
    return seen, len(articles) + lost


# What the fuzzing found, kept as examples that always run:
# a NUL inside a declared encoding name made codecs.lookup raise ValueError in the
# fast path's encoding check, which would have failed the whole run.
FOUND = [
    b'<?xml version="1.0" encoding="\x00UTF-8"?><rss version="2.0"><channel>'
    b"<title>T</title><item><title>A</title><description>b</description></item>"
    b"</channel></rss>",
]


@given(damaged_feed())
@example(FOUND[0])
def test_damaged_feeds_parse_or_fail_cleanly_with_every_item_accounted(body):
    try:
        seen, accounted = feed_stage(read_or_inflate(body))
    except (FeedParseError, FetchError):
        return
    assert seen == accounted


def read_or_inflate(body: bytes) -> bytes:
    """What the feed stage reads from a file holding ``body`` (gzip undone)."""
    from newsbeam.transforms.http import decompress

    return decompress(body, None, MAX_BYTES)


@given(damaged_feed())
def test_damaged_files_expand_cleanly_at_the_top_and_inside_a_list(body):
    """A damaged file named on the command line gives feeds or one clean error;
    inside a list, it never stops the expansion."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed.xml"
        path.write_bytes(body)
        try:
            sources = expand_sources([str(path)])
        except FeedListError as error:
            assert "\n" not in str(error) and str(error).isprintable()
        else:
            assert all(s.detail.isprintable() for s in sources)
        listing = Path(folder) / "list.txt"
        listing.write_text("feed.xml\n")
        sources = expand_sources([str(listing)])
        assert sources and all(s.detail.isprintable() for s in sources)
        assert sniff(body) in {"feed", "opml", "list", "csv", "toml", "binary"}


# ------------------------------------------------------------------ Beam


def _check_accounting(pairs) -> None:
    totals: dict[str, int] = {}
    for key, n in pairs:
        totals[key] = totals.get(key, 0) + n
    assert totals.get("seen", 0) == totals.get("accounted", 0), totals
    assert totals.get("feeds", 0) == totals.get("given", 0), totals


@settings(max_examples=PIPELINE_EXAMPLES[PROFILE])
@given(st.lists(damaged_feed(), min_size=2, max_size=6))
def test_read_feeds_to_articles_accounts_for_every_item(tmp_path_factory, bodies):
    folder = tmp_path_factory.mktemp("fuzz")
    paths = []
    for n, body in enumerate(bodies):
        path = folder / f"f{n}.xml"
        path.write_bytes(body)
        paths.append(str(path))
    with TestPipeline(runner=TEST_RUNNER) as pipeline:
        read = (
            pipeline
            | "FeedPaths" >> beam.Create(paths)
            | "Read" >> ReadFeeds(FetchOptions(retries=0))
        )
        unique = read["items"] | "ToArticles" >> ToArticles()
        letters = (read["dead_letters"], unique["dead_letters"]) | "Letters" >> (
            beam.Flatten()
        )
        events = (
            read["feeds"] | "Seen" >> beam.Map(lambda s: ("seen", s.items_seen)),
            read["feeds"] | "Statuses" >> beam.Map(lambda s: ("feeds", 1)),
            unique["articles"] | "Articles" >> beam.Map(lambda a: ("accounted", 1)),
            unique["duplicates"] | "Dups" >> beam.Map(lambda d: ("accounted", 1)),
            letters
            | "ItemLetters" >> beam.Filter(lambda d: d.stage == Stage.ITEMS)
            | "Lost" >> beam.Map(lambda d: ("accounted", 1)),
            pipeline | "Given" >> beam.Create([("given", len(paths))]),
        ) | "Events" >> beam.Flatten()
        assert_that(events, _check_accounting)


# ------------------------------------------------------------------ CLI


@pytest.mark.model
@pytest.mark.slow
@settings(max_examples=CLI_EXAMPLES[PROFILE])
@given(st.lists(damaged_feed(), min_size=3, max_size=8))
def test_cli_run_over_damaged_feeds_exits_0_with_full_accounting(
    tmp_path_factory, bodies
):
    folder = tmp_path_factory.mktemp("fuzzcli")
    names = []
    for n, body in enumerate(bodies):
        (folder / f"f{n}.xml").write_bytes(body)
        names.append(f"f{n}.xml")
    (folder / "feeds.txt").write_text("\n".join(names) + "\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "newsbeam.pipeline.cli",
            "ingest",
            "--feeds",
            str(folder / "feeds.txt"),
            "--output",
            str(folder / "out"),
            "--fetch-articles",
            "never",
            "--run-id",
            "fuzz",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    record = json.loads((folder / "out" / "_runs" / "fuzz.json").read_text())
    counts = record["counts"]
    assert counts["items_seen"] == (
        counts["articles_written"] + counts["duplicates"] + counts["dead_letters_items"]
    ), counts
    assert {f["status"] for f in record["feeds"]} <= {FeedState.OK, FeedState.FAILED}
    assert counts["feeds"] >= len(names)
