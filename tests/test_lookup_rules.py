"""The lookup attribute ruler must give exactly what spaCy's own matcher gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from conftest import shared_path
from newsbeam.transforms import lookup_rules
from newsbeam.transforms.lookup_rules import RuleLookup, speed_up_attribute_ruler
from newsbeam.transforms.nlp import DEFAULT_MODEL, load_model
from spacy.tokens import Doc

REPO = Path(__file__).resolve().parents[1]
TEXTS = sorted((REPO / "eval" / "articles").glob("*.txt"))


def blank_doc(nlp, words, tags, deps, heads, spaces=None) -> Doc:
    return Doc(nlp.vocab, words=words, tags=tags, deps=deps, heads=heads, spaces=spaces)


@pytest.fixture()
def ruled():
    """A blank pipeline with rules using every form the lookup reads."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.add([[{"TAG": "NN"}]], {"POS": "NOUN"})
    ruler.add([[{"TAG": {"IN": ["VBD", "VBZ"]}}]], {"POS": "VERB"})
    ruler.add([[{"TAG": "VBD", "LOWER": "said"}]], {"LEMMA": "say"})
    ruler.add([[{"LOWER": {"REGEX": "^n[ou]thin'?$"}}]], {"LEMMA": "nothing"})
    ruler.add([[{"DEP": {"NOT_IN": ["det", ""]}, "TAG": "DT"}]], {"POS": "PRON"})
    ruler.add([[{"IS_SPACE": True}]], {"POS": "SPACE"})
    # two patterns that both fit "Said": the rule still matches it once
    ruler.add([[{"LOWER": "said"}], [{"TAG": "VBD"}]], {"MORPH": "Tense=Past"})
    ruler.add([[{"LOWER": "gon"}, {"LOWER": "na"}]], {"LEMMA": "go"}, index=0)
    ruler.add([[{"DEP": "expl"}, {"LOWER": {"IN": ["is", "was"]}}]], {"POS": "AUX"}, 1)
    return nlp, ruler


def test_every_rule_form_matches_as_the_stock_matcher(ruled):
    nlp, ruler = ruled
    doc = blank_doc(
        nlp,
        ["There", "was", "nothin'", "she", "Said", "that", "gon", "na", "go", "\n"],
        ["EX", "VBD", "NN", "PRP", "VBD", "DT", "VBG", "TO", "VB", "_SP"],
        [
            "expl",
            "ROOT",
            "attr",
            "nsubj",
            "ccomp",
            "dobj",
            "aux",
            "aux",
            "xcomp",
            "dep",
        ],
        [1, 1, 1, 4, 1, 4, 8, 8, 4, 8],
        [True] * 9 + [False],
    )
    expected = ruler.match(doc)
    assert RuleLookup(ruler).match(doc) == expected
    said = [rule for rule, _key, start, _end in expected if start == 4]
    assert said.count(6) == 1  # "Said" fits both patterns of rule 6, once
    assert (7, nlp.vocab.strings["7"], 6, 8) in expected  # "gon na"
    assert (8, nlp.vocab.strings["8"], 0, 2) in expected  # "There was"
    assert (4, nlp.vocab.strings["4"], 5, 6) in expected  # "that" is no det here


def test_annotations_after_the_swap_are_the_stock_ones(ruled):
    nlp, ruler = ruled
    words = ["Nothin'", "was", "said", "the", "gon", "na", "day"]
    args = (
        ["NN", "VBD", "VBD", "DT", "VBG", "TO", "NN"],
        ["nsubj", "ROOT", "ccomp", "det", "aux", "aux", "npadvmod"],
        [1, 1, 1, 6, 6, 6, 2],
    )
    stock = ruler(blank_doc(nlp, words, *args))
    assert speed_up_attribute_ruler(nlp)
    fast = ruler(blank_doc(nlp, words, *args))
    for a, b in zip(stock, fast, strict=True):
        assert (a.pos_, a.lemma_, str(a.morph)) == (b.pos_, b.lemma_, str(b.morph))
    assert [t.lemma_ for t in fast][:1] == ["nothing"]


@pytest.mark.parametrize(
    "pattern",
    [
        [{"ORTH": "Said"}],  # an attribute the lookup does not read
        [{"LOWER": "said", "OP": "?"}],  # an operator: no fixed length
        [{"TAG": {"IS_SUBSET": ["VBD"]}}],
        [{"LENGTH": {">=": 3}}],
    ],
)
def test_rules_it_cannot_reproduce_keep_the_stock_matcher(pattern):
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.add([pattern], {"POS": "VERB"})
    assert not speed_up_attribute_ruler(nlp)
    assert "match" not in vars(ruler)


def test_a_doc_without_a_parse_goes_to_the_stock_matcher(ruled):
    nlp, ruler = ruled
    doc = Doc(nlp.vocab, words=["There", "was"], tags=["EX", "VBD"])
    assert RuleLookup(ruler).match(doc) == ruler.match(doc)


def gum_texts() -> list[str]:
    """The Wikinews articles of ../shared, when it is there (sentences joined)."""
    folder = REPO.parent / "shared" / "fixtures" / "gum-wikinews"
    return [
        " ".join(
            line[len("# text = ") :]
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("# text = ")
        )
        for path in sorted(folder.glob("*.conllu"))
    ]


@pytest.mark.model
def test_the_model_matches_as_stock_on_every_gold_text(monkeypatch):
    """The project's texts and the Wikinews articles, caches also cleared often."""
    nlp = spacy.load(DEFAULT_MODEL)
    ruler = nlp.get_pipe("attribute_ruler")
    texts = [path.read_text(encoding="utf-8") for path in TEXTS] + gum_texts()
    lookup = RuleLookup(ruler)
    tokens = 0
    with nlp.select_pipes(disable=["attribute_ruler", "lemmatizer", "ner"]):
        docs = list(nlp.pipe(texts))
    for doc in docs:
        tokens += len(doc)
        assert lookup.match(doc) == ruler.match(doc)
    monkeypatch.setattr(lookup_rules, "MAX_CACHED", 50)
    small = RuleLookup(ruler)
    assert all(small.match(doc) == ruler.match(doc) for doc in docs)
    assert tokens > (3_000 if len(texts) == len(TEXTS) else 10_000)


@pytest.mark.model
def test_newsbeams_model_annotates_every_token_as_the_stock_model():
    seed = shared_path("seed", "uk-russia-2017-12-22.txt").read_text(encoding="utf-8")
    texts = [seed] + [path.read_text(encoding="utf-8") for path in TEXTS[:8]]
    stock = spacy.load(DEFAULT_MODEL)
    fast = load_model(DEFAULT_MODEL)
    assert "match" in vars(fast.get_pipe("attribute_ruler"))
    for a, b in zip(stock.pipe(texts), fast.pipe(texts), strict=True):
        assert [(t.pos_, t.tag_, t.lemma_, str(t.morph), t.dep_) for t in a] == [
            (t.pos_, t.tag_, t.lemma_, str(t.morph), t.dep_) for t in b
        ]
        assert [(e.start, e.end, e.label_) for e in a.ents] == [
            (e.start, e.end, e.label_) for e in b.ents
        ]
