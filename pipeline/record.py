"""The run record: ``OUTPUT/_runs/RUN_ID.json``, what one run read, wrote and dropped.

It is computed inside the pipeline (so it works on every runner) from small
accounting events that each stage emits, and written once every dataset is on disk.
The invariant it lets anyone check: ``items_seen == articles_written + duplicates +
dead_letters_items``, and every feed given on the command line appears once.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.common import utc_now
from transforms.feeds import next_feed_state, save_feed_state

ITEM_STAGE = "items"  # dead letters of this stage each stand for one lost item
FEED_STAGE = "feeds"  # dead letters of this stage each stand for one failed feed


def record_path(output: str, run_id: str) -> str:
    return f"{output.rstrip('/')}/_runs/{run_id}.json"


def build_record(
    run_id: str,
    runner: str,
    started_at: datetime,
    feeds: list[str],
    statuses: list[dict],
    counts: list[tuple[tuple[str, str], int]],
    finished_at: datetime,
) -> dict:
    """The record as a plain dict, from feed statuses and per-feed event counts."""
    per_feed: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    for (feed, kind), n in counts:
        if feed:
            per_feed[feed][kind] += n
        totals[kind] += n
    status_by_feed = {s["feed"]: s for s in statuses}
    rows = []
    for feed in feeds:
        status = status_by_feed.get(feed, {"status": "missing", "http_status": None})
        seen = per_feed[feed]
        rows.append(
            {
                "feed": feed,
                "status": status.get("status"),
                "http_status": status.get("http_status"),
                "error": status.get("error") or "",
                "items_seen": int(status.get("items_seen") or 0),
                "articles_written": seen["articles_written"],
                "duplicates": seen["duplicates"],
                "dead_letters": seen["dead_letters_items"],
            }
        )
    return {
        "run_id": run_id,
        "runner": runner,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "elapsed_seconds": round((finished_at - started_at).total_seconds(), 3),
        "counts": {
            "feeds": len(feeds),
            "feeds_failed": sum(1 for r in rows if r["status"] == "failed"),
            "items_seen": sum(r["items_seen"] for r in rows),
            "articles_written": totals["articles_written"],
            "duplicates": totals["duplicates"],
            "dead_letters": totals["dead_letters"],
            "dead_letters_items": totals["dead_letters_items"],
            "dead_letters_feeds": totals["dead_letters_feeds"],
            "mentions": totals["mentions"],
            "quotes": totals["quotes"],
            "files_written": totals["files_written"],
        },
        "feeds": rows,
    }


def write_record(output: str, record: dict) -> str:
    path = record_path(output, record["run_id"])
    temporary = path + ".inprogress"
    with FileSystems.create(
        temporary,
        mime_type="application/json",
        compression_type=CompressionTypes.UNCOMPRESSED,
    ) as handle:
        handle.write(json.dumps(record, indent=2, sort_keys=False).encode())
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([temporary], [path])
    return path


def read_record(output: str, run_id: str) -> dict:
    with FileSystems.open(
        record_path(output, run_id), compression_type=CompressionTypes.UNCOMPRESSED
    ) as handle:
        return json.loads(handle.read())


def dead_letter_event(letter) -> tuple[str, str]:
    if letter.stage == ITEM_STAGE:
        return letter.source, "dead_letters_items"
    if letter.stage == FEED_STAGE:
        return letter.source, "dead_letters_feeds"
    return "", "dead_letters_other"


class RecordRun(beam.PTransform):
    """Counts what the run did and writes the record after every dataset is written."""

    def __init__(
        self,
        output: str,
        run_id: str,
        runner: str,
        started_at: datetime,
        feeds: list[str],
        feed_state: dict | None = None,
    ) -> None:
        super().__init__()
        self._output = output
        self._run_id = run_id
        self._runner = runner
        self._started_at = started_at
        self._feeds = list(feeds)
        self._feed_state = dict(feed_state or {})

    def expand(self, streams: dict):
        events = (
            (
                streams["articles"]
                | "ArticleEvents"
                >> beam.Map(lambda a: (a.feed_url, "articles_written")),
                streams["duplicates"]
                | "DuplicateEvents" >> beam.Map(lambda d: (d[0], "duplicates")),
                streams["dead_letters"]
                | "DeadLetterEvents"
                >> beam.FlatMap(lambda d: [dead_letter_event(d), ("", "dead_letters")]),
                streams["mentions"]
                | "MentionEvents" >> beam.Map(lambda m: ("", "mentions")),
                streams["quotes"] | "QuoteEvents" >> beam.Map(lambda q: ("", "quotes")),
                streams["written"]
                | "FileEvents"
                >> beam.FlatMap(lambda w: [("", "files_written")] * w[2]),
            )
            | "AllEvents" >> beam.Flatten()
            | "CountEvents" >> beam.combiners.Count.PerElement()
        )
        statuses = beam.pvalue.AsList(streams["feeds"])
        counts = beam.pvalue.AsList(events)
        written = beam.pvalue.AsList(streams["written"])
        meta = (
            self._output,
            self._run_id,
            self._runner,
            self._started_at,
            self._feeds,
            self._feed_state,
        )
        return (
            events.pipeline
            | "RecordTrigger" >> beam.Create([meta])
            | "WriteRecord"
            >> beam.Map(
                _write_record, statuses=statuses, counts=counts, _written=written
            )
        )


def _write_record(meta, statuses, counts, _written) -> str:
    """Commit the feed state, then the record: both only after every write."""
    output, run_id, runner, started_at, feeds, feed_state = meta
    now = utc_now()
    save_feed_state(output, next_feed_state(feed_state, statuses, now))
    record = build_record(
        run_id, runner, started_at, feeds, list(statuses), list(counts), utc_now()
    )
    return write_record(output, record)
