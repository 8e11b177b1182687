"""Reading feeds in the pipeline: fetch or open, parse, and report every feed once.

``ReadFeeds`` fetches and parses every feed in parallel. One feed that is down, is
not a feed, or was an unusable entry of a feed list becomes one dead-letter row and
one failed status; the rest go on. An unchanged feed (a 304, or the same bytes as the
last run) costs one conditional request and no parsing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp
from newsbeam.schemas.status import FeedState, FeedStatus, Stage
from newsbeam.transforms import progress
from newsbeam.transforms.common import DEAD_LETTERS, dead_letter, utc_now
from newsbeam.transforms.feeds.entries import FeedParseError
from newsbeam.transforms.feeds.parse import parse_feed
from newsbeam.transforms.feeds.sources import (
    FeedSource,
    as_source,
    is_url,
    read_local,
)
from newsbeam.transforms.http import FetchError, FetchOptions, fetch

FEEDS = "feeds"  # tag of the per-feed status output
FETCH_THREADS = 8  # feeds fetched at once by one worker (host limits still apply)
FETCH_BATCH = 16  # feeds handed to one DoFn call


def feed_status(
    feed: str,
    status: FeedState,
    *,
    http_status: int | None = None,
    items_seen: int = 0,
    error: str = "",
    etag: str | None = None,
    last_modified: str | None = None,
    body_sha256: str | None = None,
) -> FeedStatus:
    """What happened to one feed now; ``checked_at`` orders a streaming run's polls.

    The validators are committed to ``_state/`` only after the run's datasets are
    written, so a crash never marks a feed as read whose items were lost.
    """
    return FeedStatus(
        feed=feed,
        status=status,
        http_status=http_status,
        items_seen=items_seen,
        error=error,
        etag=etag,
        last_modified=last_modified,
        body_sha256=body_sha256,
        checked_at=utc_now().isoformat(),
    )


class FeedBytes(NamedTuple):
    """A feed's body as read, and whether it is what the last run committed."""

    body: bytes = b""
    content_type: str | None = None
    status: int | None = None  # HTTP status; None for a local file
    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None
    unchanged: bool = False  # a 304, or the same bytes as last time


def read_feed(
    feed: str, options: FetchOptions, previous: Mapping[str, Any]
) -> FeedBytes:
    """Fetch (conditionally) or read a feed; raises ``FetchError`` or ``OSError``.

    ``previous`` is what the last run committed for the feed (validators, digest).
    """
    if not is_url(feed):
        body = read_local(feed, options.max_bytes)
        digest = hashlib.sha256(body).hexdigest()
        return FeedBytes(
            body, body_sha256=digest, unchanged=digest == previous.get("body_sha256")
        )
    result = fetch(
        feed,
        options,
        trusted=True,
        etag=previous.get("etag"),
        last_modified=previous.get("last_modified"),
    )
    etag = result.etag or previous.get("etag")
    modified = result.last_modified or previous.get("last_modified")
    if result.not_modified:
        return FeedBytes(
            status=304,
            etag=etag,
            last_modified=modified,
            body_sha256=previous.get("body_sha256"),
            unchanged=True,
        )
    digest = hashlib.sha256(result.body).hexdigest()
    if digest == previous.get("body_sha256"):  # changed validators, same bytes
        return FeedBytes(
            result.body,
            result.content_type,
            result.status,
            etag,
            modified,
            digest,
            unchanged=True,
        )
    return FeedBytes(
        result.body,
        result.content_type,
        result.status,
        result.etag,
        result.last_modified,
        digest,
    )


def unchanged_status(feed: str, read: FeedBytes) -> FeedStatus:
    """The report of a feed that did not change: nothing to parse or analyse."""
    return feed_status(
        feed,
        FeedState.NOT_MODIFIED,
        http_status=read.status,
        etag=read.etag,
        last_modified=read.last_modified,
        body_sha256=read.body_sha256,
    )


def unchanged_feeds(
    feeds: Iterable[FeedSource | str],
    state: Mapping[str, Mapping[str, Any]],
    options: FetchOptions,
    limit: int = 16,
) -> list[FeedStatus] | None:
    """Statuses of every feed if none changed since the last run, else None.

    A scheduled run usually finds nothing new; checking the feeds one by one before
    a pipeline starts saves the whole start-up then. The check stops at the first
    feed that changed, failed or was never read (the pipeline reads it, and records
    why), so a run with news pays one extra request at most; with more than
    ``limit`` feeds it is left to the pipeline, which reads them in parallel.
    """
    sources = [as_source(feed) for feed in feeds]
    if len(sources) > limit or any(s.error or s.feed not in state for s in sources):
        return None
    statuses = []
    for source in sources:
        try:
            read = read_feed(source.feed, options, state[source.feed])
        except (FetchError, OSError):
            return None
        if not read.unchanged:
            return None
        statuses.append(unchanged_status(source.feed, read))
    return statuses


