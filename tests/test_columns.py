"""Token columns (``transforms.columns``): the same values as the Tokens give, and
never an old read of a doc that changed between two extractions."""

from __future__ import annotations

import spacy
from newsbeam.transforms.columns import columns_of, reading
from spacy.tokens import Doc, Span


def _doc() -> Doc:
    words = ["Mr.", "Ana", "Torres", "said", "“", "it", "’s", "fine", "”", "\n\n", "OK"]
    spaces = [True, True, True, True, False, False, True, False, False, False, False]
    doc = Doc(spacy.blank("en").vocab, words=words, spaces=spaces)
    doc.ents = [Span(doc, 1, 3, label="PERSON")]
    return doc


def test_columns_match_the_tokens_one_by_one() -> None:
    doc = _doc()
    columns = columns_of(doc)
    assert len(columns) == len(doc)
    for token in doc:
        i = token.i
        assert columns.text[i] == token.text
        assert columns.lower(i) == token.lower_
        assert columns.idx[i] == token.idx
        assert columns.whitespace[i] == bool(token.whitespace_)
        assert columns.is_punct[i] == token.is_punct
        assert columns.is_space[i] == token.is_space
        assert columns.end_char(i) == token.idx + len(token.text)
        assert bool(columns.in_entity[i]) == (token.ent_iob_ in ("B", "I"))
    assert columns.text_with_ws(1, 4) == doc[1:4].text_with_ws


def test_columns_are_shared_inside_a_reading_and_read_anew_outside() -> None:
    doc = _doc()
    with reading(doc):
        assert columns_of(doc) is columns_of(doc)
        other = _doc()
        assert columns_of(other) is not columns_of(other)  # not the doc being read
    doc.ents = [Span(doc, 0, 1, label="PERSON")]  # a test may change a doc
    assert columns_of(doc).in_entity.tolist()[:3] == [True, False, False]


def test_an_empty_doc_has_empty_columns() -> None:
    doc = Doc(spacy.blank("en").vocab, words=[])
    columns = columns_of(doc)
    assert len(columns) == 0
    assert columns.in_entity.shape == (0,)
