"""A parsed article's token attributes as plain Python lists, read once per doc.

The mention rules look at token attributes far more often than there are tokens:
a name's title is looked for at every entity, every match of a name is tried at
several lengths. Each look made a ``Token`` (``doc[i]``) and asked the vocab's
``StringStore`` for its text; on the bench corpus that was about a million looks
for 224k tokens. So the attributes the hot loops read are taken from
``Doc.to_array`` once per doc, each token's text resolved once, and the loops index
lists instead.

An extractor reads its doc inside ``with reading(doc):``; there ``columns_of(doc)``
reads the columns on the first ask and hands the same ones to every later ask, and
they are dropped when the block ends. Outside such a block every ask reads them
anew, so a doc changed between two extractions (as tests do with ``doc.ents``) is
never seen through old columns.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy
from spacy.attrs import ENT_IOB, IDX, IS_PUNCT, IS_SPACE, LOWER, ORTH, SPACY
from spacy.tokens import Doc

_ATTRIBUTES = [ORTH, IDX, SPACY, IS_PUNCT, IS_SPACE, LOWER, ENT_IOB]
_INSIDE, _BEGIN = 1, 3  # ENT_IOB: 1 inside an entity, 2 outside, 3 its first token


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
    lower_ids: list[int]  # Token.lower, a string hash
    in_entity: numpy.ndarray  # bool: the token is inside one of doc.ents

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


_reading = threading.local()  # the doc being read in this thread, its columns


@contextmanager
def reading(doc: Doc) -> Iterator[None]:
    """Within the block, ``columns_of(doc)`` reads ``doc``'s columns only once."""
    previous = getattr(_reading, "current", None)
    _reading.current = [doc, None]
    try:
        yield
    finally:
        _reading.current = previous


def columns_of(doc: Doc) -> TokenColumns:
    """The token columns of ``doc``: those read before in the same ``reading``
    block, else read now."""
    current = getattr(_reading, "current", None)
    if current is None or current[0] is not doc:
        return _read_columns(doc)
    if current[1] is None:
        current[1] = _read_columns(doc)
    return current[1]


def _read_columns(doc: Doc) -> TokenColumns:
    if not len(doc):
        return TokenColumns(doc, [], [], [], [], [], [], numpy.zeros(0, bool))
    array = doc.to_array(_ATTRIBUTES)
    flags = [array[:, n].astype(bool).tolist() for n in range(2, 5)]
    return TokenColumns(
        doc,
        _strings(doc, array[:, 0]),
        array[:, 1].tolist(),
        *flags,
        array[:, 5].tolist(),
        (array[:, 6] == _INSIDE) | (array[:, 6] == _BEGIN),
    )


_TEXTS: dict[int, str] = {}  # string hash -> string, kept across documents
_TEXTS_KEPT = 500_000  # a bound on that memo (a news vocabulary stays well below)


def _strings(doc: Doc, hashes: numpy.ndarray) -> list[str]:
    """The strings of a column of hashes. A hash names the same string in every
    vocab, so each is looked up in the ``StringStore`` once per process: a dict
    look-up costs a fraction of that (and of sorting the column for its distinct
    hashes, measured at 15 ms against 25 ms a pass on the bench corpus)."""
    if len(_TEXTS) > _TEXTS_KEPT:
        _TEXTS.clear()
    strings = doc.vocab.strings
    found = []
    for h in hashes.tolist():
        word = _TEXTS.get(h)
        if word is None:
            word = _TEXTS[h] = strings[h]
        found.append(word)
    return found
