"""Feed items from feedparser's dicts: what both XML paths (and JSON Feed) end in.

feedparser and the lxml fast path both produce feedparser-shaped dicts (the fast
path builds the same ``FeedParserDict``s); ``parsed_feed`` turns them into
``FeedItem``s the same way for both, which is what lets the tests hold the two
paths equal by comparing items.
"""

from __future__ import annotations

import dataclasses
import html
import os
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from newsbeam.schemas import DeadLetter, FeedItem
from newsbeam.transforms.common import one_line
from newsbeam.transforms.feeds.outlets import country_of_site
from newsbeam.transforms.feeds.sources import is_url

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


class FeedParseError(Exception):
    """A body that is not a feed at all (an HTML page, an error document, junk)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ParsedFeed(NamedTuple):
    """A parsed feed: its title, its items, and entries that could not be read."""

    source: str
    items: list[FeedItem]
    failures: list[DeadLetter]


def with_outlet(
    parsed: ParsedFeed, outlet: str | None, outlet_country: str | None
) -> ParsedFeed:
    """The items credited to the outlet and country the feed list names, where it
    names them (the feed's title and its site's domain stay the fallback)."""
    if not outlet and not outlet_country:
        return parsed
    items = [
        dataclasses.replace(
            item,
            outlet=outlet or item.outlet,
            outlet_country=outlet_country or item.outlet_country,
        )
        for item in parsed.items
    ]
    return parsed._replace(items=items)


def site_url(home: str, feed_url: str) -> str:
    """The site a feed belongs to: its own home link, else where it was fetched."""
    return home if is_url(home) else feed_url if is_url(feed_url) else ""


def parsed_feed(
    channel: Mapping[str, Any],
    entries: Iterable[Mapping[str, Any]],
    feed_url: str,
    fetched_at: datetime,
) -> ParsedFeed:
    """Feed title and items from feedparser's dicts (or the fast path's copies)."""
    source = source_title(channel.get("title", ""), feed_url)
    # Links still relative here had no base; a local feed file's own site is one.
    base = site_url(str(channel.get("link") or ""), feed_url)
    country = country_of_site(base)
    items = [
        feedparser_item(entry, feed_url, source, fetched_at, base, country)
        for entry in entries
    ]
    return ParsedFeed(source, items, [])


def source_title(title: Any, feed_url: str) -> str:
    title = one_line(str(title or ""), limit=300)
    return title or urlsplit(feed_url).hostname or os.path.basename(feed_url)


def feedparser_item(
    entry: Mapping[str, Any],
    feed_url: str,
    source: str,
    fetched_at: datetime,
    base: str,
    country: str | None = None,
) -> FeedItem:
    published, published_error = entry_date(entry, "published")
    updated, updated_error = entry_date(entry, "updated")
    link = str(entry.get("link") or "").strip()
    if link and base and not urlsplit(link).scheme:
        link = urljoin(base, link)
    return FeedItem(
        feed_url=feed_url,
        source=source,
        link=link,
        guid=str(entry.get("id") or "").strip(),
        title=str(entry.get("title") or "").strip(),
        published=published,
        updated=updated,
        fetched_at=fetched_at,
        html=entry_html(entry),
        date_error="; ".join(e for e in (published_error, updated_error) if e),
        outlet=source,
        outlet_country=country,
    )


def entry_date(entry: Mapping[str, Any], name: str) -> tuple[datetime | None, str]:
    """A date feedparser parsed (already UTC), or why a date that was there is not."""
    raw = entry.get(name)
    parsed: time.struct_time | None = entry.get(f"{name}_parsed")
    if parsed is not None:
        try:
            return datetime(*parsed[:5], min(parsed[5], 59), tzinfo=UTC), ""
        except (ValueError, OverflowError):
            pass
    if raw and str(raw).strip():
        return None, f"unparseable {name} date: {one_line(str(raw), limit=100)!r}"
    return None, ""


def entry_html(entry: Mapping[str, Any]) -> str:
    """The fullest body the entry offers: content (content:encoded) over summary."""
    candidates = list(entry.get("content") or [])
    if entry.get("summary"):
        candidates.append(entry.get("summary_detail") or {"value": entry["summary"]})
    best = ""
    for candidate in candidates:
        value = str(candidate.get("value") or "")
        kind = str(candidate.get("type") or "text/html").lower()
        if value and not any(t in kind for t in _HTML_TYPES):
            value = html.escape(value)  # plain text: keep it literal through cleaning
        if len(value.strip()) > len(best.strip()):
            best = value
    return best
