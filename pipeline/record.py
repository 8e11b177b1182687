"""The run record: ``OUTPUT/_runs/RUN_ID.json``, what one run read, wrote and dropped.

It is computed inside the pipeline (so it works on every runner) from small
accounting events that each stage emits, and written once every dataset is on disk.
The invariant it lets anyone check: ``items_seen == articles_written + duplicates +
dead_letters_items``, and every feed given on the command line appears once.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.transforms import userstate, window
from apache_beam.utils.windowed_value import WindowedValue
from newsbeam.schemas import layout
from newsbeam.schemas.status import FeedState, FeedStatus, Stage
from newsbeam.transforms.common import read_bytes, utc_now, write_atomically
from newsbeam.transforms.feeds import next_feed_state, save_feed_state


def record_path(output: str, run_id: str) -> str:
    return layout.record_path(output, run_id)


def build_record(
    meta: RunMeta,
    tally: RunTally,
    finished_at: datetime,
) -> dict:
    """The record as a plain dict, from the run's tally of events."""
    feeds = meta.feeds
    rows = [
        _feed_row(feed, tally.polls.get(feed), tally.per_feed.get(feed, Counter()))
        for feed in list(feeds) + sorted(set(tally.polls) - set(feeds))
    ]
    totals = tally.totals
    return {
        "run_id": meta.run_id,
        "runner": meta.runner,
        **meta.about,
        "started_at": meta.started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "elapsed_seconds": round((finished_at - meta.started_at).total_seconds(), 3),
        "counts": {
            "feeds": len(rows),
            "feeds_failed": sum(1 for r in rows if r["status"] == FeedState.FAILED),
            "items_seen": sum(r["items_seen"] for r in rows),
            "articles_written": totals["articles_written"],
            "duplicates": totals["duplicates"],
            "dead_letters": totals["dead_letters"],
            "dead_letters_items": totals["dead_letters_items"],
            "dead_letters_feeds": totals["dead_letters_feeds"],
            "mentions": totals["mentions"],
            "quotes": totals["quotes"],
            "files_written": totals["files_written"],
            **page_counts(totals),
        },
        "feeds": rows,
        "feed_state": {
            feed: {
                **polls.last_good.validators(),
                "checked_at": polls.last_good.checked_at,
            }
            for feed, polls in sorted(tally.polls.items())
            if polls.last_good
        },
    }


PAGE_COUNTS = (
    "pages_tried",
    "pages_fetched",
    "pages_used",
    "pages_not_longer",
    "pages_disallowed",
    "pages_failed",
)


def page_counts(totals: Counter) -> dict:
    """Article pages: the fixed counts, then ``pages_failed_<reason>`` per reason.

    ``pages_tried == pages_used + pages_not_longer + pages_disallowed +
    pages_failed``, and ``pages_failed`` is the sum of the reasons.
    """
    counts = {name: totals[name] for name in PAGE_COUNTS}
    reasons = sorted(
        name for name in totals if name.startswith("pages_failed_") and totals[name]
    )
    counts.update((name, totals[name]) for name in reasons)
    return counts


def _feed_row(feed: str, polls: FeedPolls | None, seen: Counter) -> dict:
    """One feed's line of the record; a streaming run folds all its polls into it."""
    polls = polls or FeedPolls()
    if not polls.count:
        status = FeedState.MISSING
    elif FeedState.OK in polls.states:
        status = FeedState.OK
    elif FeedState.NOT_MODIFIED in polls.states:
        status = FeedState.NOT_MODIFIED
    else:
        status = FeedState.FAILED
    last = polls.last
    return {
        "feed": feed,
        "status": str(status),
        "http_status": last.http_status if last else None,
        "error": last.error if last else "",
        "polls": polls.count,
        "items_seen": polls.items_seen,
        "articles_written": seen["articles_written"],
        "duplicates": seen["duplicates"],
        "dead_letters": seen["dead_letters_items"],
        "pages_used": seen["pages_used"],
        "pages_disallowed": seen["pages_disallowed"],
        "pages_failed": seen["pages_failed"],
    }


# --------------------------------------------------------------------- the tally


