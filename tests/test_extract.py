"""Parse once, then extract: the parsed article, its coder and memory zones, and the
extractors as separate steps that give the same rows fused or not."""

from __future__ import annotations

import pickle

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from conftest import REPO, TEST_RUNNER, make_article
from newsbeam.transforms.actors import default_registry
from newsbeam.transforms.common import DEAD_LETTERS
from newsbeam.transforms.extract import (
    ROWS,
    Analyse,
    Extract,
    ExtractEntities,
    analyse_doc,
)
from newsbeam.transforms.nlp import (
    DEFAULT_MODEL,
    PARSED,
    Parse,
    ParsedArticle,
    ParsedArticleClosed,
    ParsedArticleCoder,
    load_model,
)

pytestmark = pytest.mark.model


def project_articles() -> list:
    """The texts under eval/articles: quotes of every kind, many names."""
    paths = sorted((REPO / "eval" / "articles").glob("*.txt"))
    return [make_article(p.stem, text=p.read_text(encoding="utf-8")) for p in paths]


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL)


def rows_of(mentions, quotes) -> tuple[list, list]:
    return sorted(mentions, key=repr), sorted(quotes, key=repr)


def test_a_decoded_parse_gives_the_rows_of_the_live_one(model):
    """The coder carries everything the extractors read: same mentions and quotes
    from the DocBin bytes, decoded in a vocabulary that never saw the model."""
    registry = default_registry(None)
    coder = ParsedArticleCoder()
    articles = project_articles()
    with model.memory_zone():
        docs = list(model.pipe(a.text for a in articles))
        live = [
            analyse_doc(d, a, registry) for d, a in zip(docs, articles, strict=True)
        ]
        encoded = [
            coder.encode(ParsedArticle(a, doc=d))
            for d, a in zip(docs, articles, strict=True)
        ]
    assert sum(len(q) for _m, q in live) > 50  # the texts hold many quotes
    for (mentions, quotes), data in zip(live, encoded, strict=True):
        parsed = coder.decode(data)
        assert not parsed.is_live
        with parsed.open_doc() as doc:
            assert doc.vocab is not model.vocab
            again = analyse_doc(doc, parsed.article, registry)
        assert rows_of(*again) == rows_of(mentions, quotes)


def test_the_size_estimate_is_near_the_encoded_size_without_encoding(
    model, monkeypatch
):
    """Beam samples element sizes; the estimate must not build a DocBin, and must
    stay within a factor of two of the bytes a stage boundary would carry."""
    coder = ParsedArticleCoder()
    articles = project_articles()[:8]
    with model.memory_zone():
        live = [
            ParsedArticle(a, doc=d)
            for a, d in zip(articles, model.pipe(a.text for a in articles), strict=True)
        ]
        sizes = [len(coder.encode(p)) for p in live]
        decoded = [coder.decode(coder.encode(p)) for p in live]
        with monkeypatch.context() as patch:
            patch.setattr(
                ParsedArticle, "to_bytes", lambda self: pytest.fail("encoded")
            )
            estimates = [coder.estimate_size(p) for p in live]
    for size, estimate, again in zip(sizes, estimates, decoded, strict=True):
        assert size / 2 < estimate < size * 2
        assert size / 2 < coder.estimate_size(again) < size * 2


def test_decoding_leaves_no_strings_behind(model):
    """Each decode runs in a memory zone: a long-running worker's decoding
    vocabulary does not grow with every new name it reads."""
    from newsbeam.transforms.nlp import _decoding_vocab

    coder = ParsedArticleCoder()
    article = make_article("z", text="Zyxwvut Qorbanexi met Plimbodo Vantrask.")
    with model.memory_zone():
        data = coder.encode(ParsedArticle(article, doc=model(article.text)))
    vocab = _decoding_vocab()
    before = len(vocab.strings)
    for _ in range(3):
        with coder.decode(data).open_doc() as doc:
            assert doc.vocab is vocab
            assert "Qorbanexi" in vocab.strings
            assert doc.ents
    assert "Qorbanexi" not in vocab.strings
    assert len(vocab.strings) == before


def test_a_closed_parse_cannot_be_read(model):
    article = make_article("c", text="Anna Berg spoke in Oslo.")
    with model.memory_zone():
        parsed = ParsedArticle(article, doc=model(article.text))
        assert parsed.memo("n", lambda: 1) == 1
    parsed.close()
    with pytest.raises(ParsedArticleClosed), parsed.open_doc():
        pass
    with pytest.raises(ParsedArticleClosed):
        parsed.memo("n", lambda: 2)
    with pytest.raises(ParsedArticleClosed):
        pickle.dumps(parsed)


