"""Stage 3: page text extraction and FetchFullText against loopback pages."""

from __future__ import annotations

from datetime import UTC, datetime

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from newsbeam.schemas import Article
from newsbeam.transforms.fetch import (
    MIN_WORDS,
    FetchFullText,
    extract_main_text,
    wants_page,
    with_page_text,
    without_headline,
)
from newsbeam.transforms.http import FetchOptions
from newsbeam.transforms.text import article_text, word_count
from servers import Route, serve

RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
WHEN = datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
LOOPBACK = FetchOptions(allow_private_network=True, deadline=5.0, retries=0)

PARAGRAPH_ONE = (
    "The city council voted on Tuesday to close the old harbour bridge to cars "
    "after engineers found deep cracks in two of its supporting piers. "
) * 6
PARAGRAPH_TWO = (
    "Mayor Ana Ruiz said the closure would last at least a year while the council "
    "looks for money to rebuild the structure from the foundations up. "
) * 6
PAGE = f"""<!DOCTYPE html>
<html><head><title>Bridge closed | City Times</title></head>
<body>
  <nav><a href="/">Home</a> <a href="/sport">Sport</a>
    <a href="/weather">Weather</a></nav>
  <article>
    <h1>Bridge closed</h1>
    <p>{PARAGRAPH_ONE}</p>
    <p>{PARAGRAPH_TWO}</p>
  </article>
  <footer>Copyright City Times. All rights reserved. Subscribe now.</footer>
</body></html>
"""


def article(url: str, body: str = "Council shuts bridge.", **changes) -> Article:
    text = article_text("Bridge closed", body)
    fields = dict(
        article_id="a1",
        feed_url="https://city.example/rss",
        source="City Times",
        outlet="City Times",
        outlet_country=None,
        url=url,
        guid="g1",
        title="Bridge closed",
        published_at=WHEN,
        date_source="published",
        fetched_at=WHEN,
        language="en",
        text=text,
        word_count=word_count(text),
        text_source="feed",
    )
    fields.update(changes)
    return Article(**fields)


# ------------------------------------------------------------------ pure functions


def test_extract_main_text_keeps_paragraphs_and_drops_boilerplate():
    text = extract_main_text(PAGE, "https://city.example/bridge")
    assert PARAGRAPH_ONE.strip() in text
    assert PARAGRAPH_TWO.strip() in text
    assert "\n\n" in text
    assert "Copyright" not in text and "Weather" not in text


def test_extract_main_text_of_an_empty_or_junk_page_is_empty():
    assert extract_main_text("", "https://x.example/") == ""
    assert extract_main_text("<html><body></body></html>", "") == ""


def test_without_headline_drops_a_repeated_headline_only():
    assert without_headline("Bridge  closed\n\nBody.", "Bridge closed") == "Body."
    assert without_headline("Other\n\nBody.", "Bridge closed") == "Other\n\nBody."


def test_wants_page_by_mode():
    short = article("https://city.example/a")
    long = article("https://city.example/a", body="word " * MIN_WORDS)
    no_url = article("")
    assert wants_page(short, "auto") and not wants_page(long, "auto")
    assert wants_page(long, "always")
    assert not wants_page(short, "never")
    assert not wants_page(no_url, "always")


def test_with_page_text_only_when_longer():
    teaser = article("https://city.example/a")
    longer = with_page_text(teaser, f"Bridge closed\n\n{PARAGRAPH_ONE}")
    assert longer.text_source == "page"
    assert longer.text == f"Bridge closed\n\n{PARAGRAPH_ONE.strip()}"
    assert longer.word_count == word_count(longer.text)
    assert with_page_text(teaser, "Short.") is None


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="full-text mode"):
        FetchFullText("sometimes")


# ------------------------------------------------------------------ Beam