@dataclass
class FeedPolls:
    """Every poll of one feed, folded: counts, states seen, the latest two statuses."""

    count: int = 0
    items_seen: int = 0
    states: set = field(default_factory=set)
    last: FeedStatus | None = None  # the latest status of any kind
    last_good: FeedStatus | None = None  # the latest ok / not_modified

    def add(self, status: FeedStatus) -> None:
        self.count += 1
        self.items_seen += status.items_seen
        self.states.add(FeedState(status.status))
        if _later(status, self.last):
            self.last = status
        if status.good and _later(status, self.last_good):
            self.last_good = status

    def merge(self, other: FeedPolls) -> None:
        self.count += other.count
        self.items_seen += other.items_seen
        self.states |= other.states
        for status in (other.last, other.last_good):
            if status:
                if _later(status, self.last):
                    self.last = status
                if status.good and _later(status, self.last_good):
                    self.last_good = status


def _later(status: FeedStatus, than: FeedStatus | None) -> bool:
    return than is None or status.checked_at >= than.checked_at


@dataclass
class RunTally:
    per_feed: dict = field(default_factory=dict)  # feed -> Counter of event kinds
    totals: Counter = field(default_factory=Counter)
    polls: dict = field(default_factory=dict)  # feed -> FeedPolls


class TallyRunFn(beam.CombineFn):
    """Folds the run's events into one small ``RunTally`` (bounded in a long run)."""

    def create_accumulator(self) -> RunTally:
        return RunTally()

    def add_input(self, tally: RunTally, event) -> RunTally:
        kind, payload = event
        if kind == "status":
            tally.polls.setdefault(payload.feed, FeedPolls()).add(payload)
        else:
            feed, name = payload
            if feed:
                tally.per_feed.setdefault(feed, Counter())[name] += 1
            tally.totals[name] += 1
        return tally

    def merge_accumulators(self, tallies) -> RunTally:
        merged = RunTally()
        for tally in tallies:
            for feed, counter in tally.per_feed.items():
                merged.per_feed.setdefault(feed, Counter()).update(counter)
            merged.totals.update(tally.totals)
            for feed, polls in tally.polls.items():
                merged.polls.setdefault(feed, FeedPolls()).merge(polls)
        return merged

    def extract_output(self, tally: RunTally) -> RunTally:
        return tally


def write_record(output: str, record: dict) -> str:
    path = record_path(output, record["run_id"])
    write_atomically(path, json.dumps(record, indent=2).encode())
    return path


def read_record(output: str, run_id: str) -> dict:
    return json.loads(read_bytes(record_path(output, run_id)))


def dead_letter_event(letter) -> tuple[str, str]:
    if letter.stage == Stage.ITEMS:
        return letter.source, "dead_letters_items"
    if letter.stage == Stage.FEEDS:
        return letter.source, "dead_letters_feeds"
    return "", "dead_letters_other"


class PartialTallyFn(beam.DoFn):
    """One ``RunTally`` per window per bundle, so a long run ships few of them."""

    def start_bundle(self) -> None:
        self._tallies: dict = {}

    def process(self, event, window_=beam.DoFn.WindowParam) -> None:
        combine = TallyRunFn()
        tally = self._tallies.get(window_) or combine.create_accumulator()
        self._tallies[window_] = combine.add_input(tally, event)

    def finish_bundle(self):
        for window_, tally in self._tallies.items():
            yield WindowedValue(tally, window_.max_timestamp(), [window_])
        self._tallies = {}


class RunMeta(NamedTuple):
    """What a run record says about the run itself, fixed when the run starts."""

    output: str
    run_id: str
    runner: str
    started_at: datetime
    feeds: list[str]
    feed_state: dict  # what the last run committed, updated by this one
    # What produced the data: newsbeam_version, model {name, version}, options.
    about: dict = {}  # a NamedTuple default, never mutated


