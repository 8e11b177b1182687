"""Items to articles: pure functions, then the composite under TestPipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from conftest import TEST_RUNNER
from newsbeam.schemas import FeedItem
from newsbeam.transforms.text import (
    EmptyItemError,
    ToArticles,
    article_id_for,
    article_text,
    canonical_url,
    choose_published,
    detect_language,
    html_to_text,
    item_to_article,
    word_count,
)

FETCHED = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)


def item(**overrides) -> FeedItem:
    values = dict(
        feed_url="https://feeds.example.test/world.xml",
        source="Example World",
        link="https://News.Example.test/world/story-1?utm_source=rss&id=7#comments",
        guid="story-1",
        title="Ministers meet in Moscow",
        published=datetime(2024, 3, 4, 9, 30, tzinfo=UTC),
        updated=None,
        fetched_at=FETCHED,
        html="<p>The foreign ministers met on Monday.</p><p>They talked for hours.</p>",
    )
    values.update(overrides)
    return FeedItem(**values)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://News.Example.TEST:443/a/b?utm_source=rss&utm_medium=x&id=3#top",
            "https://news.example.test/a/b?id=3",
        ),
        ("http://example.test", "http://example.test/"),
        ("http://example.test:8080/x?b=2&a=1", "http://example.test:8080/x?b=2&a=1"),
        ("https://example.test/x?fbclid=abc", "https://example.test/x"),
        ("", ""),
        ("not a url", "not a url"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_article_id_prefers_url_then_guid_then_source_and_title():
    by_url = article_id_for("https://a.test/1", "g", "S", "T")
    assert by_url == article_id_for("https://a.test/1", "other", "X", "Y")
    by_guid = article_id_for("", "g", "S", "T")
    assert by_guid != by_url and by_guid == article_id_for("", "g", "X", "Y")
    by_title = article_id_for("", "", "S", "Some  Title")
    assert by_title == article_id_for("", " ", "S", "some title")
    assert by_title != article_id_for("", "", "Other source", "Some Title")


def test_dates_fall_back_from_published_to_updated_to_fetch_time():
    updated = datetime(2024, 3, 3, tzinfo=UTC)
    assert choose_published(item()) == (
        datetime(2024, 3, 4, 9, 30, tzinfo=UTC),
        "published",
    )
    assert choose_published(item(published=None, updated=updated)) == (
        updated,
        "updated",
    )
    assert choose_published(item(published=None)) == (FETCHED, "fetched")
    future = FETCHED + timedelta(days=30)
    assert choose_published(item(published=future)) == (FETCHED, "fetched")


def test_html_to_text_keeps_paragraphs_and_drops_media():
    markup = (
        "<div><p>First <b>bold</b> line &amp; more.</p>"
        "<figure><img src='x.jpg'><figcaption>Caption</figcaption></figure>"
        "<script>alert(1)</script><p>Second<br>line</p>tail text</div>"
    )
    assert html_to_text(markup) == (
        "First bold line & more.\n\nSecond\n\nline\n\ntail text"
    )


def test_html_to_text_plain_text_keeps_its_own_paragraphs():
    assert html_to_text("One line\nwrapped.\n\nTwo.") == "One line wrapped.\n\nTwo."
    assert html_to_text("  ") == ""


def test_article_text_and_word_count():
    assert article_text(" Head  line ", "Body.\n") == "Head line\n\nBody."
    assert article_text("", "Body") == "Body"
    assert word_count("Foreign-secretary Johnson's visit, 300 cars.") == 5


def test_detect_language():
    assert (
        detect_language("The minister said the talks had gone well for both.") == "en"
    )
    assert (
        detect_language(
            "Le ministre a déclaré que les discussions s'étaient bien passées."
        )
        == "fr"
    )
    assert detect_language("Hi") == "und"


def test_item_to_article():
    article = item_to_article(item())
    assert article.url == "https://news.example.test/world/story-1?id=7"
    assert article.text == (
        "Ministers meet in Moscow\n\nThe foreign ministers met on Monday."
        "\n\nThey talked for hours."
    )
    assert article.date_source == "published"
    assert article.language == "en"
    assert article.word_count == word_count(article.text)
    with pytest.raises(EmptyItemError):
        item_to_article(item(title="", html=" "))


def test_to_articles_dedups_and_routes_failures():
    teaser = item(
        feed_url="https://feeds.example.test/teasers.xml",
        link="https://news.example.test/world/story-1?id=7&utm_campaign=z",
        html="<p>Short.</p>",
    )
    full = item()
    other = item(link="https://news.example.test/world/story-2", guid="story-2")
    empty = item(link="https://news.example.test/empty", title="", html="")
    stored = item(link="https://news.example.test/old-story")
    stored_id = item_to_article(stored).article_id
    with TestPipeline(runner=TEST_RUNNER) as p:
        items = p | "Items" >> beam.Create([teaser, full, other, empty, stored])
        ids = p | "Stored" >> beam.Create([stored_id])
        out = items | ToArticles(ids)
        assert_that(
            out["articles"] | "Urls" >> beam.Map(lambda a: (a.url, a.feed_url)),
            equal_to(
                [
                    (
                        "https://news.example.test/world/story-1?id=7",
                        "https://feeds.example.test/world.xml",
                    ),
                    (
                        "https://news.example.test/world/story-2",
                        "https://feeds.example.test/world.xml",
                    ),
                ]
            ),
            label="OneArticlePerStory",
        )
        assert_that(
            out["duplicates"],
            equal_to(
                [
                    ("https://feeds.example.test/teasers.xml", "duplicate_in_run"),
                    ("https://feeds.example.test/world.xml", "already_stored"),
                ]
            ),
            label="DuplicatesCounted",
        )
        assert_that(
            out["dead_letters"] | "Errors" >> beam.Map(lambda d: (d.stage, d.error)),
            equal_to([("items", "empty_item")]),
            label="EmptyItemDeadLettered",
        )
