"""The three pieces that make the batch graph run unbounded.

Everything else (ReadFeeds, FetchFullText, Analyse, the Parquet layout) is shared with
batch. Streaming changes only:

* the source: ``PollFeedList`` ticks every ``poll_interval`` seconds and re-reads the
  feed list at each tick, so feeds can be added to a list file without a restart;
* the dedup: ``DedupAcrossPollsFn`` keeps the ids seen in keyed state, spread over
  a fixed number of buckets and pruned after ``retention`` so state stays bounded;
* the write: ``CommitDatasets`` buffers each file's rows in keyed state and commits
  them when the window's timer fires, in the same layout as batch (``sinks`` writes,
  this module only decides when).

Why buckets and explicit pruning instead of one timer per article id: the in-process
FnApiRunner fires timers at the end of every bundle whatever their time, so a timer
cannot be trusted to mean "retention has passed". Pruning therefore compares
first-seen times with the element's time (the poll's fetch time) or, in the timer,
with the earlier of the timer's time and the wall clock; the timer only makes sure
idle buckets get pruned too, which on Dataflow and Flink happens at the right time.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate, window
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.utils.timestamp import Duration, Timestamp
from newsbeam.schemas import DATASETS
from newsbeam.schemas.layout import DEFAULT_LAYOUT, file_key
from newsbeam.schemas.status import Stage
from newsbeam.transforms.common import DEAD_LETTERS, dead_letter
from newsbeam.transforms.feeds import FeedListError, expand_sources
from newsbeam.transforms.sinks import stored_article_ids, write_file

LOG = logging.getLogger("newsbeam")

DEDUP_BUCKETS = 64
DEFAULT_RETENTION_HOURS = 14 * 24  # longer than any feed keeps an item
DEFAULT_WINDOW_SECONDS = 60
_STOP = threading.Event()


def request_stop() -> None:
    """Ask the poll loop to finish: the current poll completes, nothing is cut off."""
    _STOP.set()


def reset_stop() -> None:
    _STOP.clear()


def stop_requested() -> bool:
    return _STOP.is_set()


# ------------------------------------------------------------------------ source


class _PollRestrictions(beam.transforms.core.RestrictionProvider):
    def initial_restriction(self, element) -> OffsetRange:
        return OffsetRange(0, element["max_polls"])

    def create_tracker(self, restriction) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element, restriction) -> int:
        return restriction.size()

    def truncate(self, element, restriction):
        return None  # on drain, stop polling


class PollTicksFn(beam.DoFn):
    """Emits poll number ``n`` at ``start + n * interval`` until told to stop.

    It wakes at least every ``WAKE_SECONDS`` so that a stop request (SIGINT, SIGTERM)
    or the end of ``--duration`` is noticed promptly, not a whole interval later.
    """

    WAKE_SECONDS = 1.0

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        element: dict,
        tracker=beam.DoFn.RestrictionParam(_PollRestrictions()),
    ) -> Iterator:
        start, interval, deadline = (
            element["start"],
            element["interval"],
            element["deadline"],
        )
        position = tracker.current_restriction().start
        now = time.time()
        if stop_requested() or (deadline and now >= deadline):
            tracker.try_claim(tracker.current_restriction().stop)  # done
            return
        due = start + position * interval
        if due > now:
            tracker.defer_remainder(Timestamp.of(min(due, now + self.WAKE_SECONDS)))
            return
        if not tracker.try_claim(position):
            return
        yield window.TimestampedValue(position, Timestamp.of(now))
        # One tick per bundle, even when behind schedule: the bundle's end is what
        # lets the in-process runner commit this poll's rows before the next one.
        if position + 1 >= tracker.current_restriction().stop:
            return  # that was the last poll
        next_due = start + (position + 1) * interval
        tracker.defer_remainder(Timestamp.of(max(next_due, time.time())))


def feeds_for_tick(tick: int, specs: tuple[str, ...]) -> Iterator:
    """The feed list as it is now: list files are read again at every tick."""
    try:
        feeds = expand_sources(list(specs))
    except FeedListError as error:
        yield beam.pvalue.TaggedOutput(
            DEAD_LETTERS,
            dead_letter(Stage.FEEDS, ",".join(specs), "feed_list", str(error)),
        )
        return
    LOG.info("poll %d: %d feeds", tick + 1, len(feeds))
    yield from feeds


class PollFeedList(beam.PTransform):
    """An impulse every ``interval`` seconds → the feed sources to read at that tick.

    Returns ``{"feeds", "dead_letters"}``. ``max_polls`` and ``duration`` bound the
    run; without them it polls until stopped.
    """

    def __init__(
        self,
        specs: list[str],
        interval: float,
        max_polls: int | None = None,
        duration: float | None = None,
    ) -> None:
        super().__init__()
        self._specs = tuple(specs)
        self._interval = float(interval)
        self._max_polls = int(max_polls) if max_polls else 2**62
        self._duration = duration

    def expand(self, pbegin):
        start = time.time()
        seed = {
            "start": start,
            "interval": self._interval,
            "max_polls": self._max_polls,
            "deadline": start + self._duration if self._duration else 0.0,
        }
        specs = self._specs
        feeds = (
            pbegin
            | "Impulse" >> beam.Create([seed])
            | "Ticks" >> beam.ParDo(PollTicksFn())
            | "ReadFeedList"
            >> beam.FlatMap(feeds_for_tick, specs).with_outputs(
                DEAD_LETTERS, main="feeds"
            )
        )
        return {"feeds": feeds.feeds, "dead_letters": feeds[DEAD_LETTERS]}


# ------------------------------------------------------------------------- dedup


def bucket_of(article_id: str, buckets: int = DEDUP_BUCKETS) -> int:
    return zlib.crc32(article_id.encode()) % buckets


def prune(seen: dict[str, float], now: float, retention: float) -> dict[str, float]:
    """Ids first seen within ``retention`` seconds of ``now``."""
    return {k: t for k, t in seen.items() if now - t < retention}


class DedupAcrossPollsFn(beam.DoFn):
    """First sight of an article id wins; later copies leave as duplicates.

    Input is ``(bucket, article)``. ``stored_ids`` (what the output directory already
    holds, loaded once per worker) makes a restarted job skip what it wrote before.
    """

    SEEN = userstate.ReadModifyWriteStateSpec("seen", PickleCoder())
    PRUNE = userstate.TimerSpec("prune", TimeDomain.WATERMARK)

    def __init__(self, retention_seconds: float, output: str | None = None) -> None:
        self._retention = retention_seconds
        self._output = output
        self.duplicates = Metrics.counter("newsbeam", "duplicates_across_polls")

    def setup(self) -> None:
        self._stored: set[str] = set()
        if self._output:
            self._stored.update(stored_article_ids(self._output))

    def process(
        self,
        element,
        timestamp=beam.DoFn.TimestampParam,
        seen_state=beam.DoFn.StateParam(SEEN),
        prune_timer=beam.DoFn.TimerParam(PRUNE),
    ) -> Iterator:
        _bucket, article = element
        now = timestamp.micros / 1e6  # the poll's time: event time is fetch time
        seen = prune(seen_state.read() or {}, now, self._retention)
        if article.article_id in seen or article.article_id in self._stored:
            self.duplicates.inc()
            stored = article.article_id in self._stored
            reason = "already_stored" if stored else "duplicate_across_polls"
            yield beam.pvalue.TaggedOutput("duplicates", (article.feed_url, reason))
        else:
            seen[article.article_id] = now
            yield article
        seen_state.write(seen)
        prune_timer.set(timestamp + Duration(seconds=self._retention))

    @userstate.on_timer(PRUNE)
    def on_prune(
        self,
        fired_for=beam.DoFn.TimestampParam,
        seen_state=beam.DoFn.StateParam(SEEN),
    ) -> None:
        # A runner that fires timers early (the FnApiRunner, at every bundle end)
        # must not prune by the timer's own time: the wall clock bounds it.
        now = min(fired_for.micros / 1e6, time.time())
        seen = prune(seen_state.read() or {}, now, self._retention)
        if seen:
            seen_state.write(seen)
        else:
            seen_state.clear()


class DedupAcrossPolls(beam.PTransform):
    """Articles → ``{"articles", "duplicates"}``, deduplicated with keyed state."""

    def __init__(self, retention_seconds: float, output: str | None = None) -> None:
        super().__init__()
        self._retention = retention_seconds
        self._output = output

    def expand(self, articles):
        results = (
            articles
            | "KeyByBucket" >> beam.Map(lambda a: (bucket_of(a.article_id), a))
            | "FirstSightWins"
            >> beam.ParDo(
                DedupAcrossPollsFn(self._retention, self._output)
            ).with_outputs("duplicates", main="articles")
        )
        return {"articles": results.articles, "duplicates": results.duplicates}


# ------------------------------------------------------------------------- write


def commit_window_fn(output: str, dataset: str) -> beam.DoFn:
    """A DoFn that buffers a shard's rows for a window, then commits them.

    Keys are a fixed number of commit shards (``COMMIT_SHARDS``), not files: actors
    and dates are unbounded, and keyed state per file per window is what a long run
    would accumulate; each commit writes one file per file key (partition and write
    shard of the layout) among its rows, so a window adds at most ``WRITE_SHARDS``
    files per dataset and date in the ``date`` layout.

    The file names depend only on the rows, so a retried commit rewrites the same
    files instead of adding new ones; the rows' own dates choose the partition, so an
    item published days ago lands in its own date, not in the window's.

    Each dataset gets its own class with its own state and timer names: the
    in-process FnApiRunner routes timers by name across a fused stage, so two
    commit steps sharing names would fire each other's timers on the wrong state.
    """
    rows_spec = userstate.BagStateSpec(f"rows_{dataset}", PickleCoder())
    commit_spec = userstate.TimerSpec(f"commit_{dataset}", TimeDomain.WATERMARK)

    class CommitWindowFn(beam.DoFn):
        def __init__(self) -> None:
            self.commits = Metrics.counter("newsbeam", f"{dataset}_commits")

        def process(
            self,
            element,
            window_=beam.DoFn.WindowParam,
            rows=beam.DoFn.StateParam(rows_spec),
            commit=beam.DoFn.TimerParam(commit_spec),
        ) -> None:
            _shard, key_and_row = element
            rows.add(key_and_row)
            commit.set(window_.max_timestamp())

        @userstate.on_timer(commit_spec)
        def on_commit(
            self, rows=beam.DoFn.StateParam(rows_spec)
        ) -> Iterator[tuple[str, int, int]]:
            by_file: dict[tuple[str, int], list] = {}
            for key, row in rows.read():
                by_file.setdefault(key, []).append(row)
            rows.clear()
            for (partition, _write_shard), batch in sorted(by_file.items()):
                paths = write_file(output, DATASETS[dataset], partition, batch)
                self.commits.inc()
                yield dataset, len(batch), len(paths)

    CommitWindowFn.__name__ = CommitWindowFn.__qualname__ = f"Commit_{dataset}_Fn"
    return CommitWindowFn()


COMMIT_SHARDS = 16


def _commit_shard(key: tuple[str, int], row) -> tuple[int, tuple]:
    shard = zlib.crc32(f"{key[0]}#{key[1]}".encode()) % COMMIT_SHARDS
    return shard, (key, row)


class CommitWindows(beam.PTransform):
    """Rows of one dataset → one committed set of files per file key and window."""

    def __init__(
        self,
        output: str,
        dataset: str,
        window_seconds: float,
        layout: str = DEFAULT_LAYOUT,
    ) -> None:
        super().__init__()
        self._output = output
        self._dataset = dataset
        self._window_seconds = window_seconds
        self._layout = layout

    def expand(self, rows):
        spec = DATASETS[self._dataset]
        layout = self._layout
        return (
            rows
            | "Window" >> beam.WindowInto(window.FixedWindows(self._window_seconds))
            | "KeyByShard"
            >> beam.Map(lambda r: _commit_shard(file_key(spec, r, layout), r))
            | "Commit" >> beam.ParDo(commit_window_fn(self._output, self._dataset))
        )


class CommitDatasets(beam.PTransform):
    """Streaming's ``WriteDatasets``: each dataset commits per window, nothing
    waits for the end. The actors table needs the whole run and is left to batch
    runs."""

    def __init__(
        self, output: str, window_seconds: float, layout: str = DEFAULT_LAYOUT
    ) -> None:
        super().__init__()
        self._output = output
        self._window_seconds = window_seconds
        self._layout = layout

    def expand(self, datasets: dict):
        return {
            name: datasets[name]
            | f"Commit_{name}"
            >> CommitWindows(self._output, name, self._window_seconds, self._layout)
            for name in ("mentions", "quotes", "dead_letters", "articles")
        }
