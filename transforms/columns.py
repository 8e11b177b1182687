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
from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LOWER, ORTH, POS, SPACY
from spacy.tokens import Doc

_ATTRIBUTES = [ORTH, IDX, SPACY, IS_PUNCT, IS_SPACE, POS, LOWER]


@dataclass(frozen=True, slots=True)
class TokenColumns:
    """One list per attribute, indexed by token position (``Token.i``). Only the
    token texts are resolved to strings: a column of strings costs about as much
    as a Token per word, so an attribute read for a few tokens (``lower_``) is
    kept as its hash and resolved where it is read (``lower``)."""

    doc: Doc
    text: list[str]  # Token.text
    idx: list[int]  # Token.idx: where the token starts in the text
    whitespace: list[bool]  # Token.whitespace_ is not empty
    is_punct: list[bool]
    is_space: list[bool]
    pos: list[int]  # Token.pos, a symbol id
    lower_ids: list[int]  # Token.lower, a string hash

    def __len__(self) -> int:
        return len(self.text)

    def lower(self, i: int) -> str:
        """``Token.lower_`` of token ``i``."""
        return self.doc.vocab.strings[self.lower_ids[i]]

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
        return TokenColumns(doc, [], [], [], [], [], [], [])
    array = doc.to_array(_ATTRIBUTES)
    flags = [array[:, n].astype(bool).tolist() for n in range(2, 5)]
    return TokenColumns(
        doc,
        _strings(doc, array[:, 0]),
        array[:, 1].tolist(),
        *flags,
        array[:, 5].tolist(),
        array[:, 6].tolist(),
    )


def _strings(doc: Doc, hashes: numpy.ndarray) -> list[str]:
    """The strings of a column of hashes, each distinct one looked up once."""
    distinct, where = numpy.unique(hashes, return_inverse=True)
    strings = doc.vocab.strings
    words = numpy.array([strings[h] for h in distinct.tolist()], dtype=object)
    return words[where.reshape(-1)].tolist()
