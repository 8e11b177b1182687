"""Names of the article's actors at the places where the model tagged nothing.

The small model tags a name once and misses it elsewhere: "Danica Roem" in a
caption line, "O’Reilly" parsed as an adverb, "Scientology" after "the Church of
Scientology", "Trump" in a Title Case headline. Counts and quote speakers are lost
with every miss, so once the article's names are resolved, their other occurrences
are found by form alone. What is matched, only where no entity is:

* a name of the article written the same way, one word or several ("Danica Roem",
  "Hajj"); one-word person names only through the surname rule below;
* a surname of exactly one person of the article ("Walls" for "William Walls");
* an acronym of exactly one longer name of the article, or one it defines
  ("KSC" for "Kennedy Space Center");
* a short form of one of its organisation names ("Scientology", "Home Office"; see
  ``organisations.name_forms``), when the registry does not know the short form as
  something else.

A form that stands for two actors of the article is left alone. A match must be
written like a name (capitalised), must not be a function word ("May" the modal,
"Will"), and must not be the start or the end of a longer capitalised name the model
missed ("Johnson Space" is not Johnson).
"""

from __future__ import annotations

from collections import defaultdict

import numpy
from newsbeam.transforms.actors.names import alias_key, name_words
from newsbeam.transforms.actors.organisations import initials, name_forms
from newsbeam.transforms.actors.people import People
from newsbeam.transforms.actors.registry import Actor, ActorRegistry
from newsbeam.transforms.actors.spans import Candidate, in_entities
from newsbeam.transforms.columns import columns_of
from spacy.attrs import POS, SENT_START
from spacy.parts_of_speech import IDS as POS_IDS
from spacy.symbols import NOUN, PROPN
from spacy.tokens import Doc

# Words of these classes are never a name, however written: "May God protect them",
# "Will you", "The". Nouns, adjectives, adverbs and verbs can be: the small model
# tags "O’Reilly" an adverb and "Hannity" a noun.
_CLOSED_CLASSES = frozenset(
    {"AUX", "PRON", "DET", "ADP", "CCONJ", "SCONJ", "PART", "NUM", "PUNCT", "SYM"}
)
_CLOSED_IDS = numpy.array(sorted(POS_IDS[name] for name in _CLOSED_CLASSES))
_MAX_ACRONYM = 6
_ORG_LABELS = frozenset({"ORG", "FAC", "NORP"})

Hit = tuple[str, Actor]  # label, actor


def _written_words(doc: Doc, c: Candidate) -> tuple[str, ...]:
    """The texts of the tokens at a candidate's characters, as ``doc.char_span``
    finds them (none when the characters do not fall on token edges); read from
    the columns when the candidate's own tokens are those, as they mostly are."""
    columns = columns_of(doc)
    if (
        columns.idx[c.start] == c.start_char
        and columns.end_char(c.end - 1) == c.end_char
    ):
        return tuple(columns.text[c.start : c.end])
    span = doc.char_span(c.start_char, c.end_char)
    return tuple(t.text for t in span) if span is not None else ()


def _unique(options: dict[str, Hit]) -> Hit | None:
    return next(iter(options.values())) if len(options) == 1 else None


