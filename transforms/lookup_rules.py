"""The model's attribute rules, matched by lookup: same annotations, less time.

spaCy's ``attribute_ruler`` gives every token its coarse part of speech, its
morphology and a few lemma exceptions, from 179 rules in ``en_core_web_sm``. It runs
them through a ``Matcher``, which tries every rule at every token: 3.7 s of a 25.6 s
``nlp.pipe`` over the benchmark corpus, more than the tagger and the lemmatizer
together. Almost every rule looks at one token only (its tag, lower-case form,
dependency label, whether it is a space), so which rules fire depends only on those
four values. Each attribute value is turned once into the set of patterns it
satisfies (a bit mask); a token's patterns are the four masks ANDed, so a word never
seen before costs a dictionary miss, not 179 rule checks. A rule spanning several
tokens is checked further only where its first token fits. The result is the same
list of matches the ruler would compute, in the same order, and the ruler's own
``set_annotations`` applies it.

``tests/test_lookup_rules.py`` compares the annotations token by token with the
stock pipeline. A pipeline whose rules use anything else (other attributes,
operators such as ``OP``) keeps the stock matcher.
"""

from __future__ import annotations

import re
from typing import Any

ATTRIBUTES = ("TAG", "LOWER", "DEP", "IS_SPACE")
MAX_CACHED = 200_000  # values per attribute kept: a long stream meets ever more words


class Unsupported(ValueError):
    """A rule this lookup cannot reproduce exactly; the stock matcher is kept."""


def speed_up_attribute_ruler(nlp) -> bool:
    """Make the pipeline's attribute ruler match by lookup; False if left as it was."""
    if "attribute_ruler" not in nlp.pipe_names:
        return False
    ruler = nlp.get_pipe("attribute_ruler")
    try:
        lookup = RuleLookup(ruler)
    except Unsupported:
        return False
    ruler.match = lookup.match  # an instance attribute: __call__ finds it first
    return True


class _Attribute:
    """For one token attribute: which token patterns each of its values satisfies."""

    def __init__(self, name: str, strings) -> None:
        self.name = name
        self._strings = strings
        self.unconstrained = 0  # patterns that say nothing about this attribute
        self._equal: dict[int, int] = {}  # value -> patterns naming it (= or IN)
        self._not_in = 0  # patterns with NOT_IN ...
        self._excluded: dict[int, int] = {}  # ... and the values each excludes
        self._regex: list[tuple[re.Pattern, int]] = []
        self._masks: dict[int, int] = {}

    def add(self, bit: int, condition: Any) -> None:
        """Record pattern ``bit``'s condition on this attribute (None: no condition)."""
        if condition is None:
            self.unconstrained |= bit
        elif self.name == "IS_SPACE":
            if not isinstance(condition, bool):
                raise Unsupported(f"IS_SPACE {condition!r}")
            self._name(int(condition), bit)
        elif isinstance(condition, str):
            self._name(self._id(condition), bit)
        elif isinstance(condition, dict) and len(condition) == 1:
            [(operator, argument)] = condition.items()
            if operator == "REGEX" and isinstance(argument, str):
                self._regex.append((re.compile(argument), bit))
            elif operator in ("IN", "NOT_IN") and _strings_only(argument):
                for value in argument:
                    if operator == "IN":
                        self._name(self._id(value), bit)
                    else:
                        self._excluded[self._id(value)] = (
                            self._excluded.get(self._id(value), 0) | bit
                        )
                if operator == "NOT_IN":
                    self._not_in |= bit
            else:
                raise Unsupported(f"{self.name} {operator}")
        else:
            raise Unsupported(f"{self.name} {condition!r}")

    def mask(self, value: int) -> int:
        """The patterns whose condition on this attribute ``value`` satisfies."""
        mask = self._masks.get(value)
        if mask is None:
            mask = (
                self.unconstrained
                | self._equal.get(value, 0)
                | (self._not_in & ~self._excluded.get(value, 0))
            )
            if self._regex:
                text = self._strings[value] if value else ""
                for pattern, bit in self._regex:
                    if pattern.search(text):  # as the Matcher's REGEX: search
                        mask |= bit
            if len(self._masks) >= MAX_CACHED:
                self._masks.clear()
            self._masks[value] = mask
        return mask

    def _name(self, value: int, bit: int) -> None:
        self._equal[value] = self._equal.get(value, 0) | bit

    def _id(self, value: str) -> int:
        """The string id the Matcher compares with: 0 for the empty string."""
        return self._strings.add(value) if value else 0


def _strings_only(argument: Any) -> bool:
    return isinstance(argument, list | tuple) and all(
        isinstance(v, str) for v in argument
    )


class RuleLookup:
    """Computes ``AttributeRuler.match(doc)`` by lookup; see the module docstring.

    Like the ``Matcher``, a rule matches a span once however many of its patterns
    fit it; patterns have no operators, so each has a fixed length. Every token of
    every pattern gets a bit; a pattern of one token matches where its bit is set,
    a longer one where the bits of its tokens are set one after the other.
    """

    def __init__(self, ruler) -> None:
        self._ruler = ruler
        strings = ruler.vocab.strings
        self._attributes = [_Attribute(name, strings) for name in ATTRIBUTES]
        # bit of a pattern's first token -> (rule, key, the bits of all its tokens)
        self._starts: list[tuple[int, tuple[int, int, tuple[int, ...]]]] = []
        bits = 0
        for rule, entry in enumerate(ruler.patterns):  # rule i is matcher key "i"
            key = strings.add(str(rule))
            for pattern in entry["patterns"]:
                if not pattern or not all(isinstance(t, dict) for t in pattern):
                    raise Unsupported("empty pattern")
                token_bits = []
                for token in pattern:
                    unknown = set(token) - set(ATTRIBUTES)
                    if unknown:
                        raise Unsupported(f"attributes {sorted(unknown)}")
                    bit = 1 << bits
                    bits += 1
                    for attribute in self._attributes:
                        attribute.add(bit, token.get(attribute.name))
                    token_bits.append(bit)
                self._starts.append((token_bits[0], (rule, key, tuple(token_bits))))
        self._found: dict[int, tuple] = {}

    def match(self, doc) -> list[tuple[int, int, int, int]]:
        """``(rule, key, start, end)`` for every match, sorted as the ruler sorts."""
        if not (doc.has_annotation("TAG") and doc.has_annotation("DEP")):
            return type(self._ruler).match(self._ruler, doc)  # missing-value rules
        tag, lower, dep, space = (a.mask for a in self._attributes)
        masks = [
            tag(t) & lower(w) & dep(d) & space(s)
            for t, w, d, s in doc.to_array(list(ATTRIBUTES)).tolist()
        ]
        found = self._found
        spans = set()
        for start, mask in enumerate(masks):
            starting = found.get(mask)
            if starting is None:
                starting = found[mask] = self._starting(mask)
            for rule, key, token_bits in starting:
                end = start + len(token_bits)
                if end == start + 1 or (
                    end <= len(masks)
                    and all(
                        masks[start + offset] & bit
                        for offset, bit in enumerate(token_bits[1:], start=1)
                    )
                ):
                    spans.add((rule, key, start, end))
        return sorted(spans)

    def _starting(self, mask: int) -> tuple:
        """The patterns that may start at a token with these bits."""
        if len(self._found) >= MAX_CACHED:
            self._found.clear()
        return tuple(pattern for bit, pattern in self._starts if mask & bit)
