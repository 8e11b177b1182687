"""The people of one article: full names merged by spelling, lone names resolved.

Full names that are spelling variants of each other (transliterations, diacritics,
initials, a hypocorism or clipped forename with the same surname: "Cres Eastman" and
"Creswell Eastman") are one person; a lone surname or forename is the one person of
the article with it, and nobody when two share it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from newsbeam.transforms.actors.names import name_words, same_given_name, slugify
from newsbeam.transforms.actors.registry import Actor, ActorRegistry
from newsbeam.transforms.actors.spans import Candidate


@dataclass(slots=True)
class _Person:
    """A full name of the article and the spelling variants merged into it."""

    name: str
    words: list[str]
    keys: set[str] = field(default_factory=set)
    actor: Actor | None = None


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


class People:
    """The people of one article: full names merged by spelling, indexed by part."""

    def __init__(self, registry: ActorRegistry) -> None:
        self.registry = registry
        self.people: list[_Person] = []
        self.by_key: dict[str, _Person] = {}

    def add(self, candidate: Candidate) -> None:
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

    def knows(self, candidate: Candidate) -> bool:
        """Is this name a person of the article (full name or unambiguous part)?"""
        key = "".join(candidate.words)
        if key in self.by_key:
            return True
        if len(candidate.words) == 1:
            word = candidate.words[0]
            return word in self.by_surname or word in self.by_forename
        return False


def is_full_name(candidate: Candidate) -> bool:
    """Two written words at least, not only initials before the surname: a
    hyphenated surname alone ("Randall-Gay") is not a full name."""
    words = candidate.text.split()
    return len(words) >= 2 and not all(_is_initial(w) for w in words[:-1])


def registry_person(candidate: Candidate, registry: ActorRegistry) -> Actor | None:
    actor = registry.lookup_key(candidate.key)
    if actor and actor.type == "person":
        return actor
    return registry.person(candidate.text) if len(candidate.words) >= 2 else None


def resolve_person(
    candidate: Candidate, people: People, registry: ActorRegistry
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
