"""The pipeline graph, which reads as a sentence:

    feeds | ReadFeeds | ToArticles | FetchFullText | Analyse | ResolveActors
          | WriteDatasets | RecordRun

Batch and streaming share it. Streaming changes only the source (a poll tick that
re-reads the feed list), the dedup (keyed state across polls instead of one group per
id) and the write (a commit per window instead of one per partition at the end); the
whole-run steps are batch-only: streaming resolves people against the actors earlier
runs stored, and leaves the actors table to batch runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import apache_beam as beam
from newsbeam.pipeline.record import RecordRun, RunMeta
from newsbeam.schemas.layout import DEFAULT_LAYOUT
from newsbeam.transforms.actors import (
    ResolveAcrossArticles,
    ResolveWithStoredActors,
    SummariseActors,
)
from newsbeam.transforms.feeds import ReadFeeds
from newsbeam.transforms.fetch import FetchFullText
from newsbeam.transforms.http import FetchOptions
from newsbeam.transforms.nlp import Analyse, StartModelLoadFn
from newsbeam.transforms.sinks import (
    ReadStored,
    WriteDatasets,
    read_actor_records,
    read_article_ids,
    stored_article_files,
)
from newsbeam.transforms.stream import CommitDatasets, DedupAcrossPolls, PollFeedList
from newsbeam.transforms.text import ToArticles


@dataclass(frozen=True)
class Settings:
    """Plain values the graph needs, taken from the options once."""

    feeds: tuple[str, ...]
    output: str
    fetch_articles: str
    spacy_model: str
    actor_aliases: str | None
    fetch: FetchOptions
    nlp_batch_size: int
    run_id: str
    runner: str
    started_at: datetime
    feed_state: dict = field(default_factory=dict)  # committed by the last run
    streaming: bool = False
    feed_specs: tuple[str, ...] = ()  # --feeds as given: lists are re-read per poll
    poll_interval: float = 300.0
    max_polls: int | None = None
    duration: float | None = None
    window_seconds: float = 60.0
    retention_seconds: float = 14 * 24 * 3600.0
    layout: str = DEFAULT_LAYOUT  # schemas.layout: date | date-actor

    def run_meta(self) -> RunMeta:
        return RunMeta(
            self.output,
            self.run_id,
            self.runner,
            self.started_at,
            list(self.feeds),
            dict(self.feed_state),
        )


def build(pipeline: beam.Pipeline, settings: Settings) -> None:
    """Adds newsbeam's graph, batch or streaming, to ``pipeline``."""
    streaming = settings.streaming
    source_failures = []
    if streaming:
        polled = pipeline | "PollFeedList" >> PollFeedList(
            list(settings.feed_specs or settings.feeds),
            settings.poll_interval,
            settings.max_polls,
            settings.duration,
        )
        sources = polled["feeds"]
        source_failures.append(polled["dead_letters"])
    else:
        sources = pipeline | "FeedSources" >> beam.Create(list(settings.feeds))
    read = sources | "ReadFeeds" >> ReadFeeds(
        settings.fetch, settings.feed_state, spread=not streaming
    )
    _ = read["items"] | "StartModelLoad" >> beam.ParDo(
        StartModelLoadFn(settings.spacy_model)
    )
    if streaming:
        dedup = DedupAcrossPolls(settings.retention_seconds, settings.output)
        unique = read["items"] | "ToArticles" >> ToArticles(dedup=dedup)
    else:
        stored_ids = pipeline | "StoredArticleIds" >> ReadStored(
            settings.output, read_article_ids, listing=stored_article_files
        )
        unique = read["items"] | "ToArticles" >> ToArticles(stored_ids)
    articles = unique["articles"] | "FetchFullText" >> FetchFullText(
        settings.fetch_articles, settings.fetch
    )
    analysis = articles | "Analyse" >> Analyse(
        settings.spacy_model, settings.actor_aliases, settings.nlp_batch_size
    )
    datasets = {"articles": articles}
    if streaming:
        resolved = {
            "mentions": analysis["mentions"],
            "quotes": analysis["quotes"],
        } | "ResolveActors" >> ResolveWithStoredActors(
            read_actor_records(settings.output)
        )
        datasets.update(mentions=resolved["mentions"], quotes=resolved["quotes"])
    else:
        stored_actors = pipeline | "StoredActors" >> ReadStored(
            settings.output, read_actor_records
        )
        resolved = {
            "mentions": analysis["mentions"],
            "quotes": analysis["quotes"],
        } | "ResolveActors" >> ResolveAcrossArticles(stored_actors)
        datasets.update(
            mentions=resolved["mentions"],
            quotes=resolved["quotes"],
            actors=resolved["mentions"]
            | "SummariseActors" >> SummariseActors(stored_actors),
        )
    datasets["dead_letters"] = (
        *source_failures,
        read["dead_letters"],
        unique["dead_letters"],
        analysis["dead_letters"],
    ) | "AllDeadLetters" >> beam.Flatten()
    if streaming:
        window = settings.window_seconds
        write = CommitDatasets(settings.output, window, settings.layout)
    else:
        write = WriteDatasets(settings.output, settings.layout)
    written = datasets | "WriteDatasets" >> write
    all_written = tuple(written.values()) | "AllWrites" >> beam.Flatten()
    _ = {
        "feeds": read["feeds"],
        "articles": articles,
        "duplicates": unique["duplicates"],
        "dead_letters": datasets["dead_letters"],
        "mentions": datasets["mentions"],
        "quotes": datasets["quotes"],
        "written": all_written,
    } | "RecordRun" >> RecordRun(settings.run_meta(), streaming=streaming)
