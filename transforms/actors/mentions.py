"""Named-entity mentions of one article, each resolved to an actor.

``extract_mentions(doc, registry)`` reads the entities of an already parsed ``Doc``
(no second parse) and decides, for each, which actor it is about. The decisions are
article-level, because an article is what a reader resolves names against:

* titles, honorifics, a leading "the" and a possessive "'s" are not part of a name
  ("Foreign Secretary Boris Johnson's" -> "Boris Johnson");
* full person names that are spelling variants of each other - transliterations
  ("Sergei"/"Sergey"), diacritics, hyphens, initials ("V. Putin") - are one person;
* a lone surname or forename ("Johnson", "Mr Johnson") is the one person of the article
  with that surname (then forename); when two people share it nobody is guessed and the
  bare name stays its own actor; with no full name in the article, a person the registry
  knows by that alias ("Trump") is used;
* labels are repaired: a name that is a person of the article or of the registry, or
  follows an honorific, is a PERSON whatever the small model said ("Trump" as ORG),
  and a registry institution tagged PERSON is not a person;
* countries, their aliases and demonyms resolve through the registry ("Russians" ->
  russia); other NORP ("Republicans", "Muslims") are groups, singular and plural one
  actor; "the State of Texas" is Texas;
* short names of the article's organisations: an all-capitals acronym ("KCNA") is the
  one longer name with those initials, and a definite one-word name ("the Church") is
  the one longer name with that head noun ("Church of Scientology").

Names the model did not tag at all are added where no entity is, if they are
unambiguous in the article: a surname of exactly one of its people, a one-word name
tagged elsewhere in it, an acronym of one of its names. The small model often tags a
name once and misses it later, which would lose speakers and counts.

Everything not in the registry gets ``slugify`` of its cleaned name as its id, so
the same name gives the same actor in every article; ``resolve_across_articles``
(``transforms.actors``) is the later, global pass for surnames and spellings.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

from newsbeam.transforms.actors.names import (
    alias_key,
    is_given_name,
    name_rules,
    name_words,
    same_given_name,
    slugify,
)
from newsbeam.transforms.actors.organisations import (
    defines,
    has_organisation_head,
    initials,
    is_acronym,
    name_forms,
    national_team_name,
    organisation_rules,
    parenthesised_acronym,
    sports_report,
    without_country,
)
from newsbeam.transforms.actors.registry import Actor, ActorRegistry
from newsbeam.transforms.common import doc_text as whole_text
from spacy.symbols import ADJ, AUX, PROPN, VERB
from spacy.tokens import Doc, Span, Token

KEPT_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT"})
TYPE_OF_LABEL = {
    "PERSON": "person",
    "ORG": "organisation",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "NORP": "group",
    "EVENT": "other",
}
LABEL_OF_TYPE = {"person": "PERSON", "organisation": "ORG", "place": "GPE"}
# Labels the model confuses with PERSON; GPE and LOC need stronger evidence because a
# place named like a person ("Washington") is common.
_REPAIRABLE = frozenset({"ORG", "NORP", "FAC", "EVENT", "GPE", "LOC"})
_PLACE_LABELS = frozenset({"GPE", "LOC"})
_LEADING_WORDS = frozenset({"the", "a", "an"})
_POSSESSIVE = ("'s", "’s", "'", "’")
# Where a team stands in a sentence: it beats, is beaten, plays against, ...
_PARTICIPANT_DEPS = frozenset(
    {"nsubj", "nsubjpass", "dobj", "pobj", "conj", "appos", "attr", "ROOT"}
)
_MAX_PLACE_ACRONYM = 3  # "AI" tagged GPE; a dateline's "NEWARK" is a word
_NOT_GROUPS = frozenset({"western", "eastern", "northern", "southern", "central"})
_PLACE_PREFIXES = ("state of ", "city of ", "province of ", "commonwealth of ")


@dataclass(frozen=True, slots=True)
class EntityMention:
    """One mention of an actor: where it is written and who it is about."""

    start_char: int
    end_char: int
    text: str  # the span as written in doc.text, possessive "'s" stripped
    label: str  # spaCy label after repair
    actor_id: str
    actor_name: str
    actor_type: str  # person | organisation | place | group | other
    country: str  # actor id of the country it belongs to, "" if none


@dataclass(slots=True)
class _Candidate:
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


@dataclass(slots=True)
class _Person:
    """A full name of the article and the spelling variants merged into it."""

    name: str
    words: list[str]
    keys: set[str] = field(default_factory=set)
    actor: Actor | None = None


# ------------------------------------------------------------------ cleaning


def _title_length(tokens: list[Token], at: int, stop: int) -> int:
    """How many tokens from ``at`` form the longest title ("Prime Minister")."""
    rules = name_rules()
    best = 0
    for n in range(1, min(rules.max_title_words, stop - at) + 1):
        phrase = " ".join(t.lower_.rstrip(".") for t in tokens[at : at + n])
        if phrase in rules.titles:
            best = n
    return best


def _title_before(doc: Doc, start: int) -> tuple[bool, bool]:
    """(title, honorific): does one immediately precede token ``start``?"""
    rules = name_rules()
    for n in range(min(rules.max_title_words, start), 0, -1):
        phrase = " ".join(t.lower_.rstrip(".") for t in doc[start - n : start])
        if phrase in rules.titles:
            return True, phrase in rules.honorifics
    return False, False


def _clean(doc: Doc, doc_text: str, ent: Span) -> list[_Candidate]:
    """The names inside an entity span: no "the", title, lower-case modifier or
    possessive; two names where a possessive joins them ("Microsoft's Internet
    Explorer" is the maker and the product). Empty when nothing is left."""
    start, end = ent.start, ent.end
    titled, honorific = _title_before(doc, start)
    definite = start > 0 and doc[start - 1].lower_ == "the"
    # Lower-case words and hyphenated prefixes are not part of a name: "united
    # Republican party", "pro-Beijing New People's Party".
    while start < end and (
        doc[start].lower_ in _LEADING_WORDS
        or doc[start].is_punct
        or _lower_word(doc[start].text)
        or (start > ent.start and not doc[start - 1].whitespace_)
    ):
        start += 1
    pieces = []
    piece = start
    for i in range(start, end):
        if doc[i].is_space and "\n" in doc[i].text:  # a name never spans paragraphs
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
) -> _Candidate | None:
    tokens = doc
    rules = name_rules()
    # Titles inside the span: stripped from PERSON; from other labels only when they
    # are honorifics (so "General Motors" keeps its "General").
    while start < end:
        n = _title_length(tokens, start, end)
        if not n or start + n >= end:
            break
        phrase = " ".join(t.lower_.rstrip(".") for t in tokens[start : start + n])
        if label != "PERSON" and phrase not in rules.honorifics:
            break
        if not tokens[start + n].text[:1].isupper():
            break
        titled = True
        honorific = honorific or phrase in rules.honorifics
        start += n
    while start < end and (tokens[start].is_space or tokens[start].is_punct):
        start += 1
    # A trailing title is a role, not part of an organisation's name: "NASA
    # Administrator" is NASA.
    while (
        label != "PERSON"
        and end - start >= 2
        and tokens[end - 1].lower_.rstrip(".") in rules.titles
        and tokens[end - 1].text[:1].isupper()
    ):
        end -= 1
    while end > start and (
        tokens[end - 1].text in _POSSESSIVE
        or tokens[end - 1].is_punct
        or tokens[end - 1].is_space
    ):
        end -= 1
    if end <= start:
        return None
    start_char = tokens[start].idx
    end_char = tokens[end - 1].idx + len(tokens[end - 1].text)
    for suffix in _POSSESSIVE:  # "Russia's" as one token
        if doc_text.endswith(suffix, start_char, end_char):
            if end_char - len(suffix) > start_char:
                end_char -= len(suffix)
            break
    text = doc_text[start_char:end_char]
    if not any(ch.isupper() for ch in text):
        return None  # a common noun ("jargon", "council"), never a name
    if label == "PERSON" and not text[:1].isupper():
        return None  # "mike" and other lower-case PERSON noise
    return _Candidate(
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


def _split_compounds(
    doc: Doc, doc_text: str, candidates: list[_Candidate], registry: ActorRegistry
) -> list[_Candidate]:
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


def _split_possessive(
    doc: Doc, doc_text: str, c: _Candidate, known
) -> list[_Candidate]:
    """Owner and owned, when a possessive inside the span follows a name the article
    or the registry knows alone; "Korean People's Army" stays whole."""
    for i in range(c.start + 1, c.end - 1):
        if doc[i].text in _POSSESSIVE:
            owner = _candidate(doc, doc_text, c.start, i, c.label, False, False, False)
            owned = _candidate(
                doc, doc_text, i + 1, c.end, c.label, False, False, False
            )
            if owner and owned and known(owner.text) and owned.text[:1].isupper():
                owner.titled, owner.honorific = c.titled, c.honorific
                return [owner, owned]
            return []
    return []


def _split_token(c: _Candidate, known) -> list[_Candidate]:
    """The hyphen-joined names of one token, or the token whole."""
    parts, offset = [], c.start_char
    for piece in c.text.split("-"):
        if not piece[:1].isupper() or not known(piece):
            return [c]
        parts.append(
            _Candidate(
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


def _trim_headline(
    doc: Doc, doc_text: str, candidates: list[_Candidate], registry: ActorRegistry
) -> list[_Candidate]:
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


def _extend_to_known(doc: Doc, candidates: list[_Candidate]) -> None:
    """A name the model cut short is the longer name the article writes elsewhere:
    "Philadelphia" before "Eagles" is the "Philadelphia Eagles"; "Canada" after
    "Environment" is "Environment Canada"."""
    longer = {c.text: c.label for c in candidates if " " in c.text}
    if not longer:
        return
    taken = {i for c in candidates for i in range(c.start, c.end)}
    for c in candidates:
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


def _repair_by_form(
    doc: Doc, candidates: list[_Candidate], registry: ActorRegistry
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
    lower = [t.text for t in doc]
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
        elsewhere = sum(
            1
            for i, t in enumerate(lower)
            if t == last
            and not c.start <= i < c.end
            and not (
                i > 0 and doc[i - 1].text[:1].isupper() and doc[i - 1].text == words[-2]
            )
        )
        if given or (elsewhere and c.label not in ("GPE", "LOC")):
            c.label = "PERSON"


# ------------------------------------------------------------------ people


def _compatible(a: list[str], b: list[str]) -> bool:
    """Same surname and a compatible forename: equal, or an initial of the other."""
    if a[-1] != b[-1]:
        return False
    x, y = a[0], b[0]
    return (
        same_given_name(x, y)
        or (len(x) == 1 and y.startswith(x))
        or (len(y) == 1 and x.startswith(y))
    )


def _is_initial(word: str) -> bool:
    return len(word.rstrip(".")) == 1


class _People:
    """The people of one article: full names merged by spelling, indexed by part."""

    def __init__(self, registry: ActorRegistry) -> None:
        self.registry = registry
        self.people: list[_Person] = []
        self.by_key: dict[str, _Person] = {}

    def add(self, candidate: _Candidate) -> None:
        words = candidate.words
        key = "".join(words)
        if key in self.by_key:
            return
        matches = [p for p in self.people if _compatible(p.words, words)]
        if len(matches) == 1:
            person = matches[0]
            # Prefer a spelled-out forename to an initial as the displayed name.
            if len(person.words[0]) == 1 < len(words[0]):
                person.name, person.words = candidate.text, words
        else:
            person = _Person(candidate.text, words)
            self.people.append(person)
        person.keys.add(key)
        self.by_key[key] = person

    def finish(self) -> None:
        """Give every person an actor; index surnames and forenames."""
        self.by_surname: dict[str, list[_Person]] = defaultdict(list)
        self.by_forename: dict[str, list[_Person]] = defaultdict(list)
        for person in self.people:
            known = None
            for key in sorted(person.keys):
                known = self.registry.person_by_key(key)
                if known:
                    break
            if known is None:
                known = self.registry.person(person.name)
            person.actor = known or Actor(slugify(person.name), person.name, "person")
            self.by_surname[person.words[-1]].append(person)
            last = "".join(name_words(person.name.split()[-1]))
            if last != person.words[-1]:  # "Randall-Gay" as one surname
                self.by_surname[last].append(person)
            if len(person.words[0]) > 1:
                self.by_forename[person.words[0]].append(person)

    def single(self, word: str) -> tuple[_Person | None, bool]:
        """(the one person a lone name word means, whether it is ambiguous)."""
        for index in (self.by_surname, self.by_forename):
            found = index.get(word, [])
            if len(found) == 1:
                return found[0], False
            if len(found) > 1:
                return None, True
        return None, False

    def knows(self, candidate: _Candidate) -> bool:
        """Is this name a person of the article (full name or unambiguous part)?"""
        key = "".join(candidate.words)
        if key in self.by_key:
            return True
        if len(candidate.words) == 1:
            word = candidate.words[0]
            return word in self.by_surname or word in self.by_forename
        return False


def _is_full_name(candidate: _Candidate) -> bool:
    """Two written words at least, not only initials before the surname: a
    hyphenated surname alone ("Randall-Gay") is not a full name."""
    words = candidate.text.split()
    return len(words) >= 2 and not all(_is_initial(w) for w in words[:-1])


def _registry_person(candidate: _Candidate, registry: ActorRegistry) -> Actor | None:
    actor = registry.lookup_key(candidate.key)
    if actor and actor.type == "person":
        return actor
    return registry.person(candidate.text) if len(candidate.words) >= 2 else None


# ------------------------------------------------------------------ resolution


def _group_name(text: str) -> str:
    """Singular of a group ("Republicans" -> "Republican"): both are one actor."""
    last = text.split()[-1] if text.split() else text
    if len(last) > 4 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        return text[:-1]
    return text


def _renamed(candidate: _Candidate, text: str) -> _Candidate:
    """The same span looked up under a shorter name (offsets unchanged)."""
    return _Candidate(
        start=candidate.start,
        end=candidate.end,
        start_char=candidate.start_char,
        end_char=candidate.end_char,
        label=candidate.label,
        text=text,
        key=alias_key(text),
        words=name_words(text),
        titled=candidate.titled,
        honorific=candidate.honorific,
    )


def _head_noun(text: str) -> str:
    """The head of an English name: last word before "of" ("Church of Scientology")."""
    before_of = text.split(" of ", 1)[0].split()
    return before_of[-1] if before_of else ""


def _link_short_names(candidates: list[_Candidate]) -> None:
    """ "the Church" -> "Church of Scientology" when it is the one name of the article
    with that head noun. Only definite, single-word, unknown ORG/FAC names: "the
    Senate" is not the "Senate Armed Services Committee" (head "Committee").
    """
    heads: dict[str, dict[str, Actor]] = defaultdict(dict)
    lasts: dict[str, dict[str, Actor]] = defaultdict(dict)
    for c in candidates:
        if c.label in ("ORG", "FAC") and len(c.text.split()) >= 2 and c.actor:
            heads[_head_noun(c.text)][c.actor.actor_id] = c.actor
            lasts[c.text.split()[-1]][c.actor.actor_id] = c.actor
    for c in candidates:
        if not (c.label in ("ORG", "FAC") and " " not in c.text):
            continue
        if c.actor and c.actor.actor_id != slugify(c.text):
            continue  # the registry already knew it
        # "the Church" by its head noun; "Rovers" (for "Ashbourne Rovers") by the
        # last word of a club's or company's name, definite or not.
        found = heads.get(c.text, {}) if c.definite else {}
        if not found and has_organisation_head(f"x {c.text}"):
            found = lasts.get(c.text, {})
        if len(found) == 1:
            c.actor = next(iter(found.values()))


def _resolve_other(candidate: _Candidate, registry: ActorRegistry) -> Actor:
    """A non-person: registry first (countries, demonyms, institutions), else itself."""
    actor = registry.lookup_key(candidate.key)
    if actor is None and candidate.label in _PLACE_LABELS:
        # "the State of Texas" is Texas.
        for prefix in _PLACE_PREFIXES:
            if candidate.key.startswith(prefix) and len(candidate.key) > len(prefix):
                rest = candidate.text.split(None, len(prefix.split()))[-1]
                return _resolve_other(_renamed(candidate, rest), registry)
    if actor is None and candidate.label == "NORP" and candidate.key.endswith("s"):
        actor = registry.lookup_key(candidate.key[:-1])
    if actor is not None and actor.type != "person":
        return actor
    actor_type = TYPE_OF_LABEL.get(candidate.label, "other")
    name = candidate.text
    if candidate.label == "NORP":
        name = _group_name(name)
    return Actor(slugify(name), name, actor_type, "")


def _definitions(doc_text: str, candidates: list[_Candidate]) -> dict[str, Actor]:
    """Acronyms the article defines in parentheses: "Internet Explorer 6 (IE6)"."""
    found: dict[str, Actor] = {}
    for c in candidates:
        if c.label == "PERSON" or c.actor is None or " " not in c.text:
            continue
        acronym = parenthesised_acronym(doc_text, c.end_char)
        if acronym and defines(c.text, acronym[0]):
            found.setdefault(acronym[0].replace(".", ""), c.actor)
    return found


def _unresolved(c: _Candidate) -> bool:
    """Did the candidate get only an id of its own name (no registry, no link)?"""
    return c.actor is None or c.actor.actor_id in (
        slugify(c.text),
        slugify(_group_name(c.text)),
    )


def _link_acronyms(candidates: list[_Candidate], defined: dict[str, Actor]) -> None:
    """KCNA -> Korean Central News Agency: the long form the article defines the
    acronym for, else the one long name of the article with those initials."""
    long_names: dict[str, dict[str, Actor]] = defaultdict(dict)
    for c in candidates:
        if c.label != "PERSON" and len(c.text.split()) >= 2 and c.actor:
            long_names[initials(c.text)][c.actor.actor_id] = c.actor
    for c in candidates:
        text = c.text.replace(".", "")
        if c.label == "PERSON" or not is_acronym(c.text) or not _unresolved(c):
            continue
        if text in defined:
            c.actor = defined[text]
            continue
        found = long_names.get(text, {})
        if len(found) == 1:
            c.actor = next(iter(found.values()))


def _link_name_forms(candidates: list[_Candidate], registry: ActorRegistry) -> None:
    """Short forms of the article's organisation names are those organisations:
    "Scientology" is the "Church of Scientology" written in full elsewhere, "Home
    Office" the "UK Home Office" (see ``organisations.name_forms``). Places are
    never short forms ("Indiana" is not the "University of Indiana")."""

    def is_country(words: str) -> bool:
        actor = registry.lookup(words)
        return actor is not None and actor.type == "place" and actor.country != ""

    forms: dict[str, dict[str, Actor]] = defaultdict(dict)
    for c in candidates:
        if c.label in ("PERSON", "GPE", "LOC") or c.actor is None or " " not in c.text:
            continue
        names = [c.text]
        qualified = without_country(c.text, is_country)
        if qualified:
            names.append(qualified[0])
        for name in names:
            for form in name_forms(name):
                if form != c.key:
                    forms[form][c.actor.actor_id] = c.actor
    if not forms:
        return
    for c in candidates:
        if c.label in ("PERSON", "GPE", "LOC") or not _unresolved(c):
            continue
        for key in name_forms(c.text):
            found = {
                i: a
                for i, a in forms.get(key, {}).items()
                if c.actor is None or i != c.actor.actor_id
            }
            if len(found) == 1:
                c.actor = next(iter(found.values()))
                break


def _national_teams(
    doc: Doc, doc_text: str, candidates: list[_Candidate], registry: ActorRegistry
) -> None:
    """In a sports report, a country written as a name (not "in Australia", not the
    adjective "Australian") is its national team: its own actor, in its country."""
    lower = [t.lower_ for t in doc]
    if not sports_report(doc_text, lower):
        return
    rules = organisation_rules()
    for c in candidates:
        actor = c.actor
        if actor is None or actor.type != "place" or c.label not in ("GPE", "LOC"):
            continue
        nation = actor.actor_id == actor.country or actor.name in rules.sporting_nations
        last = doc[c.end - 1]
        if not nation or last.pos != PROPN:
            continue
        token = doc[c.end - 1]
        if token.dep_ not in _PARTICIPANT_DEPS:
            continue  # "the U.S. crowd", "the US Open": a modifier, not a side
        if token.dep_ == "pobj" and token.head.lower_ in rules.location_prepositions:
            continue  # "in Australia": the place
        name = national_team_name(actor.name)
        c.actor = Actor(slugify(name), name, "organisation", actor.country)
        c.label = "ORG"


def extract_mentions(
    doc: Doc, registry: ActorRegistry, text: str | None = None
) -> list[EntityMention]:
    """The actor mentions of one parsed article, in text order.

    Pure: reads ``doc.ents`` and token attributes only, so it is cheap enough for every
    article and testable without Beam. ``text``, when given, is the text the doc was
    made from.
    """
    doc_text = whole_text(doc, text)
    candidates = []
    for ent in doc.ents:
        if ent.label_ in KEPT_LABELS:
            candidates.extend(_clean(doc, doc_text, ent))
    candidates = _split_compounds(doc, doc_text, candidates, registry)
    candidates = _trim_headline(doc, doc_text, candidates, registry)
    _extend_to_known(doc, candidates)
    _repair_by_form(doc, candidates, registry)

    # Full names first: PERSON, or any label when an honorific or the registry says so.
    people = _People(registry)
    for c in candidates:
        if not _is_full_name(c):
            continue
        known = _registry_person(c, registry)
        if c.label == "PERSON" or c.honorific or known is not None:
            if c.label != "PERSON" and registry.lookup_key(c.key) not in (None, known):
                continue
            c.label = "PERSON"
            people.add(c)
    people.finish()

    # Label repair for everything that is not yet a person.
    for c in candidates:
        if c.label == "PERSON" or c.label not in _REPAIRABLE:
            continue
        known = registry.lookup_key(c.key)
        if known is not None and known.type != "person" and not c.honorific:
            continue
        evidence = (
            c.honorific
            or (known is not None and known.type == "person")
            or ("".join(c.words) in people.by_key)
        )
        if not evidence and people.knows(c):
            # A place the registry does not know that is spelled like a person of
            # the article is that person ("Bolden" tagged GPE); known places were
            # skipped above.
            evidence = True
        if evidence:
            c.label = "PERSON"

    for c in candidates:
        if c.label == "PERSON":
            c.actor = _resolve_person(c, people, registry)
            if c.actor.type != "person":
                c.label = LABEL_OF_TYPE.get(c.actor.type, c.label)
        else:
            if c.label == "NORP" and c.key in _NOT_GROUPS:
                c.actor = None
                continue
            if (
                c.label in _PLACE_LABELS
                and is_acronym(c.text)
                and len(c.key) <= _MAX_PLACE_ACRONYM
                and registry.lookup_key(c.key) is None
            ):
                c.label, c.place_acronym = "ORG", True  # "AI" is not a place
            c.actor = _resolve_other(c, registry)
            if _bare_adjective(doc, c) and _unresolved(c):
                c.actor = None  # "European", "jargon-free": no actor of its own
    candidates = [c for c in candidates if c.actor is not None]
    _drop_out_of_context(doc, candidates, registry)
    candidates = [c for c in candidates if c.actor is not None]
    defined = _definitions(doc_text, candidates)
    _link_acronyms(candidates, defined)
    _link_short_names(candidates)
    _link_name_forms(candidates, registry)
    _national_teams(doc, doc_text, candidates, registry)
    candidates = [
        c
        for c in candidates
        if not (c.place_acronym and _unresolved(c)) and not _generic_head(c)
    ]
    candidates.extend(_untagged(doc, candidates, people, defined))
    candidates.sort(key=lambda c: c.start)

    mentions = []
    for c in candidates:
        actor = c.actor
        assert actor is not None
        mentions.append(
            EntityMention(
                start_char=c.start_char,
                end_char=c.end_char,
                text=doc_text[c.start_char : c.end_char],
                label=c.label,
                actor_id=actor.actor_id,
                actor_name=actor.name,
                actor_type=actor.type,
                country=actor.country,
            )
        )
    return mentions


def _resolve_person(
    candidate: _Candidate, people: _People, registry: ActorRegistry
) -> Actor:
    """A person mention's actor: article full name, then registry, then itself."""
    key = "".join(candidate.words)
    person = people.by_key.get(key)
    if person is not None and person.actor is not None:
        return person.actor
    if len(candidate.words) == 1 or " " not in candidate.text:
        person, ambiguous = people.single("".join(candidate.words))
        if person is not None and person.actor is not None:
            return person.actor
        if not ambiguous:
            known = registry.lookup_key(candidate.key)
            if known is not None:
                return (
                    known  # a person alias ("Trump"), or an institution tagged PERSON
                )
    else:
        # "V. Putin": an initial is not a full name of its own, but matches one.
        matches = [p for p in people.people if _compatible(p.words, candidate.words)]
        if len(matches) == 1 and matches[0].actor is not None:
            return matches[0].actor
        known = registry.lookup_key(candidate.key) or registry.person(candidate.text)
        if known is not None:
            return known
    return Actor(slugify(candidate.text), candidate.text, "person")


def _drop_out_of_context(
    doc: Doc, candidates: list[_Candidate], registry: ActorRegistry
) -> None:
    """A contextual registry actor (a party: "Democrats") holds only where the
    article names its country, or something in it; elsewhere the name is resolved
    as an unknown one, and a bare party adjective is dropped."""
    if not registry.contextual:
        return
    countries = {
        c.actor.country
        for c in candidates
        if c.actor and c.actor.country and c.actor.actor_id not in registry.contextual
    }
    for c in candidates:
        actor = c.actor
        if actor is None or actor.actor_id not in registry.contextual:
            continue
        if actor.country in countries:
            continue
        name = _group_name(c.text) if c.label == "NORP" else c.text
        c.actor = Actor(slugify(name), name, TYPE_OF_LABEL.get(c.label, "other"), "")
        if _bare_adjective(doc, c):
            c.actor = None  # "Democratic", "Republican" as an adjective


def _generic_head(c: _Candidate) -> bool:
    """ "Council", "Commission" alone and linked to no name of the article: a
    description, which would merge every council of every article into one actor."""
    return (
        c.label == "ORG"
        and " " not in c.text
        and _unresolved(c)
        and has_organisation_head(f"x {c.text}")
    )


def _bare_adjective(doc: Doc, c: _Candidate) -> bool:
    """A one-word group name used as an adjective ("European leaders")."""
    return c.label == "NORP" and c.end - c.start == 1 and doc[c.start].pos == ADJ


def _untagged(
    doc: Doc,
    candidates: list[_Candidate],
    people: _People,
    defined: dict[str, Actor] | None = None,
) -> list[_Candidate]:
    """Names of the article's actors that the model left untagged elsewhere.

    Three kinds, all only where no entity is: a surname of exactly one person of the
    article; a one-word name the model tagged elsewhere in the same article ("Hajj");
    an acronym of exactly one longer name of the article ("KSC" for "Kennedy Space
    Center"). The small model tags a name once and misses it later; counts and
    speakers would be lost.
    """
    words_seen: dict[str, tuple[str, Actor]] = {}
    acronyms: dict[str, dict[str, tuple[str, Actor]]] = defaultdict(dict)
    for c in candidates:
        if c.actor is None:
            continue
        if " " not in c.text:
            words_seen.setdefault(c.text, (c.label, c.actor))
        elif c.label != "PERSON":
            acronyms[initials(c.text)][c.actor.actor_id] = (c.label, c.actor)
    for acronym, actor in (defined or {}).items():
        label = "ORG" if actor.type == "organisation" else "GPE"
        acronyms[acronym] = {actor.actor_id: (label, actor)}
    covered = {i for ent in doc.ents for i in range(ent.start, ent.end)}
    covered.update(i for c in candidates for i in range(c.start, c.end))
    found = []
    proper_nouns = [
        i for i, pos in enumerate(doc.to_array("POS").tolist()) if pos == PROPN
    ]
    for i in proper_nouns:  # as arrays: a Token object for every word costs more
        if i in covered:
            continue
        token = doc[i]
        text = token.text
        hit: tuple[str, Actor] | None = None
        if token.is_title:
            neighbours = [
                doc[j] for j in (token.i - 1, token.i + 1) if 0 <= j < len(doc)
            ]
            if any(n.pos_ == "PROPN" and n.is_title for n in neighbours):
                continue  # part of a longer untagged name ("Johnson Space")
            words = name_words(text)
            matches = people.by_surname.get(words[0], []) if len(words) == 1 else []
            if len(matches) == 1 and matches[0].actor is not None:
                hit = ("PERSON", matches[0].actor)
        if hit is None and text in words_seen:
            label, actor = words_seen[text]
            if label != "PERSON" or actor.type != "person":
                hit = words_seen[text]
        if hit is None and text.isupper() and 2 <= len(text) <= 6:
            options = acronyms.get(text, {})
            if len(options) == 1:
                hit = next(iter(options.values()))
        if hit is None:
            continue
        found.append(
            _Candidate(
                start=token.i,
                end=token.i + 1,
                start_char=token.idx,
                end_char=token.idx + len(text),
                label=hit[0],
                text=text,
                key=alias_key(text),
                words=name_words(text),
                titled=False,
                honorific=False,
                actor=hit[1],
            )
        )
    return found


def actor_at(
    mentions: list[EntityMention], start_char: int, end_char: int
) -> EntityMention | None:
    """The mention that covers or overlaps a character span, the largest overlap first.

    Used to map a quote's speaker span to an actor; ``mentions`` are in text order as
    ``extract_mentions`` returns them. Ties go to the earlier mention.
    """
    if not mentions or end_char <= start_char:
        return None
    starts = [m.start_char for m in mentions]
    best, best_overlap = None, 0
    first = max(0, bisect.bisect_right(starts, start_char) - 1)
    # Mentions never overlap each other, so walking back one is enough.
    for mention in mentions[max(0, first - 1) :]:
        if mention.start_char >= end_char:
            break
        overlap = min(end_char, mention.end_char) - max(start_char, mention.start_char)
        if overlap > best_overlap:
            best, best_overlap = mention, overlap
    return best
