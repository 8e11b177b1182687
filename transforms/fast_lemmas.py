"""The model's lemmatizer, remembered per word form: same lemmas, less time.

spaCy's rule lemmatizer visits every token in Python: it makes a ``Token``, reads
its part of speech and morphology as strings, looks its key up in a cache and sets
``token.lemma_``. On the benchmark corpus that is ~18 µs a token, more than the
tagger and the attribute rules together. The lemma it gives is a function of three
numbers only: the token's form (``ORTH``), its coarse part of speech (``POS``) and
its morphology (``MORPH``) — the rules read the text, ``is_base_form`` reads the part
of speech and the morphology, and the tables do not change while a pipeline runs.
spaCy's own cache uses the same three numbers as its key.

So this stand-in reads the three columns of a whole document with ``Doc.to_array``,
asks the stock lemmatizer only for keys it has not seen, and writes the lemma column
back with ``Doc.from_array``. Lemmas already set by an earlier component (the
attribute rules set a few) are kept unless the lemmatizer overwrites, as spaCy does.
Every lemma string is added to the vocabulary's string store, as ``token.lemma_``
would add it, so memory zones treat them the same way.

A key not seen yet goes through the same rules as spaCy's ``rule_lemmatize``, with
one change of data structure: spaCy tests ``form in index`` against the word list of
the part of speech (thousands of words, scanned one by one: ~150 µs a new key); here
each list is turned once into a set. The rules, their order, the exceptions and the
fallbacks are the stock ones, in the same order.

``tests/test_fast_lemmas.py`` compares the lemmas token by token with the stock
component; the benchmark hashes every token's annotations after both pipelines.
"""

from __future__ import annotations

import numpy
from spacy.attrs import LEMMA, MORPH, ORTH, POS

MAX_REMEMBERED = 200_000  # keys kept: a long stream meets ever more word forms
MODES = ("rule", "lookup")  # modes whose lemma depends on (form, POS, morphology) only


def speed_up_lemmatizer(nlp) -> bool:
    """Make the lemmatizer remember lemmas per key; False if it is left as it was."""
    if "lemmatizer" not in nlp.pipe_names:
        return False
    stock = nlp.get_pipe("lemmatizer")
    if type(stock).__name__ not in ("Lemmatizer", "EnglishLemmatizer"):
        return False  # a subclass may read other token attributes
    if getattr(stock, "mode", None) not in MODES:
        return False
    stock.__class__ = _remembering(type(stock))
    stock._remembered = {}
    stock._index_sets = {}
    return True


_CLASSES: dict[type, type] = {}


def _remembering(base: type) -> type:
    """``base`` with a ``__call__`` and ``pipe`` that work a column at a time."""
    if base not in _CLASSES:
        _CLASSES[base] = type(
            f"Remembering{base.__name__}",
            (base,),
            {"__call__": _call, "pipe": _pipe, "__module__": __name__},
        )
    return _CLASSES[base]


def _call(self, doc):
    if not self._validated:
        self._validate_tables()
    try:
        _lemmatise(self, doc)
    except Exception as error:  # the stock component's contract: its error handler
        self.get_error_handler()(self.name, self, [doc], error)
    return doc


def _pipe(self, stream, *, batch_size: int = 128):
    for doc in stream:
        yield _call(self, doc)


def _lemmatise(lemmatizer, doc) -> None:
    if not len(doc):
        return
    columns = doc.to_array([ORTH, POS, MORPH, LEMMA])
    remembered: dict[tuple[int, int, int], str] = lemmatizer._remembered
    if len(remembered) > MAX_REMEMBERED:
        remembered.clear()
    strings = lemmatizer.vocab.strings
    hashes: dict[str, int] = {}
    lemmas = columns[:, 3].copy()
    todo = range(len(doc)) if lemmatizer.overwrite else numpy.flatnonzero(lemmas == 0)
    rows = columns[:, :3].tolist()
    for i in todo:
        orth, pos, morph = key = tuple(rows[i])
        lemma = remembered.get(key)
        if lemma is None:
            lemma = remembered[key] = _first_lemma(lemmatizer, doc[int(i)])
        value = hashes.get(lemma)
        if value is None:
            value = hashes[lemma] = strings.add(lemma)
        lemmas[i] = value
    doc.from_array([LEMMA], lemmas.reshape(-1, 1))


def _first_lemma(lemmatizer, token) -> str:
    """The lemma the stock component would give ``token`` (its first candidate)."""
    if lemmatizer.mode != "rule":
        return lemmatizer.lemmatize(token)[0]
    string = token.text
    univ_pos = token.pos_.lower()
    if univ_pos in ("", "eol", "space"):
        return lemmatizer.rule_lemmatize(token)[0]  # spaCy's warning for no POS
    if lemmatizer.is_base_form(token):
        return string.lower()
    lookups = lemmatizer.lookups
    index_table = lookups.get_table("lemma_index", {})
    exceptions = lookups.get_table("lemma_exc", {}).get(univ_pos, {})
    rules = lookups.get_table("lemma_rules", {}).get(univ_pos, {})
    if not (index_table.get(univ_pos) or exceptions or rules):
        return string if univ_pos == "propn" else string.lower()
    index = lemmatizer._index_sets.get(univ_pos)
    if index is None:
        index = lemmatizer._index_sets[univ_pos] = frozenset(
            index_table.get(univ_pos, ())
        )
    lower = string.lower()
    forms: list[str] = []
    oov_forms: list[str] = []
    for old, new in rules:
        if lower.endswith(old):
            form = lower[: len(lower) - len(old)] + new
            if not form:
                continue
            if form in index:
                forms.insert(0, form)
            elif not form.isalpha():
                forms.append(form)
            else:
                oov_forms.append(form)
    forms = list(dict.fromkeys(forms))
    for form in exceptions.get(lower, []):
        if form not in forms:
            forms.insert(0, form)
    return (forms or oov_forms or [string])[0]
