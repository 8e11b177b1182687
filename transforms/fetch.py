"""Stage 3: full text for articles whose feed gave only a teaser.

Many feeds carry a sentence or two per item; entities and quotes need the whole
story. In ``auto`` mode an article under ``MIN_WORDS`` words has its page fetched
and its main text extracted with trafilatura; the page wins only if it has more
words than the feed. Article links come from feed authors, not the operator, so
every page request goes through the SSRF guard (``trusted=False``).

A page that cannot be fetched or read is not a dead letter: the article still
exists with its feed text, so it goes on unchanged and a counter records why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import apache_beam as beam
import trafilatura
from apache_beam.metrics import Metrics
from lxml.etree import LxmlError
from newsbeam.schemas import Article
from newsbeam.transforms.http import FetchError, FetchOptions, FetchResult, fetch
from newsbeam.transforms.text import article_text, word_count
from trafilatura.utils import decode_file

STAGE = "fetch"
MIN_WORDS = 150  # below this, a feed text is most likely a teaser
MODES = ("auto", "always", "never")
_HTML_TYPES = ("", "text/html", "application/xhtml+xml")


def extract_main_text(html: str, url: str) -> str:
    """The article body of a page: paragraphs joined by blank lines, no boilerplate.

    Precision is favoured over recall: missing a paragraph costs less than
    attributing a quote from a comment section or a related-stories box.
    """
    try:
        text = trafilatura.extract(
            html,
            url=url or None,
            include_comments=False,
            include_tables=False,
            include_images=False,
            favor_precision=True,
            output_format="txt",
        )
    except (LxmlError, ValueError):  # markup too broken for lxml to build a tree
        return ""
    if not text:
        return ""
    paragraphs = (" ".join(line.split()) for line in text.splitlines())
    return "\n\n".join(p for p in paragraphs if p)


def without_headline(body: str, title: str) -> str:
    """The body minus a first paragraph that repeats the headline.

    Pages usually start with the headline; ``article_text`` adds it again.
    """
    first, _, rest = body.partition("\n\n")
    if (
        title
        and " ".join(first.split()).casefold() == " ".join(title.split()).casefold()
    ):
        return rest
    return body


def page_html(result: FetchResult) -> str | None:
    """The page as text, or None when the response is not a web page."""
    if result.media_type not in _HTML_TYPES:
        return None
    if result.charset:
        try:
            return result.body.decode(result.charset, "replace")
        except LookupError:
            pass  # an unknown charset name: let the sniffer guess
    return decode_file(result.body)


def wants_page(article: Article, mode: str) -> bool:
    if not article.url or mode == "never":
        return False
    return mode == "always" or article.word_count < MIN_WORDS


def with_page_text(article: Article, body: str) -> Article | None:
    """The article with the page's text, or None when the page adds nothing."""
    body = without_headline(body, article.title)
    text = article_text(article.title, body)
    words = word_count(text)
    if words <= article.word_count:
        return None
    return dataclasses.replace(article, text=text, word_count=words, text_source="page")


class FetchPageFn(beam.DoFn):
    """Replace a teaser with its page's main text when that is longer."""

    def __init__(self, mode: str, options: FetchOptions):
        self._mode = mode
        self._options = options
        self._tried = Metrics.counter(STAGE, "pages_tried")
        self._used = Metrics.counter(STAGE, "pages_used")
        self._kept = Metrics.counter(STAGE, "pages_not_longer")
        self._failed = Metrics.counter(STAGE, "pages_failed")

    def process(self, article: Article) -> Iterator[Article]:
        if not wants_page(article, self._mode):
            yield article
            return
        self._tried.inc()
        try:
            result = fetch(article.url, self._options, trusted=False)
        except FetchError as e:
            yield self._unchanged(article, e.reason)
            return
        html = page_html(result)
        if html is None:
            yield self._unchanged(article, "not_html")
            return
        body = extract_main_text(html, result.final_url)
        if not body:
            yield self._unchanged(article, "no_text")
            return
        replaced = with_page_text(article, body)
        if replaced is None:
            self._kept.inc()
            yield article
            return
        self._used.inc()
        yield replaced

    def _unchanged(self, article: Article, reason: str) -> Article:
        self._failed.inc()
        Metrics.counter(STAGE, f"page_failed_{reason}").inc()
        return article


class FetchFullText(beam.PTransform):
    """Articles -> the same articles, teasers replaced by their pages' main text.

    ``mode`` is ``auto`` (short articles only), ``always`` (every article with a
    url) or ``never`` (no fetching and no step in the graph at all).
    """

    def __init__(
        self,
        mode: str = "auto",
        options: FetchOptions | None = None,
        label: str | None = None,
    ):
        super().__init__(label)
        if mode not in MODES:
            raise ValueError(f"full-text mode must be one of {MODES}, not {mode!r}")
        self._mode = mode
        self._options = options or FetchOptions()

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        if self._mode == "never":
            return articles
        return articles | "FetchPages" >> beam.ParDo(
            FetchPageFn(self._mode, self._options)
        )
