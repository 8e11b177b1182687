"""The benchmark corpus: distinct ~600-word articles served as local feed files.

Built at bench time into a temporary folder, never stored in the repository, and only
from text the project owns: the fictional example feeds (``examples/feeds/*.xml``) and
the written evaluation articles (``eval/articles/*.txt``). Each benchmark article is a
headline from one source article followed by runs of consecutive paragraphs from
several source articles, so that quotes keep their cue and the text reads like news.
The same seed always gives the same bytes, so two machines parse the same words.
"""

from __future__ import annotations

import html
import json
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsbeam.transforms.text import html_to_text, word_count

REPO = Path(__file__).resolve().parents[1]
SEED = 20240318
ARTICLES = 300
FEEDS = 6  # 4 RSS 2.0 and 2 Atom, 50 items each
WORDS = (520, 620)  # the body's length is drawn from this range
FIRST_DAY = datetime(2024, 3, 11, 6, 0, tzinfo=UTC)
DAYS = 7

_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "rss1": "http://purl.org/rss/1.0/",
}
_SECTIONS = ("world", "europe", "business", "climate", "health", "politics", "culture")
DEFAULT_SITE = "https://bench-news.test"
_SENTENCE_END = re.compile(r"[.!?][\"\u201d']?(?=\s+[A-Z\u201c\u2018\"'])")


@dataclass(frozen=True)
class Source:
    """One project-owned article, as a headline and its paragraphs."""

    headline: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Corpus:
    folder: Path
    feed_list: Path  # a feed list naming every feed file
    feeds: tuple[Path, ...]
    articles: int
    words: int  # body words as counted by transforms.text.word_count
    sources: int

    def describe(self) -> dict:
        return {
            "articles": self.articles,
            "feeds": len(self.feeds),
            "words": self.words,
            "mean_words": round(self.words / max(self.articles, 1)),
            "feed_bytes": sum(p.stat().st_size for p in self.feeds),
            "source_articles": self.sources,
            "seed": SEED,
        }


def project_sources(repo: Path = REPO) -> list[Source]:
    """Every article the project wrote itself: the example feeds and eval texts."""
    sources: list[Source] = []
    for path in sorted((repo / "eval" / "articles").glob("*.txt")):
        head, _, body = path.read_text(encoding="utf-8").strip().partition("\n\n")
        paragraphs = tuple(p for p in html_to_text(html.escape(body)).split("\n\n"))
        if head.strip() and paragraphs:
            sources.append(Source(" ".join(head.split()), paragraphs))
    for path in sorted((repo / "examples" / "feeds").glob("*.xml")):
        sources.extend(_feed_sources(path))
    return sources


def _feed_sources(path: Path) -> list[Source]:
    root = ET.parse(path).getroot()
    found = []
    entries = (
        root.findall(".//item")
        + root.findall(".//rss1:item", _NS)
        + root.findall(".//atom:entry", _NS)
    )
    for entry in entries:
        title = _first_text(entry, ("title", "rss1:title", "atom:title"))
        body = _first_text(
            entry,
            ("content:encoded", "atom:content", "description", "rss1:description"),
        )
        paragraphs = tuple(p for p in html_to_text(body).split("\n\n") if p)
        if title and len(paragraphs) >= 2:
            found.append(Source(" ".join(title.split()), paragraphs))
    return found


def _first_text(entry: ET.Element, names: tuple[str, ...]) -> str:
    for name in names:
        node = entry.find(name, _NS)
        if node is not None and (node.text or "").strip():
            return node.text
    return ""


def compose(sources: list[Source], rng: random.Random) -> tuple[str, list[str]]:
    """A headline and ~600 words of paragraphs, taken in runs from several sources."""
    target = rng.randint(*WORDS)
    order = rng.sample(range(len(sources)), k=len(sources))
    headline = sources[order[0]].headline
    paragraphs: list[str] = []
    words = 0
    for index in order:
        source = sources[index].paragraphs
        start = rng.randrange(len(source))
        run = source[start : start + rng.randint(2, 5)]
        for paragraph in run:
            paragraphs.append(paragraph)
            words += word_count(paragraph)
            if words >= target:
                return headline, paragraphs
    return headline, paragraphs


def teaser_of(paragraph: str) -> str:
    """The first sentence of a story, as a teaser-only feed gives it."""
    paragraph = paragraph.strip()
    end = _SENTENCE_END.search(paragraph)
    return paragraph[: end.end()] if end else paragraph


