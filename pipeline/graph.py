"""The pipeline graph, which reads as a sentence:

    feeds | ReadFeeds | ToArticles | FetchFullText | Parse | ExtractEntities ─┐
                                                           | ExtractQuotes  ──┴→
          ResolveActors | WriteDatasets | RecordRun

One chain per mode. Streaming changes only the source (a poll tick that re-reads
the feed list), the dedup (keyed state across polls instead of one group per id),
the actor step (against the actors earlier runs stored, with no wait for the end)
and the write (a commit per window); the whole-run steps are batch-only.
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
from newsbeam.transforms.common import DEAD_LETTERS
from newsbeam.transforms.extract import ROWS, ExtractEntities, ExtractQuotes
from newsbeam.transforms.feeds import FeedSource, ReadFeeds
from newsbeam.transforms.fetch import PAGE_CONCURRENCY, FetchFullText
from newsbeam.transforms.http import FetchOptions
from newsbeam.transforms.nlp import PARSED, Parse, StartModelLoadFn
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

    feeds: tuple[FeedSource, ...]
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
    obey_robots: bool = True
    page_concurrency: int = PAGE_CONCURRENCY
    about: dict = field(default_factory=dict)  # version, model, options: the record
    layout: str = DEFAULT_LAYOUT  # schemas.layout: date | date-actor

    def run_meta(self) -> RunMeta:
        return RunMeta(
            self.output,
            self.run_id,
            self.runner,
            self.started_at,
            [source.feed for source in self.feeds],
            dict(self.feed_state),
            dict(self.about),
        )


def build(pipeline: beam.Pipeline, settings: Settings) -> None:
    """Adds newsbeam's graph, batch or streaming, to ``pipeline``."""
    if settings.streaming:
        build_streaming(pipeline, settings)
    else:
        build_batch(pipeline, settings)


def build_batch(pipeline: beam.Pipeline, settings: Settings) -> None:
    """Feeds once → datasets, with whole-run steps (dedup against the stored
    articles, actors resolved across every article, the actors table)."""
    stored_ids = pipeline | "StoredArticleIds" >> ReadStored(
        settings.output, read_article_ids, listing=stored_article_files
    )
    stored_actors = pipeline | "StoredActors" >> ReadStored(
        settings.output, read_actor_records
    )
    read = (
        pipeline
        | "FeedSources" >> beam.Create(list(settings.feeds))
        | "ReadFeeds" >> ReadFeeds(settings.fetch, settings.feed_state, spread=True)
    )
    _ = read["items"] | "StartModelLoad" >> _start_model_load(settings)
    unique = read["items"] | "ToArticles" >> ToArticles(stored_ids)
    fetched = unique["articles"] | "FetchFullText" >> _fetch_full_text(settings)
    articles = fetched["articles"]
    resolved, analysis_dead_letters = _analyse(
        articles, settings, ResolveAcrossArticles(stored_actors)
    )
    dead_letters = (
        read[DEAD_LETTERS],
        unique[DEAD_LETTERS],
        *analysis_dead_letters,
    ) | "AllDeadLetters" >> beam.Flatten()
    datasets = {
        "articles": articles,
        "mentions": resolved["mentions"],
        "quotes": resolved["quotes"],
        "dead_letters": dead_letters,
        "actors": resolved["mentions"]
        | "SummariseActors" >> SummariseActors(stored_actors),
    }
    written = datasets | "WriteDatasets" >> WriteDatasets(
        settings.output, settings.layout
    )
    _record(settings, read, unique, fetched, datasets, written)


def _analyse(articles, settings: Settings, resolve: beam.PTransform):
    """Parse once; entities and quotes extracted from that one parse side by side;
    their actors resolved by ``resolve``. Returns the resolved ``{"mentions",
    "quotes"}`` and the dead letters of the three analysis steps."""
    parsed = articles | "Parse" >> _parse(settings)
    mentions = parsed[PARSED] | "ExtractEntities" >> ExtractEntities(
        settings.actor_aliases
    )
    quotes = parsed[PARSED] | "ExtractQuotes" >> ExtractQuotes(settings.actor_aliases)
    resolved = {
        "mentions": mentions[ROWS],
        "quotes": quotes[ROWS],
    } | "ResolveActors" >> resolve
    return resolved, (
        parsed[DEAD_LETTERS],
        mentions[DEAD_LETTERS],
        quotes[DEAD_LETTERS],
    )


def build_streaming(pipeline: beam.Pipeline, settings: Settings) -> None:
    """Poll the feed list until stopped → datasets committed per window. No step
    waits for the end: dedup is keyed state across polls, people resolve against
    the actors earlier batch runs stored, and the actors table is left to batch."""
    polled = pipeline | "PollFeedList" >> PollFeedList(
        list(settings.feed_specs or [s.feed for s in settings.feeds]),
        settings.poll_interval,
        settings.max_polls,
        settings.duration,
    )
    read = polled["feeds"] | "ReadFeeds" >> ReadFeeds(
        settings.fetch, settings.feed_state, spread=False
    )
    _ = read["items"] | "StartModelLoad" >> _start_model_load(settings)
    unique = read["items"] | "ToArticles" >> ToArticles(
        dedup=DedupAcrossPolls(settings.retention_seconds, settings.output)
    )
    fetched = unique["articles"] | "FetchFullText" >> _fetch_full_text(settings)
    articles = fetched["articles"]
    resolved, analysis_dead_letters = _analyse(
        articles,
        settings,
        ResolveWithStoredActors(read_actor_records(settings.output)),
    )
    dead_letters = (
        polled[DEAD_LETTERS],
        read[DEAD_LETTERS],
        unique[DEAD_LETTERS],
        *analysis_dead_letters,
    ) | "AllDeadLetters" >> beam.Flatten()
    datasets = {
        "articles": articles,
        "mentions": resolved["mentions"],
        "quotes": resolved["quotes"],
        "dead_letters": dead_letters,
    }
    written = datasets | "WriteDatasets" >> CommitDatasets(
        settings.output, settings.window_seconds, settings.layout
    )
    _record(settings, read, unique, fetched, datasets, written)


def _start_model_load(settings: Settings) -> beam.PTransform:
    return beam.ParDo(StartModelLoadFn(settings.spacy_model))


def _fetch_full_text(settings: Settings) -> beam.PTransform:
    return FetchFullText(
        settings.fetch_articles,
        settings.fetch,
        obey_robots=settings.obey_robots,
        threads=settings.page_concurrency,
    )


def _parse(settings: Settings) -> beam.PTransform:
    return Parse(settings.spacy_model, settings.nlp_batch_size)


def _record(
    settings: Settings, read, unique, fetched, datasets: dict, written: dict
) -> None:
    """The run record, from every stream the run counts."""
    all_written = tuple(written.values()) | "AllWrites" >> beam.Flatten()
    _ = {
        "feeds": read["feeds"],
        "articles": datasets["articles"],
        "pages": fetched["pages"],
        "duplicates": unique["duplicates"],
        "dead_letters": datasets["dead_letters"],
        "mentions": datasets["mentions"],
        "quotes": datasets["quotes"],
        "written": all_written,
    } | "RecordRun" >> RecordRun(settings.run_meta(), streaming=settings.streaming)
