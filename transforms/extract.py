"""The extractors: parsed articles in, rows out, each its own step of the graph.

``ExtractEntities`` (mentions, each resolved to an actor) and ``ExtractQuotes``
(quotes and their speakers) both consume ``Parse``'s output; neither parses again.
Each is an ``Extract`` step around a small extractor object, with its own metrics
(``<name>_articles``, ``<name>_rows``, ``<name>_failures``) and its own dead-letter
output: an article an extractor fails on loses that extractor's rows, is noted as a
dead letter of stage ``<name>``, and is kept.

Quote speakers must resolve to the same actor ids as the mentions, so the quote
extractor reads the article's entities too. They are computed once per parsed
article and shared (``ParsedArticle.memo``) when both extractors see the same live
parse, as they do when the runner fuses them with ``Parse``; a runner that does not
fuse hands each extractor its own decoded copy, which computes them again (the rows
are the same, only the work is repeated). Joining quotes to mentions later instead
would cost a shuffle by article and, in streaming, a wait for every article's rows.

Adding an extractor: a class with a ``name``, a ``setup()`` for what it loads once
per worker, and ``extract(parsed) -> Iterable[row]`` that opens the ``Doc`` with
``parsed.open_doc()``; then ``parsed | "ExtractX" >> Extract(XExtractor())`` in the
graph, and a schema in ``schemas/`` for its rows (see the README).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

import apache_beam as beam
from apache_beam.metrics import Metrics
from newsbeam.schemas import Article, Mention, Quote
from newsbeam.schemas.status import Stage
from newsbeam.transforms.actors import ActorRegistry, default_registry, slugify
from newsbeam.transforms.common import DEAD_LETTERS, dead_letter, one_line, stable_id
from newsbeam.transforms.nlp import (
    DEFAULT_MODEL,
    PARSED,
    PIPE_BATCH_SIZE,
    Parse,
    ParsedArticle,
)

if TYPE_CHECKING:  # the extractors import spaCy: only the workers that parse need it
    from newsbeam.transforms.entities import EntityMention
    from newsbeam.transforms.quotes import QuoteFinding

ROWS = "rows"  # tag of an extractor's main output


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


def article_entities(doc, article: Article, registry: ActorRegistry) -> list:
    """The article's entity mentions, each resolved to an actor (no second parse)."""
    from newsbeam.transforms.entities import extract_mentions

    return extract_mentions(doc, registry, article.text)


def mentions_of(doc, article: Article, registry: ActorRegistry) -> list[Mention]:
    return [to_mention(article, e) for e in article_entities(doc, article, registry)]


def quotes_of(doc, article: Article, entities: list[EntityMention]) -> list[Quote]:
    from newsbeam.transforms.quotes import extract_quotes

    findings = extract_quotes(doc, article.text)
    return [to_quote(article, finding, entities) for finding in findings]


def analyse_doc(
    doc, article: Article, registry: ActorRegistry
) -> tuple[list[Mention], list[Quote]]:
    """Mentions and quotes of one parsed article, as plain rows (both extractors)."""
    entities = article_entities(doc, article, registry)
    mentions = [to_mention(article, entity) for entity in entities]
    return mentions, quotes_of(doc, article, entities)


# ---------------------------------------------------------------- the extractors


class Extractor(Protocol):
    """What ``Extract`` runs: a name (for its step, metrics and dead letters), a
    ``setup`` for what it loads once per worker, and the extraction itself."""

    name: str

    def setup(self) -> None: ...

    def extract(self, parsed: ParsedArticle) -> Iterable: ...


def _shared_entities(parsed: ParsedArticle, doc, aliases: str | None) -> list:
    registry = default_registry(aliases)
    return parsed.memo(
        f"entities|{aliases}",
        lambda: article_entities(doc, parsed.article, registry),
    )


class MentionExtractor:
    """Named-entity mentions, each resolved to an actor (``transforms.entities``)."""

    name = Stage.ENTITIES

    def __init__(self, aliases: str | None = None) -> None:
        self._aliases = aliases

    def setup(self) -> None:
        default_registry(self._aliases)  # load the actor tables before the first row

    def extract(self, parsed: ParsedArticle) -> list[Mention]:
        with parsed.open_doc() as doc:
            entities = _shared_entities(parsed, doc, self._aliases)
            return [to_mention(parsed.article, entity) for entity in entities]