def test_fetch_full_text_auto_replaces_teasers_and_counts_failures():
    routes = {
        "/bridge": Route(
            body=PAGE, headers={"Content-Type": "text/html; charset=utf-8"}
        ),
        "/empty": Route(body="<html><body><p>Hi.</p></body></html>"),
        "/pdf": Route(body=b"%PDF-1.4", headers={"Content-Type": "application/pdf"}),
    }
    with serve(routes) as server:
        teaser = article(server.url("/bridge"), guid="teaser")
        missing = article(server.url("/missing"), guid="missing")
        empty = article(server.url("/empty"), guid="empty")
        pdf = article(server.url("/pdf"), guid="pdf")
        long = article(server.url("/bridge"), body="word " * MIN_WORDS, guid="long")
        no_url = article("", guid="no_url")
        expected_words = word_count(
            article_text("Bridge closed", f"{PARAGRAPH_ONE}\n\n{PARAGRAPH_TWO}")
        )
        with TestPipeline(runner=RUNNER) as pipeline:
            out = (
                pipeline
                | beam.Create([teaser, missing, empty, pdf, long, no_url])
                | FetchFullText("auto", LOOPBACK)
            )["articles"]
            assert_that(
                out | beam.Map(lambda a: (a.guid, a.text_source, a.word_count)),
                equal_to(
                    [
                        ("teaser", "page", expected_words),
                        ("missing", "feed", missing.word_count),
                        ("empty", "feed", empty.word_count),
                        ("pdf", "feed", pdf.word_count),
                        ("long", "feed", long.word_count),
                        ("no_url", "feed", no_url.word_count),
                    ]
                ),
            )
        assert server.hits("/bridge") == 1  # the long article was not fetched


def test_fetch_full_text_counters_record_why_pages_failed():
    with serve({"/bridge": Route(body=PAGE)}) as server:
        pipeline = TestPipeline(runner=RUNNER)
        _ = (
            pipeline
            | beam.Create(
                [article(server.url("/bridge")), article(server.url("/missing"))]
            )
            | FetchFullText("auto", LOOPBACK)
        )["articles"]
        result = pipeline.run()
        result.wait_until_finish()
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter())["counters"]
    }
    assert counters["pages_tried"] == 2
    assert counters["pages_fetched"] == 1
    assert counters["pages_used"] == 1
    assert counters["pages_failed"] == 1
    assert counters["pages_failed_http_404"] == 1


def test_article_links_to_private_addresses_are_not_fetched_by_default():
    with serve({"/bridge": Route(body=PAGE)}) as server:
        teaser = article(server.url("/bridge"))
        options = FetchOptions(deadline=5.0, retries=0)  # allow_private_network=False
        with TestPipeline(runner=RUNNER) as pipeline:
            out = pipeline | beam.Create([teaser]) | FetchFullText("always", options)
            assert_that(out["articles"], equal_to([teaser]))
        assert server.hits("/bridge") == 0


def test_always_mode_fetches_long_articles_too():
    with serve({"/bridge": Route(body=PAGE)}) as server:
        long = article(server.url("/bridge"), body="word " * MIN_WORDS)
        with TestPipeline(runner=RUNNER) as pipeline:
            out = pipeline | beam.Create([long]) | FetchFullText("always", LOOPBACK)
            assert_that(
                out["articles"] | beam.Map(lambda a: a.text_source),
                equal_to(["page"]),
            )
        assert server.hits("/bridge") == 1


def test_never_mode_adds_no_step_and_fetches_nothing():
    with serve({"/bridge": Route(body=PAGE)}) as server:
        teaser = article(server.url("/bridge"))
        with TestPipeline(runner=RUNNER) as pipeline:
            articles = pipeline | beam.Create([teaser])
            out = articles | FetchFullText("never", LOOPBACK)
            assert out["articles"] is articles
            assert_that(out["articles"], equal_to([teaser]))
            assert_that(out["pages"], equal_to([]), label="NoPageCounts")
        assert server.hits("/bridge") == 0