def test_pickling_carries_bytes_not_the_vocabulary(model):
    article = make_article("p", text="Anna Berg spoke in Oslo.")
    with model.memory_zone():
        parsed = ParsedArticle(article, doc=model(article.text))
        payload = pickle.dumps(parsed)
    assert len(payload) < 20_000  # a pickled Doc would carry the whole vocabulary
    copy = pickle.loads(payload)
    with copy.open_doc() as doc:
        assert [e.text for e in doc.ents] == ["Anna Berg", "Oslo"]


def test_extractors_give_the_same_rows_with_and_without_fusion():
    """A Reshuffle between Parse and the extractors forces the coder path (and one
    decoded copy per extractor): the rows must not change."""
    articles = project_articles()
    expected = {"mentions": [], "quotes": []}
    registry = default_registry(None)
    model = load_model(DEFAULT_MODEL)
    with model.memory_zone():
        for article, doc in zip(
            articles, model.pipe(a.text for a in articles), strict=True
        ):
            mentions, quotes = analyse_doc(doc, article, registry)
            expected["mentions"] += [repr(m) for m in mentions]
            expected["quotes"] += [repr(q) for q in quotes]
    for break_fusion in (False, True):
        with TestPipeline(runner=TEST_RUNNER) as p:
            out = p | beam.Create(articles) | Analyse(break_fusion=break_fusion)
            for name in ("mentions", "quotes"):
                assert_that(
                    out[name] | f"Repr{name}" >> beam.Map(repr),
                    equal_to(expected[name]),
                    label=f"Same{name}",
                )
            assert_that(out[DEAD_LETTERS], equal_to([]), label="NoDeadLetters")


class _FailsOnSomeArticles:
    """An extractor of our own, as a user would add one: word counts per article,
    failing on purpose for articles whose id starts with 'bad'."""

    name = "wordcounts"

    def setup(self) -> None:
        self.ready = True

    def extract(self, parsed):
        if parsed.article.article_id.startswith("bad"):
            raise ValueError("no counting today")
        with parsed.open_doc() as doc:
            yield parsed.article.article_id, sum(1 for t in doc if t.is_alpha)


@pytest.mark.parametrize("break_fusion", [False, True])
def test_a_third_extractor_is_a_small_class_with_its_own_dead_letters(break_fusion):
    articles = [
        make_article("good", text="Anna Berg spoke in Oslo on Monday."),
        make_article("bad-1", text="Nothing to see."),
    ]
    with TestPipeline(runner=TEST_RUNNER) as p:
        parsed = (p | beam.Create(articles) | Parse())[PARSED]
        if break_fusion:
            parsed = parsed | beam.Reshuffle()
        counts = parsed | "Count" >> Extract(_FailsOnSomeArticles())
        mentions = parsed | "Mentions" >> ExtractEntities()
        assert_that(counts[ROWS], equal_to([("good", 7)]), label="Counts")
        assert_that(
            counts[DEAD_LETTERS] | beam.Map(lambda d: (d.stage, d.error)),
            equal_to([("wordcounts", "ValueError")]),
            label="CountFailures",
        )
        assert_that(
            mentions[ROWS] | beam.Map(lambda m: m.actor_id),
            equal_to(["anna-berg", "oslo"]),
            label="MentionsUnaffected",
        )


@pytest.mark.parametrize("mode", [[], ["--streaming"]])
def test_print_graph_shows_parse_and_both_extractors_and_runs_nothing(
    tmp_path, capsys, mode
):
    from newsbeam.pipeline.cli import main

    output = tmp_path / "out"
    feeds = REPO / "examples" / "feeds" / "local.txt"
    argv = ["ingest", "--feeds", str(feeds), "--output", str(output), *mode]
    assert main([*argv, "--print-graph"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for edge in (
        '"FetchFullText" -> "Parse"',
        '"Parse" -> "ExtractEntities"',
        '"Parse" -> "ExtractQuotes"',
        '"ExtractEntities" -> "ResolveActors"',
        '"ExtractQuotes" -> "ResolveActors"',
        '"Parse" -> "AllDeadLetters" [label="dead_letters"]',
    ):
        assert edge in dot
    source = "PollFeedList" if mode else "FeedSources"
    assert f'"{source}" -> "ReadFeeds"' in dot
    assert ('"SummariseActors"' in dot) is not bool(mode)  # batch-only step
    if not mode:  # side inputs are edges too: dedup and actors read what is stored
        assert '"StoredArticleIds" -> "ToArticles"' in dot
        assert '"StoredActors" -> "ResolveActors"' in dot
    assert not output.exists()  # built, never run: nothing written
