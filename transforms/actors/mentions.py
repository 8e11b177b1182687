"""Named-entity mentions of one article, each resolved to an actor.

``extract_mentions(doc, registry)`` reads the entities of an already parsed ``Doc``
(no second parse) and decides, for each, which actor it is about. The decisions are
article-level, because an article is what a reader resolves names against. In order:

1. where the names are (``spans``): titles, "the", lower-case modifiers and
   possessives off; hyphen and possessive compounds of known names split; Title Case
   headline spans cut to names the body knows; short spans grown to the article's
   longer names; labels the name's form contradicts repaired (a club, an acronym in a
   "person", a recurring surname); untagged proper names in a list of names of
   one label take that label;
2. who the people are (``people``): full names merged by spelling, transliteration,
   initials and hypocorism; a lone surname or forename is the one person of the
   article with it, nobody when two share it; the registry's people otherwise;
3. everything else through the registry (countries, demonyms, institutions, parties
   where the article names their country), else its own name; a lower-case word, a
   bare adjective, a generic head word alone ("Council") or an unknown two- or
   three-letter "place" ("AI") gets no actor;
4. the article's organisations joined to their short forms, acronyms (defined in
   parentheses, or initials) and country-qualified forms (``organisations``); a
   country in a sports report becomes its national team;
5. names the model left untagged where no entity is (``untagged``): a name tagged
   elsewhere in the article, one word or several, a surname of exactly one of its
   people, an acronym it defines, a short form of one of its organisations.

Everything not in the registry gets ``slugify`` of its cleaned name as its id, so the
same name gives the same actor in every article; ``across`` is the later, global pass
for surnames, spellings, acronyms and short forms.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass

from newsbeam.transforms.actors.names import alias_key, name_words, slugify
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
from newsbeam.transforms.actors.people import (
    People,
    is_full_name,
    registry_person,
    resolve_person,
)
from newsbeam.transforms.actors.registry import Actor, ActorRegistry
from newsbeam.transforms.actors.spans import (
    Candidate,
    clean_entity,
    conjoined_names,
    extend_to_known,
    repair_by_form,
    split_compounds,
    trim_headline,
)
from newsbeam.transforms.actors.untagged import untagged_mentions
from newsbeam.transforms.columns import reading
from newsbeam.transforms.common import doc_text as whole_text
from spacy.symbols import ADJ, PROPN
from spacy.tokens import Doc

KEPT_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "PRODUCT"}
)
TYPE_OF_LABEL = {
    "PERSON": "person",
    "ORG": "organisation",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "NORP": "group",
    "EVENT": "other",
    "PRODUCT": "other",
}
LABEL_OF_TYPE = {"person": "PERSON", "organisation": "ORG", "place": "GPE"}
# Labels the model confuses with PERSON; GPE and LOC need stronger evidence because a
# place named like a person ("Washington") is common.
_REPAIRABLE = frozenset({"ORG", "NORP", "FAC", "EVENT", "GPE", "LOC"})
_PLACE_LABELS = frozenset({"GPE", "LOC"})
# Where a team stands in a sentence: it beats, is beaten, plays against, ...
_PARTICIPANT_DEPS = frozenset(
    {"nsubj", "nsubjpass", "dobj", "pobj", "conj", "appos", "attr", "ROOT"}
)
_WORD = re.compile(r"[a-z][a-z-]*")
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


# ------------------------------------------------------------------ resolution


def _group_name(text: str) -> str:
    """Singular of a group ("Republicans" -> "Republican"): both are one actor."""
    last = text.split()[-1] if text.split() else text
    if len(last) > 4 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        return text[:-1]
    return text


def _renamed(candidate: Candidate, text: str) -> Candidate:
    """The same span looked up under a shorter name (offsets unchanged)."""
    return Candidate(
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


def _link_short_names(candidates: list[Candidate]) -> None:
    """ "the Church" -> "Church of Scientology" when it is the one name of the article
    with that head noun. Only definite, single-word, unknown ORG/FAC names: "the
    Senate" is not the "Senate Armed Services Committee" (head "Committee"). A
    one-word product is the one longer name of the article that ends in it.
    """
    heads: dict[str, dict[str, Actor]] = defaultdict(dict)
    lasts: dict[str, dict[str, Actor]] = defaultdict(dict)
    named_last: dict[str, dict[str, Actor]] = defaultdict(dict)
    for c in candidates:
        if len(c.text.split()) < 2 or c.actor is None:
            continue
        if c.label in ("ORG", "FAC"):
            heads[_head_noun(c.text)][c.actor.actor_id] = c.actor
            lasts[c.text.split()[-1]][c.actor.actor_id] = c.actor
        if c.label not in _PLACE_LABELS and c.label != "NORP":
            named_last[c.text.split()[-1]][c.actor.actor_id] = c.actor
    for c in candidates:
        if not (c.label in ("ORG", "FAC", "PRODUCT") and " " not in c.text):
            continue
        if c.actor and c.actor.actor_id != slugify(c.text):
            continue  # the registry already knew it
        # "the Church" by its head noun; "Rovers" (for "Ashbourne Rovers") by the
        # last word of a club's or company's name, definite or not; "Atlantis" by
        # the last word of the one longer name ending in it ("Space Shuttle
        # Atlantis"): a product's own name comes last, after its maker or kind.
        found = heads.get(c.text, {}) if c.definite else {}
        if not found and c.label == "PRODUCT":
            found = named_last.get(c.text, {})
        elif not found and has_organisation_head(f"x {c.text}"):
            found = lasts.get(c.text, {})
        if len(found) == 1:
            c.actor = next(iter(found.values()))


def _resolve_other(candidate: Candidate, registry: ActorRegistry) -> Actor:
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


def _definitions(doc_text: str, candidates: list[Candidate]) -> dict[str, Actor]:
    """Acronyms the article defines in parentheses: "Internet Explorer 6 (IE6)"."""
    found: dict[str, Actor] = {}
    for c in candidates:
        if c.label == "PERSON" or c.actor is None or " " not in c.text:
            continue
        acronym = parenthesised_acronym(doc_text, c.end_char)
        if acronym and defines(c.text, acronym[0]):
            found.setdefault(acronym[0].replace(".", ""), c.actor)
    return found


def _unresolved(c: Candidate) -> bool:
    """Did the candidate get only an id of its own name (no registry, no link)?"""
    return c.actor is None or c.actor.actor_id in (
        slugify(c.text),
        slugify(_group_name(c.text)),
    )


def _link_acronyms(candidates: list[Candidate], defined: dict[str, Actor]) -> None:
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


def _link_name_forms(candidates: list[Candidate], registry: ActorRegistry) -> None:
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
    doc: Doc, doc_text: str, candidates: list[Candidate], registry: ActorRegistry
) -> None:
    """In a sports report, a country written as a name (not "in Australia", not the
    adjective "Australian") is its national team: its own actor, in its country."""
    if not any(c.actor and c.actor.type == "place" for c in candidates):
        return
    if not sports_report(doc_text, _WORD.findall(doc_text.lower())):
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
    with reading(doc):  # the rules share one read of the token columns
        return _mentions(doc, registry, whole_text(doc, text))


def _mentions(doc: Doc, registry: ActorRegistry, doc_text: str) -> list[EntityMention]:
    candidates = []
    for ent in doc.ents:
        if ent.label_ in KEPT_LABELS:
            candidates.extend(clean_entity(doc, doc_text, ent))
    candidates.extend(conjoined_names(doc, doc_text, candidates))
    candidates.sort(key=lambda c: c.start)
    candidates = split_compounds(doc, doc_text, candidates, registry)
    candidates = trim_headline(doc, doc_text, candidates, registry)
    extend_to_known(doc, candidates)
    repair_by_form(doc, doc_text, candidates, registry)

    # Full names first: PERSON, or any label when an honorific or the registry says so.
    people = People(registry)
    for c in candidates:
        if not is_full_name(c):
            continue
        known = registry_person(c, registry)
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
            c.actor = resolve_person(c, people, registry)
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
    candidates.extend(untagged_mentions(doc, candidates, people, registry, defined))
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


def _drop_out_of_context(
    doc: Doc, candidates: list[Candidate], registry: ActorRegistry
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


def _generic_head(c: Candidate) -> bool:
    """ "Council", "Commission" alone and linked to no name of the article: a
    description, which would merge every council of every article into one actor."""
    return (
        c.label == "ORG"
        and " " not in c.text
        and _unresolved(c)
        and has_organisation_head(f"x {c.text}")
    )


def _bare_adjective(doc: Doc, c: Candidate) -> bool:
    """A one-word group name used as an adjective ("European leaders")."""
    return c.label == "NORP" and c.end - c.start == 1 and doc[c.start].pos == ADJ


def actor_at(
    mentions: list[EntityMention], start_char: int, end_char: int
) -> EntityMention | None:
    """The mention that covers or overlaps a character span, the largest overlap first.

    Used to map a quote's speaker span to an actor; ``mentions`` are in text order as
    ``extract_mentions`` returns them. Ties go to the earlier mention.
    """
    if not mentions or end_char <= start_char:
        return None
    best, best_overlap = None, 0
    # A key, not a list of every start: this runs once per quote.
    at = bisect.bisect_right(mentions, start_char, key=lambda m: m.start_char)
    first = max(0, at - 1)
    # Mentions never overlap each other, so walking back one is enough.
    for mention in mentions[max(0, first - 1) :]:
        if mention.start_char >= end_char:
            break
        overlap = min(end_char, mention.end_char) - max(start_char, mention.start_char)
        if overlap > best_overlap:
            best, best_overlap = mention, overlap
    return best