class QuoteExtractor:
    """Quotes and their speakers (``transforms.quotes``), speakers resolved to the
    actors of the article's mentions."""

    name = Stage.QUOTES

    def __init__(self, aliases: str | None = None) -> None:
        self._aliases = aliases

    def setup(self) -> None:
        default_registry(self._aliases)

    def extract(self, parsed: ParsedArticle) -> list[Quote]:
        with parsed.open_doc() as doc:
            entities = _shared_entities(parsed, doc, self._aliases)
            return quotes_of(doc, parsed.article, entities)


class ExtractFn(beam.DoFn):
    """Adapts one extractor: counts, and turns a failure into a dead letter."""

    def __init__(self, extractor: Extractor) -> None:
        self._extractor = extractor
        name = extractor.name
        self.articles = Metrics.counter("newsbeam", f"{name}_articles")
        self.rows = Metrics.counter("newsbeam", f"{name}_rows")
        self.failures = Metrics.counter("newsbeam", f"{name}_failures")

    def setup(self) -> None:
        self._extractor.setup()

    def process(self, parsed: ParsedArticle) -> Iterator:
        try:
            rows = list(self._extractor.extract(parsed))
        except Exception as error:  # noqa: BLE001 - one odd article must not stop the job
            self.failures.inc()
            article = parsed.article
            yield beam.pvalue.TaggedOutput(
                DEAD_LETTERS,
                dead_letter(
                    self._extractor.name,
                    article.feed_url,
                    type(error).__name__,
                    one_line(f"{article.article_id}: {error}"),
                    article.url,
                ),
            )
            return
        self.articles.inc()
        self.rows.inc(len(rows))
        yield from rows


class Extract(beam.PTransform):
    """Parsed articles → ``{"rows", "dead_letters"}`` from one extractor."""

    def __init__(self, extractor: Extractor) -> None:
        super().__init__()
        self._extractor = extractor

    def expand(self, parsed):
        results = parsed | "Extract" >> beam.ParDo(
            ExtractFn(self._extractor)
        ).with_outputs(DEAD_LETTERS, main=ROWS)
        return {ROWS: results[ROWS], DEAD_LETTERS: results[DEAD_LETTERS]}


class ExtractEntities(Extract):
    """Parsed articles → ``{"rows": mentions, "dead_letters"}``."""

    def __init__(self, aliases: str | None = None) -> None:
        super().__init__(MentionExtractor(aliases))


class ExtractQuotes(Extract):
    """Parsed articles → ``{"rows": quotes, "dead_letters"}``."""

    def __init__(self, aliases: str | None = None) -> None:
        super().__init__(QuoteExtractor(aliases))


class Analyse(beam.PTransform):
    """Articles → ``{"mentions", "quotes", "dead_letters"}``: ``Parse`` and both
    extractors, for callers that want the three as one step (the graph shows them
    apart). ``break_fusion`` puts a Reshuffle between the parse and the extractors,
    which is how the tests prove the coder path gives the same rows."""

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        aliases: str | None = None,
        batch_size: int = PIPE_BATCH_SIZE,
        break_fusion: bool = False,
    ) -> None:
        super().__init__()
        self._model_name = model_name
        self._aliases = aliases
        self._batch_size = batch_size
        self._break_fusion = break_fusion

    def expand(self, articles):
        parse = articles | "Parse" >> Parse(self._model_name, self._batch_size)
        parsed = parse[PARSED]
        if self._break_fusion:
            parsed = parsed | "BreakFusion" >> beam.Reshuffle()
        mentions = parsed | "ExtractEntities" >> ExtractEntities(self._aliases)
        quotes = parsed | "ExtractQuotes" >> ExtractQuotes(self._aliases)
        dead = (
            parse[DEAD_LETTERS],
            mentions[DEAD_LETTERS],
            quotes[DEAD_LETTERS],
        ) | "AllDeadLetters" >> beam.Flatten()
        return {
            "mentions": mentions[ROWS],
            "quotes": quotes[ROWS],
            "dead_letters": dead,
        }
