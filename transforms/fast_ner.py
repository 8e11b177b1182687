"""The model's entity recogniser, decoded in NumPy: same entities, a third of the time.

spaCy's ``ner`` is a transition system: a network scores the BILUO moves of every
open document at each token, and a greedy loop picks the best valid move. The network
is cheap; the loop is not. In the spaCy 3.8 wheels each state lookup inside that
compiled loop (``StateC::B``) takes and gives back the GIL, tens of millions of times
over a few hundred articles: on the benchmark corpus the component spends ~8 of its
~12.6 s in ``PyGILState_Ensure``/``Release`` (``perf`` shows it), while its tok2vec,
the part that does the arithmetic, takes ~4 s.

``EntityDecoder`` runs the same decoder without the loop's overhead: the component's
own tok2vec and precomputed lower layer, then one vectorised step per token position
for all the documents of a sub-batch: the same feature sum in the same float32
order, the same maxout, thinc's BLIS ``gemm`` for the output layer, the same
treatment of unseen classes and the same validity rules (``ner.pyx``) expressed as a
table of allowed moves per state. Ties go to the first move, as in spaCy. The
component around it batches documents exactly as ``Parser.pipe`` does (sorted by
length, sub-batches of a quarter), since the tok2vec sees whole sub-batches.

It decodes documents without preset entities (every token ``ent_iob == 0``), which
is what a pipeline run from text produces; a sub-batch with any preset entity, a
beam-search model or an unfamiliar move set goes to spaCy's own code.
``tests/test_fast_ner.py`` compares every token's entity annotation with the stock
component on the project's texts, the real fixture articles and the benchmark corpus.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
from spacy.language import Language
from thinc.api import NumpyOps

FACTORY = "newsbeam_entity_recognizer"
BEGIN, IN, LAST, UNIT, OUT = range(5)
_PREFIXES = {"B": BEGIN, "I": IN, "L": LAST, "U": UNIT}
# Rows of the validity table for a state with no open entity, by
# 2 * (may begin an entity here) + (may be a one-token entity here).
_CLOSED_ROWS = 4


class Unsupported(ValueError):
    """A model this decoder cannot reproduce exactly; spaCy's own decoder is kept."""


