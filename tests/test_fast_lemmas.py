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
    config = {"mode": "rule", "overwrite": True}
    lemmatizer = nlp.add_pipe("lemmatizer", config=config)
    lemmatizer.lookups.add_table("lemma_rules", {"noun": [["s", ""]]})
    assert speed_up_lemmatizer(nlp)
    words, pos = ["dogs", "Dogs", "ran", "Oslo"], ["NOUN", "NOUN", "VERB", "PROPN"]
    doc = Doc(nlp.vocab, words=words, pos=pos, lemmas=["w", "x", "y", "z"])
    lemmatizer(doc)
    # the rules for nouns; lower case for a POS without tables; a proper noun as it is
    assert [t.lemma_ for t in doc] == ["dog", "dog", "ran", "Oslo"]


def test_a_lemmatizer_it_does_not_know_is_left_alone():
    nlp = spacy.blank("en")
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    assert not speed_up_lemmatizer(nlp)  # lookup mode: nothing to remember
    assert type(lemmatizer).__name__ == "EnglishLemmatizer"
    rule = spacy.blank("en")
    lemmatizer = rule.add_pipe("lemmatizer", config={"mode": "rule"})
    # a subclass may read more of a token than its form, POS and morphology
    lemmatizer.__class__ = type("TitleLemmatizer", (type(lemmatizer),), {})
    assert not speed_up_lemmatizer(rule)
    assert not speed_up_lemmatizer(spacy.blank("en"))


@pytest.mark.model
def test_new_names_are_not_remembered(models):
    """spaCy caches only what its rules made: a stream of new proper nouns must not
    grow the stand-in's memory either (the streaming memory benchmark)."""
    _stock, fast = models
    lemmatizer = fast.get_pipe("lemmatizer")
    lemmatizer._remembered.clear()
    text = "Qorvath Blintzerova met Zumbrakian Oleffsky in Vranjolgrad on Monday."
    with fast.memory_zone():
        doc = fast(text)
        names = {t.orth for t in doc if t.pos_ == "PROPN" and t.text != "Monday"}
        assert len(names) >= 4
    assert lemmatizer._remembered  # the rules' results are remembered ("met")
    assert not names & {orth for orth, _pos, _morph in lemmatizer._remembered}
