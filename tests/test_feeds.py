"""Stage 1: expanding feed sources, parsing every feed format, and ReadFeeds in Beam."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to, is_not_empty
from newsbeam.schemas.status import FeedState, FeedStatus, Stage
from newsbeam.transforms.feeds import (
    FeedParseError,
    ReadFeeds,
    parse_feed,
    unchanged_feeds,
)
from newsbeam.transforms.http import FetchOptions
from servers import Route, serve

RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
FETCHED = datetime(2025, 11, 2, 12, 0, tzinfo=UTC)
SHARED_FEEDS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "feeds"

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Example News</title>
  <link>https://news.example/</link>
  <item>
    <title>Minister resigns</title>
    <link>https://news.example/a/1</link>
    <guid isPermaLink="false">a-1</guid>
    <pubDate>Sat, 01 Nov 2025 10:00:00 +0100</pubDate>
    <description>Short summary.</description>
    <content:encoded><![CDATA[<p>The minister resigned on Friday.</p>]]>
    </content:encoded>
  </item>
  <item>
    <title>Bad date</title>
    <link>https://news.example/a/2</link>
    <pubDate>the day before yesterday</pubDate>
    <description>Only a summary &amp; nothing more.</description>
  </item>
  <item>
    <description>An item with nothing but text.</description>
  </item>
</channel>
</rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">Atom Wire</title>
  <id>urn:uuid:feed</id>
  <updated>2025-11-01T09:00:00Z</updated>
  <entry>
    <title>Zürich votes</title>
    <link rel="alternate" href="https://wire.example/z"/>
    <id>urn:uuid:1</id>
    <published>2025-11-01T08:00:00+02:00</published>
    <updated>2025-11-01T09:30:00Z</updated>
    <summary>Summary text</summary>
    <content type="html">&lt;p&gt;Voters in Zürich approved it.&lt;/p&gt;</content>
  </entry>
</feed>
""".encode()

RSS1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example/">
    <title>RDF Daily</title>
    <link>https://rdf.example/</link>
    <description>d</description>
  </channel>
  <item rdf:about="https://rdf.example/1">
    <title>First</title>
    <link>https://rdf.example/1</link>
    <description>One</description>
    <dc:date>2025-10-31T23:00:00Z</dc:date>
  </item>
</rdf:RDF>
"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON Times",
        "items": [
            {
                "id": 17,
                "url": "https://json.example/17",
                "title": "Numbers",
                "content_html": "<p>Seventeen</p>",
                "date_published": "2025-11-01T10:00:00+01:00",
            },
            {
                "id": "t",
                "content_text": "a < b",
                "date_modified": "not a date",
            },
            "not an item",
        ],
    }
).encode()

HTML_PAGE = b"""<!DOCTYPE html><html><head><title>Welcome</title></head>
<body><p>This is a home page, not a feed.</p></body></html>"""

