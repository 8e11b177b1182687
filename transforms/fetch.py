"""Stage 3: full text for articles whose feed gave only a teaser.

Many feeds carry a sentence or two per item; entities and quotes need the whole
story. In ``auto`` mode an article under ``MIN_WORDS`` words has its page fetched
and its main text extracted with trafilatura; the page wins only if it has more
words than the feed. Article links come from feed authors, not the operator, so
every page request goes through the SSRF guard (``trusted=False``) and, unless the
operator has the site's permission, the site's robots.txt (``robots.py``).

Fetching is waiting, so a worker keeps many pages in flight (``PagePool``: a bounded
pool of threads, a few per host) while its main thread goes on: the DoFn hands each
article to the pool and yields whatever pages have come back, so the parse of one
batch of articles runs while the pages of the next are on their way. Per-host limits
are the process's (``http.HOSTS``), shared with the feed stage.

A page that cannot be fetched or read is not a dead letter: the article still
exists with its feed text, so it goes on unchanged and a counter records why.
Every counter is also emitted on the ``pages`` output, for the run record.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils import shared
from apache_beam.utils.windowed_value import WindowedValue
from lxml.etree import LxmlError
from newsbeam.schemas import Article
from newsbeam.transforms import progress
from newsbeam.transforms.http import FetchError, FetchOptions, FetchResult, fetch
from newsbeam.transforms.robots import RobotsCache
from newsbeam.transforms.text import article_text, word_count

LOG = logging.getLogger("newsbeam")

STAGE = "fetch"
PAGES = "pages"  # the stage's accounting output: (feed_url, counter name) per count
MIN_WORDS = 150  # below this, a feed text is most likely a teaser
MODES = ("auto", "always", "never")
PAGE_CONCURRENCY = 32  # pages in flight per worker: 16/s at 2 s a page, above the NLP
PENDING_PER_THREAD = 4  # articles a worker holds per thread: bounds memory
FAILING_AFTER = 3  # timeouts or dropped connections in a row before a host is skipped
FAILING_FOR = 300.0  # seconds a failing host is skipped
_CONNECTION_FAILURES = frozenset({"timeout", "connection_error"})
_HTML_TYPES = ("", "text/html", "application/xhtml+xml")


def extract_main_text(html: str, url: str) -> str:
    """The article body of a page: paragraphs joined by blank lines, no boilerplate.

    Precision is favoured over recall: missing a paragraph costs less than
    attributing a quote from a comment section or a related-stories box.
    """
    import trafilatura  # here, not at the top: ~0.3 s a process that fetches no page

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
    from trafilatura.utils import decode_file

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


# ------------------------------------------------------------------ one page

# What one page attempt adds to, named as the run record and the progress display
# name them: tried = fetched + disallowed + failed before fetching; fetched = used +
# not_longer + failed after fetching (not_html, no_text).
TRIED = "pages_tried"
FETCHED = "pages_fetched"
USED = "pages_used"
NOT_LONGER = "pages_not_longer"
DISALLOWED = "pages_disallowed"
FAILED = "pages_failed"


def failed(reason: str) -> tuple[str, ...]:
    return (FAILED, f"{FAILED}_{reason}")


def full_text(
    article: Article,
    options: FetchOptions,
    permit: Callable[[str], float] | None = None,
) -> tuple[Article, tuple[str, ...]]:
    """The article with its page's main text when that is longer, and the counters
    the attempt adds to. A page that fails leaves the article as it was."""
    try:
        result = fetch(article.url, options, trusted=False, permit=permit)
    except FetchError as e:
        if e.reason == "disallowed":
            return article, (TRIED, DISALLOWED)
        return article, (TRIED, *failed(e.reason))
    html = page_html(result)
    if html is None:
        return article, (TRIED, FETCHED, *failed("not_html"))
    body = extract_main_text(html, result.final_url)
    if not body:
        return article, (TRIED, FETCHED, *failed("no_text"))
    replaced = with_page_text(article, body)
    if replaced is None:
        return article, (TRIED, FETCHED, NOT_LONGER)
    return replaced, (TRIED, FETCHED, USED)


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class FailingHosts:
    """Hosts whose pages keep timing out are left alone for a while.

    A site that is down costs a deadline (30 s) per page; fifty links to it would
    hold a batch run for minutes. After ``after`` such failures in a row its other
    pages keep their feed text at once (``host_failing``) for ``pause`` seconds.
    """

    def __init__(self, after: int = FAILING_AFTER, pause: float = FAILING_FOR):
        self._after = after
        self._pause = pause
        self._lock = threading.Lock()
        self._streak: Counter = Counter()
        self._until: dict[str, float] = {}

    def check(self, host: str, now: float) -> None:
        with self._lock:
            if self._until.get(host, 0.0) > now:
                raise FetchError("host_failing", f"{host} failed {self._after} times")

    def record(self, host: str, counts: Iterable[str], now: float) -> None:
        with self._lock:
            if any(f"{FAILED}_{r}" in counts for r in _CONNECTION_FAILURES):
                self._streak[host] += 1
                if self._streak[host] >= self._after:
                    self._until[host] = now + self._pause
                    self._streak[host] = 0
            else:
                self._streak.pop(host, None)


# ------------------------------------------------------------------ many pages


class PagePool:
    """Runs ``work`` on a bounded set of threads, a few jobs per host at a time.

    At most ``threads`` jobs run at once and at most ``per_host`` for one host, so a
    feed of fifty links to one site cannot take every thread while other sites
    wait; hosts take turns. Results come back in the order they finish, through
    ``ready`` and ``wait_one``, always in the caller's thread. ``work`` must not
    raise; if it does, ``on_error`` turns the job and the error into its result,
    so every job submitted gives exactly one result.
    """

    def __init__(
        self,
        work: Callable[[Any], Any],
        on_error: Callable[[Any, Exception], Any],
        threads: int,
        per_host: int,
    ) -> None:
        self._work = work
        self._on_error = on_error
        self._threads = max(1, threads)
        self._per_host = per_host if per_host > 0 else self._threads
        self._lock = threading.Lock()
        self._waiting: dict[str, deque] = {}  # host -> jobs not started, in order
        self._running: Counter = Counter()
        self._busy = 0
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = 0  # submitted, result not yet taken
        self._generation = 0
        self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="page")

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, host: str, job: Any) -> None:
        with self._lock:
            self._waiting.setdefault(host, deque()).append(job)
            self._pending += 1
            self._start_some()

    def ready(self) -> list:
        """Results that have come back, without waiting."""
        results = []
        while True:
            try:
                results.append(self._done.get_nowait())
            except queue.Empty:
                break
        self._pending -= len(results)
        return results

    def wait_one(self) -> Any:
        """The next result to come back (there must be a job pending)."""
        if self._pending <= 0:
            raise RuntimeError("no page is pending")
        result = self._done.get()
        self._pending -= 1
        return result

    def forget(self) -> None:
        """Drop every job and result of a bundle that will not finish (a retry)."""
        with self._lock:
            self._generation += 1
            self._waiting.clear()
            self._pending = 0
            while not self._done.empty():
                self._done.get_nowait()

    def close(self) -> None:
        self.forget()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _start_some(self) -> None:
        """Start waiting jobs while threads are free: one per host per round, so
        hosts take turns."""
        started = True
        while started:
            started = False
            for host in list(self._waiting):
                if self._busy >= self._threads:
                    return
                if self._running[host] >= self._per_host:
                    continue
                jobs = self._waiting.pop(host)
                job = jobs.popleft()
                if jobs:  # back of the line
                    self._waiting[host] = jobs
                self._running[host] += 1
                self._busy += 1
                started = True
                self._executor.submit(self._run, self._generation, host, job)

    def _run(self, generation: int, host: str, job: Any) -> None:
        try:
            result = self._work(job)
        except Exception as error:  # noqa: BLE001 - every job must give a result
            result = self._on_error(job, error)
        with self._lock:
            self._running[host] -= 1
            if not self._running[host]:
                del self._running[host]
            self._busy -= 1
            if generation == self._generation:
                self._done.put(result)
            self._start_some()


class _PageSites:
    """What one run keeps per worker process: robots.txt rules and failing hosts."""

    def __init__(self, options: FetchOptions, obey_robots: bool) -> None:
        self.robots = RobotsCache(options) if obey_robots else None
        self.failing = FailingHosts()


class FetchPageFn(beam.DoFn):
    """Replace a teaser with its page's main text when that is longer.

    Pages are fetched on a ``PagePool`` and come out in the order they finish; an
    article that wants no page goes straight through. The order of a PCollection
    means nothing, and each article's row depends only on its own page, so the
    datasets do not depend on which page came back first. At most
    ``threads * PENDING_PER_THREAD`` articles wait in the pool; beyond that
    ``process`` waits for one to come back. ``finish_bundle`` waits for the rest.
    """

    def __init__(
        self,
        mode: str,
        options: FetchOptions,
        obey_robots: bool = True,
        threads: int = PAGE_CONCURRENCY,
    ):
        self._mode = mode
        self._options = options
        self._obey_robots = obey_robots
        self._threads = threads
        self._shared = shared.Shared()  # one _PageSites per process for this run

    def setup(self) -> None:
        self._sites = self._shared.acquire(
            lambda: _PageSites(self._options, self._obey_robots)
        )
        self._permit = self._sites.robots.permit if self._sites.robots else None
        self._pool = PagePool(
            self._fetch,
            self._unexpected,
            self._threads,
            self._options.host_concurrency,
        )
        self._most_pending = self._threads * PENDING_PER_THREAD

    def start_bundle(self) -> None:
        self._pool.forget()

    def process(
        self, article: Article, element=beam.DoFn.WindowedValueParam
    ) -> Iterator[Any]:
        if wants_page(article, self._mode):
            self._pool.submit(host_of(article.url), element)
        else:
            yield article
        yield from self._emit(self._pool.ready())
        while self._pool.pending >= self._most_pending:
            yield from self._emit([self._pool.wait_one()])

    def finish_bundle(self) -> Iterator[Any]:
        while self._pool.pending:
            yield from self._emit([self._pool.wait_one()])

    def teardown(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()

    def _fetch(self, element: WindowedValue) -> tuple[WindowedValue, tuple[str, ...]]:
        """In a pool thread: one article's page. Counters wait for the DoFn's thread,
        where Beam records them."""
        article = element.value
        host = host_of(article.url)
        now = time.monotonic()
        try:
            self._sites.failing.check(host, now)
        except FetchError as e:
            return element, (TRIED, *failed(e.reason))
        article, counts = full_text(article, self._options, self._permit)
        self._sites.failing.record(host, counts, time.monotonic())
        return element.with_value(article), counts

    def _unexpected(self, element: WindowedValue, error: Exception):
        LOG.warning(
            "page %s: unexpected %s: %s", element.value.url, type(error).__name__, error
        )
        return element, (TRIED, *failed("internal_error"))

    def _emit(self, results: list) -> Iterator[Any]:
        for element, counts in results:
            yield element
            feed = element.value.feed_url
            for name in counts:
                Metrics.counter(STAGE, name).inc()
                progress.count(name)
                yield beam.pvalue.TaggedOutput(PAGES, element.with_value((feed, name)))


class FetchFullText(beam.PTransform):
    """Articles -> ``{"articles", "pages"}``: the same articles, teasers replaced by
    their pages' main text, and one ``(feed_url, counter)`` per count for the record.

    ``mode`` is ``auto`` (short articles only), ``always`` (every article with a
    url) or ``never`` (no fetching and no step in the graph at all).
    ``obey_robots=False`` is for operators who have the sites' permission.
    """

    def __init__(
        self,
        mode: str = "auto",
        options: FetchOptions | None = None,
        label: str | None = None,
        *,
        obey_robots: bool = True,
        threads: int = PAGE_CONCURRENCY,
    ):
        super().__init__(label)
        if mode not in MODES:
            raise ValueError(f"full-text mode must be one of {MODES}, not {mode!r}")
        if threads < 1:
            raise ValueError(f"page concurrency must be at least 1, not {threads}")
        self._mode = mode
        self._options = options or FetchOptions()
        self._obey_robots = obey_robots
        self._threads = threads

    def expand(self, articles: beam.PCollection) -> dict[str, beam.PCollection]:
        if self._mode == "never":
            return {"articles": articles, "pages": articles | "NoPages" >> _Nothing()}
        fetched = articles | "FetchPages" >> beam.ParDo(
            FetchPageFn(self._mode, self._options, self._obey_robots, self._threads)
        ).with_outputs(PAGES, main="articles")
        return {"articles": fetched.articles, "pages": fetched[PAGES]}


class _Nothing(beam.PTransform):
    """An empty PCollection in the same pipeline (nothing was fetched)."""

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return pcoll.pipeline | "Empty" >> beam.Create([])
