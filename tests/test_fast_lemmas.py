"""The remembering lemmatizer must give exactly the lemmas spaCy's own gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from newsbeam.transforms import fast_lemmas
from newsbeam.transforms.fast_lemmas import speed_up_lemmatizer
from newsbeam.transforms.nlp import DEFAULT_MODEL
from spacy.tokens import Doc
from test_lookup_rules import gum_texts

REPO = Path(__file__).resolve().parents[1]
TEXTS = sorted((REPO / "eval" / "articles").glob("*.txt"))
EDGE_TEXTS = [
    "",
    " ",
    "\n\n",
    "U.S.-based firms' CEOs weren't gon na re-re-elect 3.5bn-dollar men.",
    "Ministers said: «Nothing.» The spokesmen's wives were running; they ran.",
    "Bigger, biggest, better! Was, were, been — being.",
]


def pairs(stock, fast, texts):
    """The same texts through both pipelines, the lemmatizer last."""
    disabled = ["lemmatizer", "ner"]
    before = [list(nlp.pipe(texts, disable=disabled)) for nlp in (stock, fast)]
    after = [
        list(nlp.get_pipe("lemmatizer").pipe(docs))
        for nlp, docs in zip((stock, fast), before, strict=True)
    ]
    return zip(*after, strict=True)


@pytest.fixture(scope="module")
def models():
    stock, fast = spacy.load(DEFAULT_MODEL), spacy.load(DEFAULT_MODEL)
    assert speed_up_lemmatizer(fast)
    return stock, fast


@pytest.mark.model
def test_every_lemma_is_the_stock_one_on_every_gold_text(models, monkeypatch):
    """The project's texts, the Wikinews articles, edge cases; memory cleared often."""
    stock, fast = models
    texts = [path.read_text(encoding="utf-8") for path in TEXTS] + gum_texts()
    texts += EDGE_TEXTS
    tokens = 0
    for a, b in pairs(stock, fast, texts):
        assert [t.lemma_ for t in a] == [t.lemma_ for t in b]
        tokens += len(a)
    assert tokens > (3_000 if len(texts) == len(TEXTS) + len(EDGE_TEXTS) else 10_000)
    monkeypatch.setattr(fast_lemmas, "MAX_REMEMBERED", 10)
    for a, b in pairs(stock, fast, texts[:3]):
        assert [t.lemma_ for t in a] == [t.lemma_ for t in b]


@pytest.mark.model
def test_a_whole_pipeline_call_and_preset_lemmas(models):
    """``nlp(text)`` goes through ``__call__``; a lemma set earlier is kept."""
    stock, fast = models
    text = "The ministers were running and said nothing about the sanctions."
    assert [t.lemma_ for t in fast(text)] == [t.lemma_ for t in stock(text)]
    doc = fast(text, disable=["lemmatizer"])
    doc[1].lemma_ = "kept"
    fast.get_pipe("lemmatizer")(doc)
    assert doc[1].lemma_ == "kept" and doc[2].lemma_ == "be"


@pytest.mark.model
def test_lemmas_made_in_a_memory_zone_are_readable_inside_it(models):
    _stock, fast = models
    with fast.memory_zone():
        doc = fast("Zorblaxes were zorblaxing the quuxes.")
        assert [t.lemma_ for t in doc][:3] == ["zorblaxe", "be", "zorblaxe"]


def test_overwrite_mode_replaces_every_lemma():
    nlp = spacy.blank("en")
    config = {"mode": "lookup", "overwrite": True}
    lemmatizer = nlp.add_pipe("lemmatizer", config=config)
    lemmatizer.lookups.add_table("lemma_lookup", {"dogs": "dog", "ran": "run"})
    assert speed_up_lemmatizer(nlp)
    doc = Doc(nlp.vocab, words=["dogs", "ran", "away"], lemmas=["x", "y", "z"])
    lemmatizer(doc)
    assert [t.lemma_ for t in doc] == ["dog", "run", "away"]


def test_a_lemmatizer_it_does_not_know_is_left_alone():
    nlp = spacy.blank("en")
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # a subclass may read more of a token than its form, POS and morphology
    lemmatizer.__class__ = type("TitleLemmatizer", (type(lemmatizer),), {})
    assert not speed_up_lemmatizer(nlp)
    assert type(lemmatizer).__name__ == "TitleLemmatizer"
    assert not speed_up_lemmatizer(spacy.blank("en"))