def build(
    folder: Path,
    articles: int = ARTICLES,
    feeds: int = FEEDS,
    seed: int = SEED,
    site: Callable[[int], str] | None = None,
    teasers: bool = False,
) -> Corpus:
    """Write ``feeds`` feed files holding ``articles`` distinct articles, and a list.

    ``site`` gives the base URL of feed N's outlet (every link of feed N starts with
    it); ``teasers`` writes only each story's first sentence, as most big outlets'
    feeds do, so the text must come from the page. The stories themselves go to
    ``stories.json`` (url, title, paragraphs) for whoever serves or checks them.
    """
    sources = project_sources()
    if len(sources) < 8:
        raise RuntimeError(f"too few project-owned source articles: {len(sources)}")
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[tuple[str, ...]] = set()
    per_feed: list[list[dict]] = [[] for _ in range(feeds)]
    stories = []
    total_words = 0
    for n in range(articles):
        while True:
            headline, paragraphs = compose(sources, rng)
            if tuple(paragraphs) not in seen:
                seen.add(tuple(paragraphs))
                break
        total_words += sum(word_count(p) for p in paragraphs)
        section = _SECTIONS[n % len(_SECTIONS)]
        when = FIRST_DAY + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
        base = site(n % feeds) if site else DEFAULT_SITE
        url = f"{base}/{section}/{when:%Y/%m/%d}/story-{n:04d}"
        stories.append({"url": url, "title": headline, "paragraphs": paragraphs})
        per_feed[n % feeds].append(
            {
                "title": headline,
                "url": url,
                "when": when,
                "summary": teaser_of(paragraphs[0]) if teasers else paragraphs[0],
                "html": ""
                if teasers
                else "\n".join(
                    f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs
                ),
            }
        )
    paths = []
    for index, items in enumerate(per_feed):
        atom = index % 3 == 2
        path = folder / f"bench-{index:02d}.{'atom' if atom else 'xml'}"
        path.write_text(_atom(index, items) if atom else _rss(index, items), "utf-8")
        paths.append(path)
    feed_list = folder / "feeds.txt"
    feed_list.write_text(
        "# newsbeam benchmark feeds (generated)\n"
        + "".join(f"{p.name}\n" for p in paths),
        "utf-8",
    )
    corpus = Corpus(
        folder, feed_list, tuple(paths), articles, total_words, len(sources)
    )
    (folder / "corpus.json").write_text(json.dumps(corpus.describe(), indent=1))
    (folder / "stories.json").write_text(json.dumps(stories, ensure_ascii=False))
    return corpus


def _rss(index: int, items: list[dict]) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        f"<title>Bench News {index}</title>\n"
        f"<link>https://bench-news.test/feed-{index}/</link>\n"
        "<description>Generated benchmark feed (fictional text)</description>\n"
        "<language>en-gb</language>\n"
    ]
    for item in items:
        parts.append(
            "<item>\n"
            f"<title>{html.escape(item['title'])}</title>\n"
            f"<link>{item['url']}</link>\n"
            f'<guid isPermaLink="true">{item["url"]}</guid>\n'
            f"<pubDate>{item['when']:%a, %d %b %Y %H:%M:%S +0000}</pubDate>\n"
            "<dc:creator>Bench News staff</dc:creator>\n"
            f"<description>{html.escape(item['summary'])}</description>\n"
            + (
                f"<content:encoded><![CDATA[{item['html']}]]></content:encoded>\n"
                if item["html"]
                else ""
            )
            + "</item>\n"
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts)


def _atom(index: int, items: list[dict]) -> str:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">\n'
        f"<id>tag:bench-news.test,2024:/feeds/{index}</id>\n"
        f"<title>Bench News {index}</title>\n"
        f'<link rel="alternate" type="text/html" href="https://bench-news.test/feed-{index}/"/>\n'
        f"<updated>{items[-1]['when'].isoformat()}</updated>\n"
        "<author><name>Bench News</name></author>\n"
    ]
    for item in items:
        parts.append(
            "<entry>\n"
            f"<id>tag:bench-news.test,2024:{item['url'].split('/', 3)[3]}</id>\n"
            f"<title>{html.escape(item['title'])}</title>\n"
            f'<link rel="alternate" type="text/html" href="{item["url"]}"/>\n'
            f"<published>{item['when'].isoformat()}</published>\n"
            f"<updated>{item['when'].isoformat()}</updated>\n"
            f"<summary>{html.escape(item['summary'])}</summary>\n"
            + (
                f'<content type="html">{html.escape(item["html"])}</content>\n'
                if item["html"]
                else ""
            )
            + "</entry>\n"
        )
    parts.append("</feed>\n")
    return "".join(parts)


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/newsbeam-bench-corpus")
    print(json.dumps(build(target).describe(), indent=1))