class ArticleNames:
    """The written forms of one article's resolved names, each to its one actor."""

    def __init__(
        self,
        doc: Doc,
        candidates: list[Candidate],
        people: People,
        registry: ActorRegistry | None = None,
        defined: dict[str, Actor] | None = None,
    ) -> None:
        self.people = people
        self.written: dict[tuple[str, ...], dict[str, Hit]] = defaultdict(dict)
        self.acronyms: dict[str, dict[str, Hit]] = defaultdict(dict)
        self.short_forms: dict[str, dict[str, Hit]] = defaultdict(dict)
        for c in candidates:
            if c.actor is None:
                continue
            hit = (c.label, c.actor)
            words = _written_words(doc, c)
            if words:
                self.written[words][c.actor.actor_id] = hit
            if " " in c.text and c.label != "PERSON":
                self.acronyms[initials(c.text)][c.actor.actor_id] = hit
            if " " in c.text and c.label in _ORG_LABELS:
                for form in name_forms(c.text) - {c.key}:
                    known = registry.lookup_key(form) if registry else None
                    if known is None or known.actor_id == c.actor.actor_id:
                        self.short_forms[form][c.actor.actor_id] = hit
        for acronym, actor in (defined or {}).items():
            label = "ORG" if actor.type == "organisation" else "GPE"
            self.acronyms[acronym] = {actor.actor_id: (label, actor)}
        self.longest = max((len(w) for w in self.written), default=1)
        self.longest = max([self.longest, *(len(f.split()) for f in self.short_forms)])

    def match(self, words: tuple[str, ...], title: bool) -> Hit | None:
        """The actor a run of tokens names, if it is one of the article's forms:
        ``words`` are their texts, ``title`` whether the first is Title Case."""
        hit = _unique(self.written.get(words, {}))
        if hit is None and all(w[:1].isupper() for w in words):
            hit = _unique(self.short_forms.get(alias_key(" ".join(words)), {}))
        if hit is not None or len(words) > 1:
            return hit
        text = words[0]
        surname = name_words(text) if title else []
        if len(surname) == 1:
            matches = self.people.by_surname.get(surname[0], [])
            if len(matches) == 1 and matches[0].actor is not None:
                return ("PERSON", matches[0].actor)
        if text.isupper() and 2 <= len(text) <= _MAX_ACRONYM:
            return _unique(self.acronyms.get(text, {}))
        return None


def _name_like(doc: Doc) -> list[int]:
    """The positions of the tokens written and used like a name: capitalised, not a
    function word; at a sentence start (where every word is capitalised) only a
    proper noun or a noun. Read from the doc's columns: a Python ``Token`` for every
    word cost more than the whole search."""
    if not len(doc):
        return []
    words = columns_of(doc).text
    capitalised = numpy.fromiter((w[:1].isupper() for w in words), bool, len(words))
    columns = doc.to_array([POS, SENT_START])
    pos = columns[:, 0]
    at_start = columns[:, 1] == 1
    may = capitalised & ~numpy.isin(pos, _CLOSED_IDS)
    may &= ~at_start | (pos == PROPN) | (pos == NOUN)
    return numpy.flatnonzero(may).tolist()


def _continues_a_name(doc: Doc, i: int) -> bool:
    """Would token ``i``, a neighbour, make the match part of a longer capitalised
    name? A stop word in a Title Case headline ("Referendum On Trump") does not."""
    if not 0 <= i < len(doc):
        return False
    token = doc[i]
    return token.pos == PROPN and token.is_title and not token.is_stop


def untagged_mentions(
    doc: Doc,
    candidates: list[Candidate],
    people: People,
    registry: ActorRegistry | None = None,
    defined: dict[str, Actor] | None = None,
) -> list[Candidate]:
    """Mentions of the article's actors where the model tagged no entity."""
    names = ArticleNames(doc, candidates, people, registry, defined)
    covered = bytearray(in_entities(doc).astype(numpy.uint8).tobytes())
    for c in candidates:
        covered[c.start : c.end] = b"\1" * (c.end - c.start)
    # Read from the doc's columns: a Token and a string look-up for every word of
    # every length tried cost more than the matching.
    columns = columns_of(doc)
    found = []
    free = 0  # the first position not inside a match already made
    for i in _name_like(doc):
        if i < free or covered[i]:
            continue
        title = doc[i].is_title
        for n in range(min(names.longest, len(doc) - i), 0, -1):
            stop = i + n
            if any(covered[i:stop]):
                continue
            hit = names.match(tuple(columns.text[i:stop]), title)
            if hit is None:
                continue
            if title and (
                _continues_a_name(doc, i - 1) or _continues_a_name(doc, stop)
            ):
                continue  # "Johnson Space": part of a longer untagged name
            text = columns.text_with_ws(i, stop).strip()
            found.append(
                Candidate(
                    start=i,
                    end=stop,
                    start_char=columns.idx[i],
                    end_char=columns.end_char(stop - 1),
                    label=hit[0],
                    text=text,
                    key=alias_key(text),
                    words=name_words(text),
                    titled=False,
                    honorific=False,
                    actor=hit[1],
                )
            )
            free = stop
            break
    return found
