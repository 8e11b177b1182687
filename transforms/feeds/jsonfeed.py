"""JSON Feed (jsonfeed.org, versions 1 and 1.1), which feedparser does not read.

A JSON document is a JSON Feed only when it says so (``version``); an item that is
not an object is one dead letter and the others are kept.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from typing import Any

from newsbeam.schemas import DeadLetter, FeedItem
from newsbeam.schemas.status import Stage
from newsbeam.transforms.common import dead_letter, one_line
from newsbeam.transforms.feeds.entries import (
    FeedParseError,
    ParsedFeed,
    site_url,
    source_title,
)
from newsbeam.transforms.feeds.outlets import country_of_site
from newsbeam.transforms.text import valid_unicode

_JSON_FEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/1(\.\d+)?/?$")


def parse_json_feed(body: bytes, feed_url: str, fetched_at: datetime) -> ParsedFeed:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FeedParseError("bad_json", str(e)) from e
    except RecursionError as e:  # [[[[... nested deeper than the interpreter goes
        raise FeedParseError("bad_json", "JSON nested too deeply") from e
    if not isinstance(document, dict) or not _JSON_FEED_VERSION.match(
        str(document.get("version", ""))
    ):
        raise FeedParseError("not_a_feed", "JSON document is not a JSON Feed")
    entries = document.get("items")
    if not isinstance(entries, list):
        raise FeedParseError("not_a_feed", "JSON Feed without an items list")
    source = source_title(_text(document.get("title")), feed_url)
    country = country_of_site(site_url(_text(document.get("home_page_url")), feed_url))
    items: list[FeedItem] = []
    failures: list[DeadLetter] = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            failures.append(
                dead_letter(
                    Stage.ITEMS,
                    feed_url,
                    "bad_item",
                    f"JSON Feed item {position} is a {type(entry).__name__}",
                    payload=_payload(entry),
                )
            )
            continue
        items.append(_json_feed_item(entry, feed_url, source, fetched_at, country))
    return ParsedFeed(source, items, failures)


def _text(value: Any) -> str:
    """A JSON value that should be a string; numbers are accepted (ids often are).

    JSON may escape lone surrogates (\\ud800), which no Parquet writer can encode.
    """
    if isinstance(value, str):
        return valid_unicode(value).strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _json_feed_item(
    entry: dict[str, Any],
    feed_url: str,
    source: str,
    fetched_at: datetime,
    country: str | None,
) -> FeedItem:
    published, published_error = _iso_date(entry.get("date_published"), "published")
    updated, updated_error = _iso_date(entry.get("date_modified"), "updated")
    body = _text(entry.get("content_html"))
    if not body:
        plain = _text(entry.get("content_text")) or _text(entry.get("summary"))
        body = html.escape(plain)
    return FeedItem(
        feed_url=feed_url,
        source=source,
        link=_text(entry.get("url")) or _text(entry.get("external_url")),
        guid=_text(entry.get("id")),
        title=_text(entry.get("title")),
        published=published,
        updated=updated,
        fetched_at=fetched_at,
        html=body,
        date_error="; ".join(e for e in (published_error, updated_error) if e),
        outlet=source,
        outlet_country=country,
    )


def _iso_date(value: Any, name: str) -> tuple[datetime | None, str]:
    """An RFC 3339 date as aware UTC; a date without an offset is taken as UTC."""
    text = _text(value)
    if not text:
        return None, ""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None, f"unparseable {name} date: {one_line(text, limit=100)!r}"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC), ""


def _payload(value: Any) -> str:
    """A bad item as JSON for its dead letter (bounded; absurd nesting as a note)."""
    try:
        return json.dumps(value)[:2000]
    except (RecursionError, ValueError):
        return f"<{type(value).__name__} nested too deeply to show>"