class RecordRun(beam.PTransform):
    """Tallies what the run did and writes the record (batch: and the feed state).

    In batch the tally fires once, after every write it counts, and commits the feed
    state before the record. In streaming the record is rewritten as the run goes.
    """

    def __init__(self, meta: RunMeta, streaming: bool = False) -> None:
        super().__init__()
        self._meta = meta
        self._streaming = streaming

    def expand(self, streams: dict):
        if self._streaming:
            return self._expand_streaming(streams)
        tally = _events(streams) | "Tally" >> beam.CombineGlobally(TallyRunFn())
        return tally | "WriteRecord" >> beam.Map(commit_batch_run, self._meta)

    def _expand_streaming(self, streams: dict):
        """Each bundle's tally is merged into keyed state and the record rewritten.

        No group waits for the end of the stream, so the record of a long run stays
        current; the feed state is committed by the launcher once the run has
        drained (``commit_streaming_state``), never while items may be in flight.
        """
        streams = {
            name: pcoll | f"WholeRun_{name}" >> beam.WindowInto(window.GlobalWindows())
            for name, pcoll in streams.items()
        }
        return (
            _events(streams)
            | "PartialTally" >> beam.ParDo(PartialTallyFn())
            | "OneKey" >> beam.Map(lambda t: (None, t))
            | "UpdateRecord" >> beam.ParDo(UpdateRecordFn(self._meta))
        )


def _events(streams: dict):
    """Every stream as small ``(kind, payload)`` events the tally folds."""
    return (
        streams["feeds"] | "StatusEvents" >> beam.Map(lambda s: ("status", s)),
        streams["articles"]
        | "ArticleEvents"
        >> beam.Map(lambda a: ("count", (a.feed_url, "articles_written"))),
        streams["duplicates"]
        | "DuplicateEvents" >> beam.Map(lambda d: ("count", (d[0], "duplicates"))),
        *(
            [streams["pages"] | "PageEvents" >> beam.Map(lambda p: ("count", p))]
            if "pages" in streams
            else []
        ),
        streams["dead_letters"]
        | "DeadLetterEvents"
        >> beam.FlatMap(
            lambda d: [("count", dead_letter_event(d)), ("count", ("", "dead_letters"))]
        ),
        streams["mentions"]
        | "MentionEvents" >> beam.Map(lambda m: ("count", ("", "mentions"))),
        streams["quotes"]
        | "QuoteEvents" >> beam.Map(lambda q: ("count", ("", "quotes"))),
        streams["written"]
        | "FileEvents"
        >> beam.FlatMap(lambda w: [("count", ("", "files_written"))] * w[2]),
    ) | "AllEvents" >> beam.Flatten()


class UpdateRecordFn(beam.DoFn):
    """Keeps the run's tally in keyed state; rewrites the record on every update."""

    TALLY = userstate.ReadModifyWriteStateSpec("run_tally", PickleCoder())

    def __init__(self, meta) -> None:
        self._meta = meta

    def process(self, element, tally_state=beam.DoFn.StateParam(TALLY)):
        _key, partial = element
        previous = tally_state.read()
        tally = TallyRunFn().merge_accumulators(
            [previous, partial] if previous else [partial]
        )
        tally_state.write(tally)
        record = build_record(self._meta, tally, utc_now())
        yield write_record(self._meta.output, record)


def commit_streaming_state(output: str, previous: dict, record: dict) -> None:
    """After a streaming run drained: keep each feed's validators for the next run."""
    statuses = [
        FeedStatus(
            feed,
            FeedState.OK,
            etag=values.get("etag"),
            last_modified=values.get("last_modified"),
            body_sha256=values.get("body_sha256"),
            checked_at=values.get("checked_at") or "",
        )
        for feed, values in record.get("feed_state", {}).items()
    ]
    save_feed_state(output, next_feed_state(previous, statuses, utc_now()))


def commit_batch_run(
    tally: RunTally, meta: RunMeta, pipeline_started: bool = True
) -> str:
    """Commit the feed state, then the record: both only after what they count."""
    good = [p.last_good for p in tally.polls.values() if p.last_good]
    save_feed_state(meta.output, next_feed_state(meta.feed_state, good, utc_now()))
    record = build_record(meta, tally, utc_now())
    record["pipeline_started"] = pipeline_started
    return write_record(meta.output, record)


def tally_of(statuses: list[FeedStatus]) -> RunTally:
    """The tally of a run that only checked its feeds."""
    tally = RunTally()
    for status in statuses:
        tally.polls.setdefault(status.feed, FeedPolls()).add(status)
    return tally
