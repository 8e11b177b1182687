"""Small RSS documents for tests: stories in, feed text out.

A story is ``(link, published, headline, body)`` where ``body`` is one paragraph or a
list of them; the whole article travels in the item's description, as many feeds do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

Story = tuple[str, datetime, str, str | Sequence[str]]

# Two UK-Russia stories (one link with a tracking parameter) and one on sport: direct,
# colon-form and indirect quotes, a surname-only speaker, an organisation speaker.
STORIES = [
    (
        "https://news.example.test/uk-russia/talks?utm_source=rss",
        datetime(2024, 3, 4, 8, 0, tzinfo=UTC),
        "Foreign ministers trade warnings in Moscow",
        [
            "British Foreign Secretary David Cameron met Russian Foreign Minister "
            "Sergei Lavrov in Moscow on Monday.",
            '"We will not be intimidated," Cameron said after the meeting.',
            'Lavrov told reporters: "Our relations are at their lowest point."',
            "The Kremlin said that the talks had been useful.",
        ],
    ),
    (
        "https://news.example.test/uk-russia/sanctions",
        datetime(2024, 3, 5, 14, 30, tzinfo=UTC),
        "London widens sanctions on Russian banks",
        [
            "The United Kingdom announced new sanctions on Russian banks on Tuesday.",
            "Cameron said that the measures would stay until Russia changed course.",
            "Dmitry Peskov, the Kremlin spokesman, said the sanctions were illegal.",
        ],
    ),
    (
        "https://news.example.test/sport/final",
        datetime(2024, 3, 5, 20, 0, tzinfo=UTC),
        "Late goal settles the cup final",
        [
            "Manchester United beat Chelsea 2-1 at Wembley on Tuesday evening.",
            '"It was a great night for the club," said the manager, Erik ten Hag.',
        ],
    ),
]


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
