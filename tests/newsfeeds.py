"""Small RSS documents for tests: stories in, feed text out.

A story is ``(link, published, headline, body)`` where ``body`` is one paragraph or a
list of them; the whole article travels in the item's description, as many feeds do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

Story = tuple[str, datetime, str, str | Sequence[str]]


def rss(stories: Iterable[Story], title: str = "Example") -> str:
    """An RSS 2.0 document with one item per story, GUID = link."""
    items = []
    for link, when, headline, body in stories:
        paragraphs = [body] if isinstance(body, str) else list(body)
        html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        items.append(
            f"<item><title>{escape(headline)}</title><link>{escape(link)}</link>"
            f"<guid isPermaLink='false'>{escape(link)}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<description>{escape(html)}</description></item>"
        )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{escape(title)}</title><link>https://news.example.test/</link>"
        f"<description>test</description>{''.join(items)}</channel></rss>"
    )
