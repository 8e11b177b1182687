"""Where the names of an article are: entity spans cleaned, split, trimmed, extended.

The small model's entity spans are a start. A name is what is left once titles, a
leading "the", lower-case modifiers and possessives are off; it never spans a paragraph
break; two known names joined by a hyphen ("Trump-Russia") or a possessive
("Microsoft's Internet Explorer") are two names; a Title Case headline's spans keep
only the names the body or the registry knows; a span cut short grows to the longer
name the article writes elsewhere; and labels that the form of the name contradicts
are repaired (``repair_by_form``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy
from newsbeam.transforms.actors.names import (
    alias_key,
    is_given_name,
    name_rules,
    name_words,
)
from newsbeam.transforms.actors.organisations import (
    has_organisation_head,
    is_acronym,
    organisation_rules,
)
from newsbeam.transforms.actors.registry import Actor, ActorRegistry
from newsbeam.transforms.columns import TokenColumns, columns_of
from spacy.attrs import DEP, POS
from spacy.symbols import AUX, PROPN, VERB
from spacy.tokens import Doc, Span, Token

_LEADING_WORDS = frozenset({"the", "a", "an"})
POSSESSIVE = ("'s", "’s", "'", "’")


@dataclass(slots=True)
class Candidate:
    """An entity span after cleaning, while the article is being resolved."""

    start: int  # token indices into the doc
    end: int
    start_char: int
    end_char: int
    label: str
    text: str
    key: str  # alias_key of text
    words: list[str]  # folded person-name words
    titled: bool  # a title or honorific preceded or opened the name
    honorific: bool  # Mr, Ms, Dr ...: certainly a person
    definite: bool = False  # written with "the": "the Church" may be a short name
    actor: Actor | None = None
    place_acronym: bool = False  # an unknown acronym the model called a place ("AI")


@lru_cache(maxsize=1)
def _title_edges() -> tuple[frozenset[str], frozenset[str]]:
    """The first words and the last words of the titles. A phrase is a title only
    if its first word is one of the first and its last one of the last, so at most
    tokens no phrase needs building (they are looked at for every entity)."""
    titles = name_rules().titles
    return (
        frozenset(title.split(" ")[0] for title in titles),
        frozenset(title.split(" ")[-1] for title in titles),
    )


def _title_phrase(columns: TokenColumns, start: int, stop: int) -> str:
    """Tokens ``start:stop`` as the title table writes them ("prime minister")."""
    return " ".join(columns.lower(i).rstrip(".") for i in range(start, stop))


def _title_length(columns: TokenColumns, at: int, stop: int) -> int:
    """How many tokens from ``at`` form the longest title ("Prime Minister")."""
    if (
        at >= stop
        or _title_phrase(columns, at, at + 1).split(" ")[0] not in (_title_edges()[0])
    ):
        return 0
    rules = name_rules()
    best = 0
    for n in range(1, min(rules.max_title_words, stop - at) + 1):
        if _title_phrase(columns, at, at + n) in rules.titles:
            best = n
    return best


def _title_before(doc: Doc, start: int) -> tuple[bool, bool]:
    """(title, honorific): does one immediately precede token ``start``?"""
    columns = columns_of(doc)
    if (
        start <= 0
        or _title_phrase(columns, start - 1, start).split(" ")[-1]
        not in (_title_edges()[1])
    ):
        return False, False
    rules = name_rules()
    for n in range(min(rules.max_title_words, start), 0, -1):
        phrase = _title_phrase(columns, start - n, start)
        if phrase in rules.titles:
            return True, phrase in rules.honorifics
    return False, False


def clean_entity(doc: Doc, doc_text: str, ent: Span) -> list[Candidate]:
    """The names inside an entity span: no "the", title, lower-case modifier or
    possessive; two names where a possessive joins them ("Microsoft's Internet
    Explorer" is the maker and the product). Empty when nothing is left."""
    start, end = ent.start, ent.end
    titled, honorific = _title_before(doc, start)
    # Read from the doc's columns: a Token and a string look-up per word read
    # cost more than the rest of the cleaning.
    columns = columns_of(doc)
    words = columns.text
    definite = start > 0 and columns.lower(start - 1) == "the"
    # Lower-case words and hyphenated prefixes are not part of a name: "united
    # Republican party", "pro-Beijing New People's Party".
    glued = False
    while start < end:
        text = words[start]
        if not (
            text.lower() in _LEADING_WORDS
            or columns.is_punct[start]
            or _lower_word(text)
            or glued
        ):
            break
        glued = not columns.whitespace[start]
        start += 1
    pieces = []
    piece = start
    if "\n" in doc_text[ent.start_char : ent.end_char]:  # a name never spans
        for i in range(start, end):  # paragraphs
            if columns.is_space[i] and "\n" in words[i]:
                pieces.append((piece, i))
                piece = i + 1
    pieces.append((piece, end))
    found = []
    for n, (a, b) in enumerate(pieces):
        candidate = _candidate(
            doc,
            doc_text,
            a,
            b,
            ent.label_,
            titled if n == 0 else False,
            honorific if n == 0 else False,
            definite and n == 0,
        )
        if candidate is not None:
            found.append(candidate)
    return found


def _lower_word(text: str) -> bool:
    """Starts lower-case, as no name does ("pro-Beijing"); "eBay" and "iPhone" do."""
    return text[:1].islower() and not text[1:2].isupper()


def _candidate(
    doc: Doc,
    doc_text: str,
    start: int,
    end: int,
    label: str,
    titled: bool,
    honorific: bool,
    definite: bool,
) -> Candidate | None:
    columns = columns_of(doc)
    words = columns.text
    is_punct, is_space = columns.is_punct, columns.is_space
    rules = name_rules()
    # Titles inside the span: stripped from PERSON; from other labels only when they
    # are honorifics (so "General Motors" keeps its "General").
    while start < end:
        n = _title_length(columns, start, end)
        if not n or start + n >= end:
            break
        phrase = _title_phrase(columns, start, start + n)
        if label != "PERSON" and phrase not in rules.honorifics:
            break
        if not words[start + n][:1].isupper():
            break
        titled = True
        honorific = honorific or phrase in rules.honorifics
        start += n
    while start < end and (is_space[start] or is_punct[start]):
        start += 1
    # A trailing title is a role, not part of an organisation's name: "NASA
    # Administrator" is NASA.
    while (
        label != "PERSON"
        and end - start >= 2
        and columns.lower(end - 1).rstrip(".") in rules.titles
        and words[end - 1][:1].isupper()
    ):
        end -= 1
    while end > start and (
        words[end - 1] in POSSESSIVE or is_punct[end - 1] or is_space[end - 1]
    ):
        end -= 1
    if end <= start:
        return None
    start_char = columns.idx[start]
    end_char = columns.end_char(end - 1)
    for suffix in POSSESSIVE:  # "Russia's" as one token
        if doc_text.endswith(suffix, start_char, end_char):
            if end_char - len(suffix) > start_char:
                end_char -= len(suffix)
            break
    text = doc_text[start_char:end_char]
    if not any(ch.isupper() for ch in text):
        return None  # a common noun ("jargon", "council"), never a name
    if label == "PERSON" and not text[:1].isupper():
        return None  # "mike" and other lower-case PERSON noise
    return Candidate(
        start=start,
        end=end,
        start_char=start_char,
        end_char=end_char,
        label=label,
        text=" ".join(text.split()),
        key=alias_key(text),
        words=name_words(text),
        titled=titled,
        honorific=honorific,
        definite=definite,
    )


def split_compounds(
    doc: Doc, doc_text: str, candidates: list[Candidate], registry: ActorRegistry
) -> list[Candidate]:
    """ "Trump-Russia", "U.S.-Mexico": two names joined by a hyphen are two mentions
    when each part is a name on its own (the registry's, or written alone elsewhere
    in the article). "Randall-Gay" and "Jong-un" stay whole."""
    alone = set()
    for c in candidates:
        alone.add(c.key)
        alone.add(c.key.split()[-1] if c.key else "")

    def known(text: str) -> bool:
        key = alias_key(text)
        return bool(key) and (registry.lookup_key(key) is not None or key in alone)

    out = []
    for c in candidates:
        owned = _split_possessive(doc, doc_text, c, known)
        if owned:  # "Microsoft's Internet Explorer": the maker and the product
            out.extend(owned)
            continue
        if c.end - c.start == 1 and "-" in c.text and " " not in c.text:
            out.extend(_split_token(c, known))  # "U.S.-Mexico" is one token
            continue
        cuts = [
            i
            for i in range(c.start + 1, c.end - 1)
            if doc[i].text == "-"
            and not doc[i - 1].whitespace_
            and not doc[i].whitespace_
        ]
        if not cuts:
            out.append(c)
            continue
        bounds = [c.start, *cuts, c.end]
        parts = []
        for a, b in zip(bounds, bounds[1:], strict=False):
            a = a + 1 if doc[a].text == "-" else a
            part = _candidate(doc, doc_text, a, b, c.label, False, False, False)
            if part is None or not part.text[:1].isupper() or not known(part.text):
                break
            parts.append(part)
        else:
            out.extend(parts)
            continue
        out.append(c)
    return out


def _split_possessive(doc: Doc, doc_text: str, c: Candidate, known) -> list[Candidate]:
    """Owner and owned, when a possessive inside the span follows a name the article
    or the registry knows alone, or precedes a person's name ("Fox News' Brian
    Kilmeade", "New People Party's Regina Ip": a given name and a surname);
    "Korean People's Army" stays whole."""
    for i in range(c.start + 1, c.end - 1):
        if doc[i].text in POSSESSIVE:
            owner = _candidate(doc, doc_text, c.start, i, c.label, False, False, False)
            owned = _candidate(
                doc, doc_text, i + 1, c.end, c.label, False, False, False
            )
            if not (owner and owned and owned.text[:1].isupper()):
                return []
            if _person_shaped(owned):
                owned.label = "PERSON"
            elif not known(owner.text):
                return []
            owner.titled, owner.honorific = c.titled, c.honorific
            return [owner, owned]
    return []


def _person_shaped(c: Candidate) -> bool:
    """A given name and a surname, capitalised, nothing else: "Regina Ip"."""
    words = c.text.split()
    return (
        len(words) in (2, 3)
        and all(w[:1].isupper() for w in words)
        and is_given_name(c.words[0])
        and not has_organisation_head(c.text)
    )


def _split_token(c: Candidate, known) -> list[Candidate]:
    """The hyphen-joined names of one token, or the token whole."""
    parts, offset = [], c.start_char
    for piece in c.text.split("-"):
        if not piece[:1].isupper() or not known(piece):
            return [c]
        parts.append(
            Candidate(
                start=c.start,
                end=c.end,
                start_char=offset,
                end_char=offset + len(piece),
                label=c.label,
                text=piece,
                key=alias_key(piece),
                words=name_words(piece),
                titled=False,
                honorific=False,
            )
        )
        offset += len(piece) + 1
    return parts


def _headline_end(doc_text: str) -> int:
    """Where the headline paragraph ends (0 when the article has no body)."""
    end = doc_text.find("\n\n")
    return end if end > 0 else 0


def trim_headline(
    doc: Doc, doc_text: str, candidates: list[Candidate], registry: ActorRegistry
) -> list[Candidate]:
    """Title Case makes the model take headline words for names ("Fox Has Hired
    Sebastian Gorka"). A headline entity of several words is kept when the body or
    the registry knows it; else it is cut to the parts they know; else, if it holds
    a verb, it is no name at all."""
    end = _headline_end(doc_text)
    if not end:
        return candidates
    body = set()
    for c in candidates:
        if c.start_char > end:
            body.add(c.key)
            if len(c.key.split()) > 1 and c.text.split()[-1][:1].isupper():
                body.add(c.key.split()[-1])

    def known(key: str) -> bool:
        return key in body or registry.lookup_key(key) is not None

    pos = doc.to_array("POS")
    out = []
    for c in candidates:
        if c.end_char > end or c.end - c.start < 2 or known(c.key):
            out.append(c)
            continue
        parts = []
        i = c.start
        while i < c.end:
            for j in range(c.end, i, -1):
                part = _candidate(doc, doc_text, i, j, c.label, False, False, False)
                name_like = j - i > 1 or doc[i].pos == PROPN
                if part is not None and name_like and known(part.key):
                    parts.append(part)
                    i = j - 1
                    break
            i += 1
        if parts:
            out.extend(parts)
        elif not any(pos[i] in (VERB, AUX) for i in range(c.start, c.end)):
            out.append(c)
    return out


def extend_to_known(doc: Doc, candidates: list[Candidate]) -> None:
    """A name the model cut short is the longer name the article writes elsewhere:
    "Philadelphia" before "Eagles" is the "Philadelphia Eagles"; "Canada" after
    "Environment" is "Environment Canada"."""
    longer = {c.text: c.label for c in candidates if " " in c.text}
    if not longer:
        return
    words = {w for text in longer for w in text.split()}
    taken = {i for c in candidates for i in range(c.start, c.end)}
    n = len(doc)
    texts = columns_of(doc).text
    for c in candidates:
        # Only a neighbour that is a word of some longer name can extend it (and
        # looking at one token is far cheaper than slicing three spans).
        after = c.end < n and texts[c.end] in words
        before = c.start > 0 and texts[c.start - 1] in words
        if not (after or before):
            continue
        for a, b in ((c.start, c.end + 1), (c.start, c.end + 2), (c.start - 1, c.end)):
            if a < 0 or b > len(doc) or (a == c.start and b == c.end):
                continue
            extra = set(range(a, b)) - set(range(c.start, c.end))
            if extra & taken:
                continue
            span = doc[a:b]
            text = " ".join(span.text.split())
            titled = alias_key(text).split()[-1] in name_rules().titles
            if text in longer and not titled and not any(t.is_space for t in span):
                taken |= extra
                c.start, c.end = a, b
                c.start_char, c.end_char = span.start_char, span.end_char
                c.text, c.key, c.words = text, alias_key(text), name_words(text)
                c.label = longer[text]
                break


def repair_by_form(
    doc: Doc, doc_text: str, candidates: list[Candidate], registry: ActorRegistry
) -> None:
    """Labels the form of the name contradicts.

    A name ending in an organisation's head word is an organisation, not a person
    ("Ashbourne Rovers"). A two- or three-word name the registry does not know is a
    person when it starts with a listed given name (not for place names ending in
    "Street", "River" ...), or when its last word is written alone elsewhere in the
    article: organisations and places are not referred to by their last word, people
    are ("Kirstjen Nielsen ... Nielsen said").
    """
    rules = organisation_rules()
    other_labels: dict[str, str] = {}
    for c in candidates:
        if c.label != "PERSON" and " " not in c.text:
            other_labels.setdefault(c.text, c.label)
    full_name_words = {
        w
        for c in candidates
        if c.label == "PERSON" and " " in c.text
        for w in c.text.split()
    }
    for c in candidates:
        # One word tagged PERSON here and something else there, with no full name
        # of the article that holds it: the other label ("Kestrel" the start-up).
        if (
            c.label == "PERSON"
            and " " not in c.text
            and not c.titled
            and c.text in other_labels
            and c.text not in full_name_words
        ):
            c.label = other_labels[c.text]
    for c in candidates:
        words = c.text.split()
        if registry.lookup_key(c.key) is not None:
            continue
        if has_organisation_head(c.text) or (
            len(words) >= 2 and any(is_acronym(w) and len(w) > 1 for w in words)
        ):
            # "Ashbourne Rovers", "NHS England", "UK Parliament": not people
            if c.label in ("PERSON", "GPE", "NORP") and not c.honorific:
                c.label = "ORG"
            continue
        if (
            c.label not in ("ORG", "GPE", "NORP", "FAC", "LOC")
            or not 2 <= len(words) <= 3
        ):
            continue
        if not all(w[:1].isupper() and w.replace(".", "").isalpha() for w in words):
            continue
        key_words = c.key.split()
        if key_words[0] in rules.direction_words or key_words[-1] in rules.place_heads:
            continue
        given = is_given_name(c.words[0]) if c.words else False
        last = words[-1]
        # The last word alone elsewhere: all its whole-word occurrences, less
        # those inside this very name written again.
        alone = len(re.findall(rf"\b{re.escape(last)}\b", doc_text))
        again = len(re.findall(rf"\b{re.escape(c.text)}\b", doc_text))
        elsewhere = alone - again
        if given or (elsewhere and c.label not in ("GPE", "LOC")):
            c.label = "PERSON"


def in_entities(doc: Doc) -> numpy.ndarray:
    """Whether each token is inside one of ``doc.ents``, from its entity column
    (``doc.ents`` makes a ``Span`` and reads every token of each entity). The
    array is shared: callers must not change it."""
    return columns_of(doc).in_entity


_LIST_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP"})


def conjoined_names(
    doc: Doc, doc_text: str, candidates: list[Candidate]
) -> list[Candidate]:
    """Untagged proper names in a list with tagged ones take their label: "Zeus,
    Hera, Poseidon and Athena" where the model tagged only Zeus and Hera. A
    coordination joins things of one kind, so when two or more of its members are
    names of one label (and no other label is as frequent), the untagged
    capitalised proper nouns among them are names of that label too. Titles and the
    headline are left alone; a list with one tagged member ("Photographs and
    Prints") says nothing."""
    owner: dict[int, int] = {}
    for n, c in enumerate(candidates):
        for i in range(c.start, c.end):
            owner[i] = n
    covered = set(numpy.flatnonzero(in_entities(doc)).tolist())
    covered.update(owner)
    body = doc_text.find("\n\n")
    rules = name_rules()
    found: list[Candidate] = []
    columns = doc.to_array([DEP, POS]) if len(doc) else None
    joined = (
        []
        if columns is None
        else numpy.flatnonzero(
            (columns[:, 0] == doc.vocab.strings["conj"]) & (columns[:, 1] == PROPN)
        ).tolist()
    )
    for i in joined:  # a Python Token for every word cost more than the rest
        token = doc[i]
        if (
            token.i in covered
            or not token.text[:1].isupper()
            or token.idx < body
            or token.lower_.rstrip(".") in rules.titles
        ):
            continue
        tagged = {owner[m.i] for m in _coordination(token) if m.i in owner}
        votes = Counter(candidates[n].label for n in tagged).most_common(2)
        if not votes or votes[0][1] < 2 or votes[0][0] not in _LIST_LABELS:
            continue
        if len(votes) > 1 and votes[1][1] == votes[0][1]:
            continue  # as many of another kind: which kind is not known
        start = token.i
        while (
            start > 0
            and doc[start - 1].pos == PROPN
            and doc[start - 1].text[:1].isupper()
            and start - 1 not in covered
        ):
            start -= 1
        candidate = _candidate(
            doc, doc_text, start, token.i + 1, votes[0][0], False, False, False
        )
        if candidate is not None:
            found.append(candidate)
            covered.update(range(start, token.i + 1))
    return found


def _coordination(token: Token) -> list[Token]:
    """Every member of the list ``token`` is in: its first member and all conjuncts."""
    first = token
    while first.dep_ == "conj" and first.head.i != first.i:
        first = first.head
    members, stack = [], [first]
    while stack:
        member = stack.pop()
        members.append(member)
        stack.extend(c for c in member.children if c.dep_ == "conj")
    return members