# A broken feed (undefined entity, unclosed tag) that still has a readable entry.
BOZO = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Broken &nbsp; Feed</title>
<item><title>Still here</title><link>https://bozo.example/1</link>
<description><b>unclosed</description></item>
</channel>
"""


# ------------------------------------------------------------------ parse_feed


def test_rss2_items_prefer_content_and_convert_dates_to_utc():
    source, items, failures = parse_feed(RSS2, "https://news.example/rss", FETCHED)
    assert source == "Example News"
    assert failures == []
    first, second, third = items
    assert first.link == "https://news.example/a/1"
    assert first.guid == "a-1"
    assert first.title == "Minister resigns"
    assert first.published == datetime(2025, 11, 1, 9, 0, tzinfo=UTC)
    assert first.html == "<p>The minister resigned on Friday.</p>"
    assert first.fetched_at == FETCHED and first.feed_url == "https://news.example/rss"
    assert first.date_error == ""
    assert second.published is None
    assert "the day before yesterday" in second.date_error
    assert second.html == "Only a summary & nothing more."
    assert (third.link, third.guid, third.title) == ("", "", "")
    assert third.html == "An item with nothing but text."


def test_atom_entry():
    source, [item], _ = parse_feed(ATOM, "https://wire.example/atom", FETCHED)
    assert source == "Atom Wire"
    assert item.link == "https://wire.example/z"
    assert item.guid == "urn:uuid:1"
    assert item.title == "Zürich votes"
    assert item.published == datetime(2025, 11, 1, 6, 0, tzinfo=UTC)
    assert item.updated == datetime(2025, 11, 1, 9, 30, tzinfo=UTC)
    assert item.html == "<p>Voters in Zürich approved it.</p>"


def test_rss1_rdf_entry():
    source, [item], _ = parse_feed(RSS1, "https://rdf.example/rss", FETCHED)
    assert source == "RDF Daily"
    assert item.link == "https://rdf.example/1"
    assert item.updated == datetime(2025, 10, 31, 23, 0, tzinfo=UTC)


def test_json_feed_items_and_bad_item_as_dead_letter():
    source, items, failures = parse_feed(JSON_FEED, "https://json.example/f", FETCHED)
    assert source == "JSON Times"
    numbers, plain = items
    assert numbers.guid == "17" and numbers.link == "https://json.example/17"
    assert numbers.published == datetime(2025, 11, 1, 9, 0, tzinfo=UTC)
    assert numbers.html == "<p>Seventeen</p>"
    assert plain.html == "a &lt; b"
    assert plain.updated is None and "not a date" in plain.date_error
    [failure] = failures
    assert (failure.stage, failure.error) == ("items", "bad_item")
    assert failure.source == "https://json.example/f"


def test_json_that_is_not_a_json_feed_is_refused():
    with pytest.raises(FeedParseError) as caught:
        parse_feed(b'{"hello": "world"}', "https://x.example/", FETCHED)
    assert caught.value.reason == "not_a_feed"
    with pytest.raises(FeedParseError) as caught:
        parse_feed(b"{not json", "https://x.example/", FETCHED)
    assert caught.value.reason == "bad_json"


@pytest.mark.parametrize("body", [HTML_PAGE, b"", b"just some text", b"\x00\xff" * 10])
def test_bodies_that_are_not_feeds_raise(body):
    with pytest.raises(FeedParseError) as caught:
        parse_feed(body, "https://x.example/", FETCHED)
    assert caught.value.reason == "not_a_feed"


def test_bozo_feed_with_entries_is_accepted():
    source, [item], _ = parse_feed(BOZO, "https://bozo.example/rss", FETCHED)
    assert item.title == "Still here"
    assert item.link == "https://bozo.example/1"


def test_feed_without_title_is_named_after_its_host():
    body = b'<rss version="2.0"><channel><item><title>t</title></item></channel></rss>'
    source, _, _ = parse_feed(body, "https://untitled.example/rss", FETCHED)
    assert source == "untitled.example"


def test_relative_links_resolve_against_the_feed_url():
    body = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><link>/story/1</link></item></channel></rss>"
    )
    _, [item], _ = parse_feed(body, "https://rel.example/feeds/rss", FETCHED)
    assert item.link == "https://rel.example/story/1"


def test_relative_links_in_a_local_file_resolve_against_the_site_link():
    body = (
        b'<rss version="2.0"><channel><title>t</title><link>https://site.example/</link>'
        b"<item><link>story/2</link></item></channel></rss>"
    )
    _, [item], _ = parse_feed(body, "/data/feeds/site.xml", FETCHED)
    assert item.link == "https://site.example/story/2"


def test_charset_from_content_type_decodes_undeclared_latin1():
    body = (
        '<rss version="2.0"><channel><title>Notícias</title>'
        "<item><title>Ação</title></item></channel></rss>"
    ).encode("latin-1")
    source, [item], _ = parse_feed(
        body,
        "https://br.example/",
        FETCHED,
        content_type="text/xml; charset=ISO-8859-1",
    )
    assert (source, item.title) == ("Notícias", "Ação")


@pytest.mark.shared
@pytest.mark.skipif(
    not SHARED_FEEDS.is_dir(), reason=f"shared feed fixtures absent: {SHARED_FEEDS}"
)
def test_every_shared_fixture_feed_parses_or_is_refused_cleanly():
    from newsbeam.transforms.feeds import read_local

    outcomes = {}
    for path in sorted(p for p in SHARED_FEEDS.rglob("*") if p.is_file()):
        if path.name == "LICENSE":
            continue
        body = read_local(path, 10 * 1024 * 1024)
        try:
            _, items, _ = parse_feed(body, str(path), FETCHED)
        except FeedParseError as e:
            outcomes[path.name] = e.reason
        else:
            outcomes[path.name] = len(items)
    assert len(outcomes) > 40
    assert outcomes["notafeed.html"] == "not_a_feed"
    assert outcomes["compressed.xml"] > 0  # gzip on disk under an .xml name
    assert outcomes["guardian.rss"] > 0
    assert sum(isinstance(n, int) and n > 0 for n in outcomes.values()) > 40


# ------------------------------------------------------------------ ReadFeeds


def _key(status: FeedStatus):
    return (
        status.feed,
        status.status,
        status.http_status,
        status.items_seen,
        status.error,
    )


def test_read_feeds_routes_items_failures_and_statuses(tmp_path):
    local = tmp_path / "local.atom"
    local.write_bytes(ATOM)
    routes = {
        "/rss": Route(body=RSS2, headers={"Content-Type": "application/rss+xml"}),
        "/json": Route(body=JSON_FEED, headers={"Content-Type": "application/json"}),
        "/page": Route(body=HTML_PAGE, headers={"Content-Type": "text/html"}),
        "/gone": Route(status=410),
        "/same": Route(status=304),
    }
    options = FetchOptions(deadline=5.0, retries=0)
    with serve(routes) as server:
        feeds = [server.url(p) for p in routes] + [str(local), str(tmp_path / "no")]
        state = {server.url("/same"): {"etag": '"v1"'}}
        with TestPipeline(runner=RUNNER) as pipeline:
            out = (
                pipeline
                | "Feeds" >> beam.Create(feeds)
                | "Read" >> ReadFeeds(options, state=state)
            )
            titles = out["items"] | "Titles" >> beam.Map(lambda i: (i.source, i.title))
            assert_that(
                titles,
                equal_to(
                    [
                        ("Example News", "Minister resigns"),
                        ("Example News", "Bad date"),
                        ("Example News", ""),
                        ("JSON Times", "Numbers"),
                        ("JSON Times", ""),
                        ("Atom Wire", "Zürich votes"),
                    ]
                ),
                label="Items",
            )
            failures = out["dead_letters"] | "Why" >> beam.Map(
                lambda d: (d.stage, d.source, d.error)
            )
            assert_that(
                failures,
                equal_to(
                    [
                        (Stage.ITEMS, server.url("/json"), "bad_item"),
                        (Stage.FEEDS, server.url("/page"), "not_a_feed"),
                        (Stage.FEEDS, server.url("/gone"), "http_410"),
                        (Stage.FEEDS, str(tmp_path / "no"), "file_error"),
                    ]
                ),
                label="DeadLetters",
            )
            assert_that(
                out["feeds"] | "Status" >> beam.Map(_key),
                equal_to(
                    [
                        (server.url("/rss"), FeedState.OK, 200, 3, ""),
                        (server.url("/json"), FeedState.OK, 200, 3, ""),
                        (server.url("/page"), FeedState.FAILED, 200, 0, "not_a_feed"),
                        (server.url("/gone"), FeedState.FAILED, 410, 0, "http_410"),
                        (server.url("/same"), FeedState.NOT_MODIFIED, 304, 0, ""),
                        (str(local), FeedState.OK, None, 1, ""),
                        (str(tmp_path / "no"), FeedState.FAILED, None, 0, "file_error"),
                    ]
                ),
                label="Statuses",
            )
        [conditional] = [r for r in server.requests if r.path == "/same"]
        assert conditional.headers.get("if-none-match") == '"v1"'


def test_read_feeds_with_every_feed_failing_still_reports_each(tmp_path):
    options = FetchOptions(deadline=2.0, retries=0)
    with serve({}) as server:
        feeds = [server.url("/a"), server.url("/b")]
        with TestPipeline(runner=RUNNER) as pipeline:
            out = pipeline | beam.Create(feeds) | ReadFeeds(options)
            assert_that(out["items"], equal_to([]), label="NoItems")
            assert_that(out["dead_letters"], is_not_empty(), label="Failures")
            assert_that(
                out["feeds"] | beam.Map(lambda s: (s.feed, s.status)),
                equal_to([(f, FeedState.FAILED) for f in feeds]),
                label="Statuses",
            )


def test_one_worker_fetches_several_feeds_at_once():
    """Fetching is waiting: a worker keeps several feeds in flight, per-host limits
    permitting (each feed here is its own host:port, as distinct sites would be)."""
    import threading
    import time

    lock = threading.Lock()
    in_flight = {"now": 0, "most": 0}

    def slow(_request):
        with lock:
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])
        time.sleep(0.3)
        with lock:
            in_flight["now"] -= 1
        return Route(body=RSS2, headers={"Content-Type": "application/rss+xml"})

    servers = [serve({"/feed": slow}) for _ in range(4)]
    started = [s.__enter__() for s in servers]
    try:
        feeds = [s.url("/feed") for s in started]
        with TestPipeline(runner=RUNNER) as pipeline:
            out = pipeline | beam.Create(feeds) | ReadFeeds(FetchOptions(retries=0))
            assert_that(
                out["feeds"] | beam.Map(lambda s: s.status),
                equal_to([FeedState.OK] * 4),
            )
    finally:
        for s in servers:
            s.__exit__(None, None, None)
    assert in_flight["most"] > 1


# ------------------------------------------------------------- unchanged feeds


def test_unchanged_feeds_reports_each_feed_when_none_changed(tmp_path):
    paths = []
    for n in range(3):
        path = tmp_path / f"f{n}.xml"
        path.write_bytes(RSS2)
        paths.append(str(path))
    digest = hashlib.sha256(RSS2).hexdigest()
    state = {path: {"body_sha256": digest} for path in paths}
    statuses = unchanged_feeds(paths, state, FetchOptions())
    assert [s.feed for s in statuses] == paths
    assert {s.status for s in statuses} == {FeedState.NOT_MODIFIED}
    assert {s.body_sha256 for s in statuses} == {digest}
    assert unchanged_feeds(paths, state, FetchOptions(), limit=2) is None  # many
    assert unchanged_feeds(paths, dict(list(state.items())[:2]), FetchOptions()) is None
    (tmp_path / "f1.xml").write_bytes(RSS2 + b" ")
    assert unchanged_feeds(paths, state, FetchOptions()) is None
    (tmp_path / "f2.xml").unlink()  # a failure is the pipeline's to record
    assert unchanged_feeds(paths[2:], state, FetchOptions()) is None


def test_unchanged_feeds_stops_at_the_first_feed_that_changed():
    def conditional(request):
        if request.headers.get("if-none-match") == '"v1"':
            return Route(status=304)
        return Route(body=RSS2, headers={"ETag": '"v2"'})

    with serve({"/a": conditional, "/b": conditional, "/c": conditional}) as server:
        feeds = [server.url(p) for p in ("/a", "/b", "/c")]
        state = {feed: {"etag": '"v1"', "body_sha256": "x"} for feed in feeds}
        statuses = unchanged_feeds(feeds, state, FetchOptions())
        assert [s.http_status for s in statuses] == [304, 304, 304]
        state[feeds[1]]["etag"] = '"v0"'  # the server has moved on for /b
        assert unchanged_feeds(feeds, state, FetchOptions()) is None
        assert [server.hits(p) for p in ("/a", "/b", "/c")] == [2, 2, 1]
