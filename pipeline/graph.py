"""The pipeline graph, which reads as a sentence:

feeds | ReadFeeds | ToArticles | FetchFullText | Analyse | ResolveActors
          | WriteDatasets | RecordRun
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import apache_beam as beam

from pipeline.record import RecordRun
from transforms.actors import ResolveAcrossArticles, SummariseActors
from transforms.feeds import ReadFeeds
from transforms.fetch import FetchFullText
from transforms.http import FetchOptions
from transforms.nlp import Analyse
from transforms.sinks import ReadStoredActors, ReadStoredArticleIds, WriteDatasets
from transforms.text import ToArticles


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


def build(pipeline: beam.Pipeline, settings: Settings) -> None:
    """Adds newsbeam's batch graph to ``pipeline``."""
    read = (
        pipeline
        | "FeedSources" >> beam.Create(list(settings.feeds))
        | "ReadFeeds" >> ReadFeeds(settings.fetch, settings.feed_state)
    )
    stored_ids = pipeline | "StoredArticleIds" >> ReadStoredArticleIds(settings.output)
    unique = read["items"] | "ToArticles" >> ToArticles(stored_ids)
    articles = unique["articles"] | "FetchFullText" >> FetchFullText(
        settings.fetch_articles, settings.fetch
    )
    analysis = articles | "Analyse" >> Analyse(
        settings.spacy_model, settings.actor_aliases, settings.nlp_batch_size
    )
    stored_actors = pipeline | "StoredActors" >> ReadStoredActors(settings.output)
    resolved = {
        "mentions": analysis["mentions"],
        "quotes": analysis["quotes"],
    } | "ResolveActors" >> ResolveAcrossArticles(stored_actors)
    actors = resolved["mentions"] | "SummariseActors" >> SummariseActors(stored_actors)
    dead_letters = (
        read["dead_letters"],
        unique["dead_letters"],
        analysis["dead_letters"],
    ) | "AllDeadLetters" >> beam.Flatten()
    written = {
        "articles": articles,
        "mentions": resolved["mentions"],
        "quotes": resolved["quotes"],
        "actors": actors,
        "dead_letters": dead_letters,
    } | "WriteDatasets" >> WriteDatasets(settings.output)
    all_written = tuple(written.values()) | "AllWrites" >> beam.Flatten()
    _ = {
        "feeds": read["feeds"],
        "articles": articles,
        "duplicates": unique["duplicates"],
        "dead_letters": dead_letters,
        "mentions": resolved["mentions"],
        "quotes": resolved["quotes"],
        "written": all_written,
    } | "RecordRun" >> RecordRun(
        settings.output,
        settings.run_id,
        settings.runner,
        settings.started_at,
        list(settings.feeds),
        settings.feed_state,
    )