class EntityDecoder:
    """Greedy BILUO decoding of one ``ner`` component, vectorised over documents."""

    def __init__(self, ner) -> None:
        if ner.cfg.get("beam_width", 1) != 1:
            raise Unsupported("beam search")
        model = ner.model
        if not isinstance(model.ops, NumpyOps):
            raise Unsupported("a model whose arrays are not NumPy arrays (a GPU)")
        if not model.attrs.get("has_upper") or len(model.layers) != 3:
            raise Unsupported("a model without an output layer")
        self._tok2vec, self._lower, upper = model.layers
        if self._lower.get_dim("nF") != 3 or self._lower.get_dim("nP") < 2:
            raise Unsupported("an unfamiliar state representation")
        self._bias = self._lower.get_param("b").reshape(-1)
        self._weights = np.ascontiguousarray(upper.get_param("W"), dtype=np.float32)
        self._out_bias = upper.get_param("b")
        self._pieces = self._lower.get_dim("nP")
        self._hidden = self._lower.get_dim("nO")
        self._ops = model.ops  # thinc's, or the tuned products of tuned_gemm
        self._unseen = np.array(
            sorted(model.attrs.get("unseen_classes", ())), dtype=int
        )

        names = [ner.moves.get_class_name(i) for i in range(ner.moves.n_moves)]
        if upper.get_dim("nO") != len(names):
            raise Unsupported("moves and output layer disagree")
        kinds, labels, label_names = [], [], []
        for name in names:
            if name == "O":
                kinds.append(OUT)
                labels.append(-1)
                continue
            prefix, _, label = name.partition("-")
            if prefix not in _PREFIXES:
                raise Unsupported(f"move {name!r}")
            kinds.append(_PREFIXES[prefix])
            if not label:  # "U-" without a label: valid only over preset entities
                labels.append(-1)
                continue
            if label not in label_names:
                label_names.append(label)
            labels.append(label_names.index(label))
        self._kinds = np.array(kinds)
        self._labels = np.array(labels)
        strings = ner.vocab.strings
        self._label_ids = [strings.add(label) for label in label_names]
        self._table = self._validity_table(len(label_names))

    def _validity_table(self, n_labels: int) -> np.ndarray:
        """Allowed moves for each kind of state (rules of spaCy's ``ner.pyx``).

        Rows 0-3: no entity open, indexed by 2 * may-begin + may-unit; then, per
        label of the open entity, two rows indexed by may-continue.
        """
        kinds, labels = self._kinds, self._labels
        labelled = labels >= 0
        table = np.zeros((_CLOSED_ROWS + 2 * n_labels, len(kinds)), dtype=bool)
        for may_begin in (0, 1):
            for may_unit in (0, 1):
                row = table[2 * may_begin + may_unit]
                row |= kinds == OUT
                if may_begin:
                    row |= (kinds == BEGIN) & labelled
                if may_unit:
                    row |= (kinds == UNIT) & labelled
        for label in range(n_labels):
            same = labels == label
            table[_CLOSED_ROWS + 2 * label] = (kinds == LAST) & same
            table[_CLOSED_ROWS + 2 * label + 1] = (
                (kinds == LAST) | (kinds == IN)
            ) & same
        return table

    def predict(self, sub_batches) -> list[list[tuple[int, int, int]]] | None:
        """Entities ``(start, end, label)`` per document, or None to decline.

        ``sub_batches`` are lists of documents as spaCy's ``Parser.pipe`` groups
        them: the tok2vec runs once per group, as it does in spaCy, and the decoding
        steps run for all groups together (one step per token position of the
        longest document), since a state's scores do not depend on the others'. A
        model with unseen classes decodes group by group: the score those classes
        get is the minimum over the states decoded together.
        """
        if len(sub_batches) > 1 and len(self._unseen):
            found = [self.predict([group]) for group in sub_batches]
            if any(part is None for part in found):
                return None
            return [entities for part in found for entities in part]
        docs = [doc for group in sub_batches for doc in group]
        found: list[list[tuple[int, int, int]]] = [[] for _ in docs]
        if not any(len(doc) for doc in docs):
            return found
        closed_rows, may_continue = [], []
        for doc in docs:
            attrs = doc.to_array(["ENT_IOB", "IS_SPACE", "SENT_START"])
            if attrs[:, 0].any():
                return None  # preset entities: spaCy's decoder handles them
            space = attrs[:, 1].astype(bool)
            # the next token exists and does not start a sentence
            onward = np.zeros(len(doc), dtype=bool)
            onward[:-1] = attrs[1:, 2] != 1
            closed_rows.append(2 * (onward & ~space) + ~space)
            may_continue.append(onward)
        closed_rows = np.concatenate(closed_rows)
        may_continue = np.concatenate(may_continue).astype(int)
        first, entity_start, previous = self._features(sub_batches)

        lengths = np.array([len(doc) for doc in docs])
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        which = np.flatnonzero(lengths)  # documents still being decoded, in order
        position = offsets[which]  # the buffer's first token (global index)
        start = np.full(len(which), -1)  # the open entity's first token
        label = np.full(len(which), -1)  # the open entity's label, -1 if none
        finishing = set(lengths.tolist())
        kinds, labels, table = self._kinds, self._labels, self._table
        step = 0
        while len(which):
            is_open = label >= 0
            unmaxed = (
                first[position + 1] + entity_start[np.where(is_open, start + 1, 0)]
            )
            unmaxed += previous[np.where(is_open, position, 0)]
            unmaxed += self._bias
            # maxout, one piece at a time: a reduce over a tiny axis is slow
            pieces = unmaxed.reshape(len(which), self._hidden, self._pieces)
            hidden = pieces[:, :, 0]
            for piece in range(1, self._pieces):
                hidden = np.maximum(hidden, pieces[:, :, piece])
            scores = self._ops.gemm(hidden, self._weights, trans2=True)
            scores += self._out_bias
            if len(self._unseen):
                scores[:, self._unseen] = scores.min()
            rows = np.where(
                is_open,
                _CLOSED_ROWS + 2 * label + may_continue[position],
                closed_rows[position],
            )
            scores[~table[rows]] = -np.inf
            move = scores.argmax(axis=1)
            kind = kinds[move]
            for i in np.flatnonzero((kind == LAST) | (kind == UNIT)).tolist():
                unit = kind[i] == UNIT
                found[which[i]].append(
                    (
                        int((position[i] if unit else start[i]) - offsets[which[i]]),
                        int(position[i] + 1 - offsets[which[i]]),
                        int(labels[move[i]] if unit else label[i]),
                    )
                )
            opening = kind == BEGIN
            start = np.where(opening, position, start)
            label = np.where(opening, labels[move], np.where(kind == LAST, -1, label))
            position = position + 1
            step += 1
            if step in finishing:
                going = lengths[which] > step
                which, position = which[going], position[going]
                start, label = start[going], label[going]
        ids = self._label_ids
        return [[(s, e, ids[index]) for s, e, index in spans] for spans in found]

    def _features(self, sub_batches) -> list[np.ndarray]:
        """Per feature, the lower layer's output for every token; row 0 pads."""
        width = self._hidden * self._pieces
        parts = []
        for group in sub_batches:
            if not any(len(doc) for doc in group):
                continue
            cached = self._lower.predict(self._tok2vec.predict(group))
            parts.append(cached if not parts else cached[1:])  # one padding row
        cached = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return [np.ascontiguousarray(cached[:, f].reshape(-1, width)) for f in range(3)]


