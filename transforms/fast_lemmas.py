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
works out once per (POS, morphology) pair which way spaCy makes the lemma (a base
form or a part of speech without tables: the lower-case form; else the rules),
remembers the rules' results per key exactly as spaCy's cache does (and no more:
in a long stream of new names the memory stays what spaCy's would be), and writes
the lemma column back with ``Doc.from_array``. Lemmas already set by an earlier
component (the attribute rules set a few) are kept unless the lemmatizer overwrites,
as spaCy does.
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

# How a (POS, morphology) pair makes its lemma, decided once per pair: spaCy's own
# code for a token without a usable POS; the lower-case form for a base form or a
# part of speech without tables; the form as it is for a proper noun without them;
# else the rules.
_STOCK, _LOWER, _AS_IS, _RULES = range(4)


def speed_up_lemmatizer(nlp) -> bool:
    """Make the lemmatizer remember lemmas per key; False if it is left as it was."""
    if "lemmatizer" not in nlp.pipe_names:
        return False
    stock = nlp.get_pipe("lemmatizer")
    if type(stock).__name__ not in ("Lemmatizer", "EnglishLemmatizer"):
        return False  # a subclass may read other token attributes
    if getattr(stock, "mode", None) != "rule":
        return False
    stock.__class__ = _remembering(type(stock))
    stock._remembered = {}  # (form, POS, morphology) -> lemma, as spaCy caches it
    stock._ways = {}  # (POS, morphology) -> (how, universal POS name)
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
    ways = lemmatizer._ways
    strings = lemmatizer.vocab.strings
    hashes: dict[str, int] = {}
    lemmas = columns[:, 3].copy()
    todo = range(len(doc)) if lemmatizer.overwrite else numpy.flatnonzero(lemmas == 0)
    rows = columns[:, :3].tolist()
    for i in todo:
        orth, pos, morph = key = tuple(rows[i])
        lemma = remembered.get(key)
        if lemma is None:
            way = ways.get((pos, morph))
            if way is None:
                way = ways[pos, morph] = _way(lemmatizer, doc[int(i)])
            how, univ_pos = way
            if how == _LOWER:
                lemma = strings[orth].lower()
            elif how == _AS_IS:
                lemma = strings[orth]
            elif how == _STOCK:  # no POS: spaCy's own code, with its warning
                lemma = lemmatizer.rule_lemmatize(doc[int(i)])[0]
            else:  # remembered like spaCy's cache: only what the rules made
                lemma = remembered[key] = _by_rules(lemmatizer, strings[orth], univ_pos)
        value = hashes.get(lemma)
        if value is None:
            value = hashes[lemma] = strings.add(lemma)
        lemmas[i] = value
    doc.from_array([LEMMA], lemmas.reshape(-1, 1))


def _way(lemmatizer, token) -> tuple[int, str]:
    """How the stock ``rule_lemmatize`` treats every token with this token's POS and
    morphology (``is_base_form`` reads only those two)."""
    univ_pos = token.pos_.lower()
    if univ_pos in ("", "eol", "space"):
        return _STOCK, univ_pos
    if lemmatizer.is_base_form(token):
        return _LOWER, univ_pos
    lookups = lemmatizer.lookups
    if not (
        lookups.get_table("lemma_index", {}).get(univ_pos)
        or lookups.get_table("lemma_exc", {}).get(univ_pos)
        or lookups.get_table("lemma_rules", {}).get(univ_pos)
    ):
        return (_AS_IS if univ_pos == "propn" else _LOWER), univ_pos
    return _RULES, univ_pos


def _by_rules(lemmatizer, string: str, univ_pos: str) -> str:
    """The first lemma spaCy's rules give ``string`` as ``univ_pos``."""
    lookups = lemmatizer.lookups
    exceptions = lookups.get_table("lemma_exc", {}).get(univ_pos, {})
    rules = lookups.get_table("lemma_rules", {}).get(univ_pos, {})
    index = lemmatizer._index_sets.get(univ_pos)
    if index is None:
        index = lemmatizer._index_sets[univ_pos] = frozenset(
            lookups.get_table("lemma_index", {}).get(univ_pos, ())
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