class FetchFeedFn(beam.DoFn):
    """Fetch (or read) feeds and parse them; failures leave as dead letters.

    Takes batches of ``FeedSource`` (or plain URLs and paths). Emits items on the
    main output, one ``FeedStatus`` per feed on ``FEEDS`` and dead letters on
    ``DEAD_LETTERS``.
    """

    def __init__(
        self,
        options: FetchOptions,
        state: Mapping[str, Mapping[str, Any]] | None = None,
    ):
        self._options = options
        self._state = {feed: dict(value) for feed, value in (state or {}).items()}
        self._read = Metrics.counter(Stage.FEEDS, "feeds_read")
        self._failed = Metrics.counter(Stage.FEEDS, "feeds_failed")
        self._not_modified = Metrics.counter(Stage.FEEDS, "feeds_not_modified")
        self._items = Metrics.counter(Stage.FEEDS, "items_seen")

    def process(self, feeds: list[FeedSource | str]) -> Iterator[Any]:
        """Reads a batch of feeds on a few threads: fetching is waiting, not work.

        The per-host limits of ``FetchOptions`` still apply across the threads.
        Counters are kept here, in the DoFn's own thread, where Beam records them.
        """
        sources = [as_source(feed) for feed in feeds]
        if len(sources) == 1:
            results = [list(self._read_one(sources[0]))]
        else:
            threads = min(len(sources), FETCH_THREADS)
            with ThreadPoolExecutor(threads, thread_name_prefix="feed") as pool:
                results = list(pool.map(lambda s: list(self._read_one(s)), sources))
        # Batching stamped the feeds with the end of the window; what was read is
        # stamped with when it was read, so streaming windows see the poll's time.
        when = Timestamp.now()
        for outputs in results:
            for output in outputs:
                if isinstance(output, beam.pvalue.TaggedOutput):
                    if output.tag == FEEDS:
                        self._count(output.value)
                    yield beam.pvalue.TaggedOutput(
                        output.tag, TimestampedValue(output.value, when)
                    )
                else:
                    yield TimestampedValue(output, when)

    def _count(self, status: FeedStatus) -> None:
        progress.count("feeds_done")
        if status.status == FeedState.OK:
            self._read.inc()
            self._items.inc(status.items_seen)
            progress.count("items_seen", status.items_seen)
        elif status.status == FeedState.NOT_MODIFIED:
            self._not_modified.inc()
        else:
            self._failed.inc()
            progress.count("feeds_failed")
            Metrics.counter(Stage.FEEDS, f"failed_{status.error}").inc()

    def _read_one(self, source: FeedSource) -> Iterator[Any]:
        feed = source.feed
        if source.error:  # an unusable entry of a feed list: nothing to read
            yield from self._failure(feed, source.error, source.detail, b"")
            return
        fetched_at = utc_now()
        read = FeedBytes()
        previous = self._state.get(feed, {})
        try:
            read = read_feed(feed, self._options, previous)
            if read.unchanged:
                yield beam.pvalue.TaggedOutput(FEEDS, unchanged_status(feed, read))
                return
            parsed = parse_feed(
                read.body,
                feed,
                fetched_at,
                content_type=read.content_type,
                outlet=source.outlet,
                outlet_country=source.outlet_country,
            )
        except FetchError as e:
            yield from self._failure(feed, e.reason, e.detail, b"", e.http_status)
            return
        except FeedParseError as e:
            yield from self._failure(feed, e.reason, e.detail, read.body, read.status)
            return
        except OSError as e:
            reason = e.strerror or type(e).__name__
            yield from self._failure(feed, "file_error", f"{feed}: {reason}", b"")
            return
        seen = len(parsed.items) + len(parsed.failures)
        yield from parsed.items
        for failure in parsed.failures:
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, failure)
        yield beam.pvalue.TaggedOutput(
            FEEDS,
            self._remember(
                feed_status(
                    feed,
                    FeedState.OK,
                    http_status=read.status,
                    items_seen=seen,
                    etag=read.etag,
                    last_modified=read.last_modified,
                    body_sha256=read.body_sha256,
                )
            ),
        )

    def _remember(self, status: FeedStatus) -> FeedStatus:
        """Keep validators and digest for the next poll of a streaming run."""
        self._state[status.feed] = status.validators()
        return status

    def _failure(
        self,
        feed: str,
        reason: str,
        detail: str,
        body: bytes,
        http_status: int | None = None,
    ) -> Iterator[Any]:
        yield beam.pvalue.TaggedOutput(
            DEAD_LETTERS, dead_letter(Stage.FEEDS, feed, reason, detail, payload=body)
        )
        yield beam.pvalue.TaggedOutput(
            FEEDS,
            feed_status(feed, FeedState.FAILED, http_status=http_status, error=reason),
        )


class ReadFeeds(beam.PTransform):
    """Feed sources (``FeedSource``, or URLs and paths, already expanded) -> items.

    Returns ``{"items", "dead_letters", "feeds"}``; ``feeds`` holds exactly one
    ``FeedStatus`` per input feed, for the run record. ``state`` maps a feed to what
    a previous run committed (``etag``, ``last_modified``, ``body_sha256``) so that
    an unchanged feed costs one conditional request and nothing more.
    """

    def __init__(
        self,
        options: FetchOptions | None = None,
        state: Mapping[str, Mapping[str, Any]] | None = None,
        label: str | None = None,
        spread: bool = True,
    ):
        super().__init__(label)
        self._options = options or FetchOptions()
        self._state = state
        self._spread = spread  # a shuffle would hold a streaming job until the end

    def expand(self, sources: beam.PCollection) -> dict[str, beam.PCollection]:
        if self._spread:
            sources = sources | "SpreadFeeds" >> beam.Reshuffle()
        results = (
            sources
            | "BatchFeeds"
            >> beam.BatchElements(
                min_batch_size=FETCH_BATCH, max_batch_size=FETCH_BATCH
            )
            | "FetchFeeds"
            >> beam.ParDo(FetchFeedFn(self._options, self._state)).with_outputs(
                DEAD_LETTERS, FEEDS, main="items"
            )
        )
        return {
            "items": results.items,
            "dead_letters": results[DEAD_LETTERS],
            "feeds": results[FEEDS],
        }