def set_entities(docs, found) -> None:
    """Write decoded entities as ``BiluoPushDown.set_annotations`` does."""
    from spacy.tokens import Span

    for doc, entities in zip(docs, found, strict=True):
        spans = [
            Span(doc, start, end, label=label, kb_id=doc[start].ent_kb_id)
            for start, end, label in entities
        ]
        # no token had a preset entity, so "outside" is spaCy's unmodified-then-O
        doc.set_ents(spans, default="outside")


class FastEntityRecognizer:
    """Stands in for a ``ner`` component and decodes with ``EntityDecoder``."""

    def __init__(self, ner, name: str = "ner") -> None:
        self.ner = ner
        self.name = name
        self.decoder = EntityDecoder(ner)

    @property
    def labels(self):
        return self.ner.labels

    def __call__(self, doc):
        self._annotate([[doc]])
        return doc

    def pipe(self, docs, *, batch_size: int = 256):
        """``Parser.pipe``'s batching: the tok2vec sees the same sub-batches."""
        from spacy.util import minibatch

        error_handler = self.get_error_handler()
        for batch in minibatch(docs, size=batch_size):
            in_order = list(batch)
            try:
                by_length = sorted(in_order, key=len)
                size = max(batch_size // 4, 2)
                self._annotate(
                    [list(group) for group in minibatch(by_length, size=size)]
                )
                yield from in_order
            except Exception as error:  # spaCy's contract: the handler decides
                error_handler(self.name, self, in_order, error)

    def _annotate(self, sub_batches) -> None:
        found = self.decoder.predict(sub_batches)
        if found is not None:
            set_entities([doc for group in sub_batches for doc in group], found)
            return
        for group in sub_batches:
            self.ner.set_annotations(group, self.ner.predict(group))

    def get_error_handler(self):
        return self.ner.get_error_handler()

    def set_error_handler(self, handler) -> None:
        self.ner.set_error_handler(handler)

    def memory_zone(self, mem=None):
        zone = getattr(self.ner, "memory_zone", None)
        return zone(mem) if zone is not None else nullcontext(mem)


@Language.factory(
    FACTORY,
    default_config={"wrapped": "ner"},
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
)
def _make(nlp: Language, name: str, wrapped: str) -> FastEntityRecognizer:
    return FastEntityRecognizer(nlp.get_pipe(wrapped), name)


def speed_up_entity_recognizer(nlp: Language, name: str = "ner") -> bool:
    """Put a ``FastEntityRecognizer`` in place of ``name``; False if left as is."""
    if name not in nlp.pipe_names:
        return False
    ner = nlp.get_pipe(name)
    if isinstance(ner, FastEntityRecognizer):
        return True
    try:
        EntityDecoder(ner)
    except Unsupported:
        return False
    stand_in = f"{name}_{FACTORY}"
    nlp.add_pipe(FACTORY, name=stand_in, after=name, config={"wrapped": name})
    nlp.remove_pipe(name)
    nlp.rename_pipe(stand_in, name)
    return True
