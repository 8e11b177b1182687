"""A parsed article's token attributes as plain Python lists, read once per doc.

The extractors look at token attributes far more often than there are tokens: a
name's title is looked for at every entity, every match of a name is tried at
several lengths. Each ``doc[i]`` makes a new ``Token`` object, and on the bench
corpus making them (about 1.3 million) cost more than the looks themselves. So the
attributes the hot loops read are taken from ``Doc.to_array`` once per doc, strings
resolved once per distinct word, and the loops index lists instead.

``columns_of(doc)`` keeps the columns of the latest doc it was asked about, so the
mention and the quote extractor of one article share them. A doc is not changed
after it is parsed (the pipeline never does): a caller that changes one in place
must not ask for its columns before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy
from spacy.attrs import (
    IDX,
    IS_PUNCT,
    IS_SPACE,
    IS_STOP,
    IS_TITLE,
    LOWER,
    ORTH,
    POS,
    SPACY,
)
from spacy.tokens import Doc

_ATTRIBUTES = [ORTH, LOWER, IDX, SPACY, IS_PUNCT, IS_SPACE, IS_TITLE, IS_STOP, POS]


@dataclass(frozen=True, slots=True)
class TokenColumns:
    """One list per attribute, indexed by token position (``Token.i``)."""

    text: list[str]  # Token.text
    lower: list[str]  # Token.lower_
    idx: list[int]  # Token.idx: where the token starts in the text
    whitespace: list[bool]  # Token.whitespace_ is not empty
    is_punct: list[bool]
    is_space: list[bool]
    is_title: list[bool]
    is_stop: list[bool]
    pos: list[int]  # Token.pos, a symbol id

    def __len__(self) -> int:
        return len(self.text)

    def end_char(self, i: int) -> int:
        """Where token ``i`` ends, without its trailing space."""
        return self.idx[i] + len(self.text[i])

    def text_with_ws(self, start: int, stop: int) -> str:
        """The text of tokens ``start:stop`` as ``Span.text_with_ws`` gives it."""
        return "".join(
            word + " " if space else word
            for word, space in zip(
                self.text[start:stop], self.whitespace[start:stop], strict=True
            )
        )


_latest: tuple[Doc, TokenColumns] | None = None


def columns_of(doc: Doc) -> TokenColumns:
    """The token columns of ``doc``, made on the first ask and kept for the next
    asks about the same doc."""
    global _latest
    latest = _latest  # one read: another thread may replace it meanwhile
    if latest is not None and latest[0] is doc:
        return latest[1]
    columns = _read_columns(doc)
    _latest = (doc, columns)
    return columns


def _read_columns(doc: Doc) -> TokenColumns:
    if not len(doc):
        return TokenColumns([], [], [], [], [], [], [], [], [])
    array = doc.to_array(_ATTRIBUTES)
    flags = [array[:, n].astype(bool).tolist() for n in range(3, 8)]
    return TokenColumns(
        _strings(doc, array[:, 0]),
        _strings(doc, array[:, 1]),
        array[:, 2].tolist(),
        *flags,
        array[:, 8].tolist(),
    )


def _strings(doc: Doc, hashes: numpy.ndarray) -> list[str]:
    """The strings of a column of hashes, each distinct one looked up once."""
    distinct, where = numpy.unique(hashes, return_inverse=True)
    strings = doc.vocab.strings
    words = numpy.array([strings[h] for h in distinct.tolist()], dtype=object)
    return words[where.reshape(-1)].tolist()
