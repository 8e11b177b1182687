"""The NumPy entity decoder must give exactly the entities spaCy's own decoder gives."""

from __future__ import annotations

from pathlib import Path

import numpy
import pytest
import spacy
from conftest import shared_path
from newsbeam.transforms.fast_ner import (
    EntityDecoder,
    FastEntityRecognizer,
    Unsupported,
    speed_up_entity_recognizer,
)
from newsbeam.transforms.nlp import DEFAULT_MODEL, load_model
from spacy.tokens import Span
from test_lookup_rules import gum_texts

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[1]
ENTITY_ATTRS = ["ENT_IOB", "ENT_TYPE", "ENT_KB_ID", "ENT_ID"]


@pytest.fixture(scope="module")
def stock():
    return spacy.load(DEFAULT_MODEL)


def entity_view(doc):
    return (
        doc.to_array(ENTITY_ATTRS).tolist(),
        [(e.start, e.end, e.label_, e.kb_id_) for e in doc.ents],
    )


def decoded_both_ways(stock, texts, batch_size=32):
    """Each text parsed up to the recogniser, then through stock and fast decoding."""
    ner = stock.get_pipe("ner")
    fast = FastEntityRecognizer(ner)
    with stock.select_pipes(disable=["ner"]):
        plain = list(stock.pipe(texts, batch_size=batch_size))
        other = list(stock.pipe(texts, batch_size=batch_size))
    a = list(ner.pipe(plain, batch_size=batch_size))
    b = list(fast.pipe(other, batch_size=batch_size))
    return a, b


def project_texts() -> list[str]:
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted((REPO / "eval" / "articles").glob("*.txt"))
    ]
    for feed in sorted((REPO / "examples" / "feeds").glob("*")):
        texts.append(
            feed.read_text(encoding="utf-8", errors="replace")
        )  # markup and all
    return texts


def test_same_entities_as_spacy_on_the_projects_texts(stock):
    texts = project_texts()
    a, b = decoded_both_ways(stock, texts)
    assert [entity_view(d) for d in a] == [entity_view(d) for d in b]
    assert sum(len(d.ents) for d in a) > 1_000  # the comparison saw real entities


def test_same_entities_as_spacy_on_the_wikinews_and_seed_articles(stock):
    seed = shared_path("seed", "uk-russia-2017-12-22.txt").read_text(encoding="utf-8")
    texts = [seed] + gum_texts()
    a, b = decoded_both_ways(stock, texts)
    assert [entity_view(d) for d in a] == [entity_view(d) for d in b]
    assert sum(len(d.ents) for d in a) > 300


@pytest.mark.parametrize("batch_size", [1, 2, 7, 256])
def test_every_batching_matches(stock, batch_size):
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted((REPO / "eval" / "articles").glob("*.txt"))
    ][:9]
    texts += [
        "",
        " ",
        "\n\n",
        "Moscow",
        "Boris Johnson",
        "  Boris Johnson  went to Moscow .  ",
    ]
    a, b = decoded_both_ways(stock, texts, batch_size)
    assert [entity_view(d) for d in a] == [entity_view(d) for d in b]


def test_edge_documents(stock):
    """Empty, all-space and one-token documents, and entities that end a document."""
    texts = [
        "",
        "   ",
        "\n",
        "Putin",
        "Russia.",
        "He met Vladimir Putin",
        "London\n\nParis",
    ]
    a, b = decoded_both_ways(stock, texts, batch_size=4)
    assert [entity_view(d) for d in a] == [entity_view(d) for d in b]
    assert any(d.ents for d in b)
    empty = b[0]
    assert len(empty) == 0 and not empty.ents


def test_preset_entities_go_to_spacys_decoder(stock):
    ner = stock.get_pipe("ner")
    fast = FastEntityRecognizer(ner)
    text = "The Kremlin said on Friday that Sergei Lavrov would visit London."
    with stock.select_pipes(disable=["ner"]):
        plain, other = stock(text), stock(text)
    for doc in (plain, other):  # a rule marked "Kremlin" before the model ran
        doc.set_ents([Span(doc, 1, 2, label="ORG")], default="unmodified")
    assert fast.decoder.predict([[other]]) is None
    assert entity_view(ner(plain)) == entity_view(fast(other))
    assert ("Kremlin", "ORG") in [(e.text, e.label_) for e in other.ents]


def test_newsbeams_model_uses_it_and_annotates_as_stock(stock):
    nlp = load_model(DEFAULT_MODEL)
    assert nlp.pipe_names == stock.pipe_names
    assert isinstance(nlp.get_pipe("ner"), FastEntityRecognizer)
    assert speed_up_entity_recognizer(nlp)  # already in place: a no-op
    assert nlp.pipe_names == stock.pipe_names
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted((REPO / "eval" / "articles").glob("*.txt"))
    ][:6]
    with nlp.memory_zone():
        fast = [entity_view(d) for d in nlp.pipe(texts, batch_size=4)]
        one = entity_view(nlp(texts[0]))
    assert fast == [entity_view(d) for d in stock.pipe(texts, batch_size=4)]
    assert one == fast[0]


@pytest.mark.parametrize("unseen", [(), ("B-GPE", "L-PERSON"), ("O",)])
def test_an_untrained_model_with_unseen_moves_decodes_as_spacy(unseen):
    """Random weights make every kind of move; unseen ones get the batch minimum."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ner = nlp.add_pipe("ner")
    for label in ("PERSON", "GPE", "ORG"):
        ner.add_label(label)
    nlp.initialize()
    rng = numpy.random.default_rng(7)  # an initialised output layer is all zeros
    for node in ner.model.walk():
        for name in node.param_names:
            if node.has_param(name):
                shape = node.get_param(name).shape
                node.set_param(name, rng.normal(0, 0.5, shape).astype("float32"))
    names = [ner.moves.get_class_name(i) for i in range(ner.moves.n_moves)]
    ner.model.attrs["unseen_classes"] = {names.index(name) for name in unseen}
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted((REPO / "eval" / "articles").glob("*.txt"))
    ][:10]
    texts += ["", "One.", "Two words. Then a sentence\n\n  with  spaces ."]
    a, b = decoded_both_ways(nlp, texts, batch_size=8)
    assert [entity_view(d) for d in a] == [entity_view(d) for d in b]
    assert len({e.label_ for d in a for e in d.ents}) == 3


def test_a_beam_search_model_keeps_spacys_decoder():
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("beam_ner", name="ner")
    ner.add_label("PERSON")
    nlp.initialize()
    with pytest.raises(Unsupported):
        EntityDecoder(ner)
    assert not speed_up_entity_recognizer(nlp)
    assert nlp.get_pipe("ner") is ner


def test_a_pipeline_without_ner_is_left_alone():
    nlp = spacy.blank("en")
    assert not speed_up_entity_recognizer(nlp)
    assert nlp.pipe_names == []
