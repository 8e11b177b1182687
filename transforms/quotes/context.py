"""One article's parse, with the look-ups the rules make more than once."""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

import numpy as np
from newsbeam.transforms.quotes.cues import is_cue_verb
from newsbeam.transforms.quotes.lexicon import (
    CUE_NOUNS,
    FRAMING_PREPOSITIONS,
    GENDERED_WORDS,
    GENERIC_ORG_NOUNS,
    GIVEN_NAMES,
    NO_SPAN,
    ROLE_NOUNS,
    SPEAKER_DEPS,
    SPEECH_VERBS,
    TITLE_WORDS,
)
from newsbeam.transforms.quotes.marks import paragraph_spans
from spacy.strings import get_string_id, hash_string
from spacy.symbols import AUX, IDS, NOUN, PROPN, VERB
from spacy.tokens import Doc, Span, Token

if TYPE_CHECKING:
    from newsbeam.transforms.quotes.speakers import Speaker


CUE_POS = np.array([VERB, AUX], dtype=np.uint64)  # a cue verb has one of these, or
CUE_TAGS = np.array([hash_string(t) for t in ("VBD", "VBZ", "VBG")], dtype=np.uint64)
SOURCE_WORDS = np.array(
    [
        hash_string(w)
        for w in ("according", "words", *CUE_NOUNS, *(n + "s" for n in CUE_NOUNS))
    ],
    dtype=np.uint64,
)


# Dependency labels are symbols: their ids are small numbers, not string hashes.
_SUBJECT_DEPS = np.array([IDS[d] for d in SPEAKER_DEPS], dtype=np.uint64)
_JOINING_DEPS = [get_string_id(d) for d in ("advcl", "conj")]
_ACCORDING = hash_string("according")
_FRAMING_HASHES = frozenset(
    hash_string(w) for w in (*FRAMING_PREPOSITIONS, "amid", "amidst")
)
_ROLE_HASHES = frozenset(hash_string(w) for w in ROLE_NOUNS)
_DASHES = [get_string_id(d) for d in ("-", "—", "–")]
_SEMICOLON = get_string_id(";")
_FULL_STOPS = [get_string_id(d) for d in (".", "!", "?")]
_SOURCE_WORD_SET = frozenset(SOURCE_WORDS.tolist())


class Context:
    """Everything about one Doc that the rules look up more than once."""

    def __init__(self, doc: Doc, text: str) -> None:
        self.doc = doc
        self.text = text
        self.paragraphs = paragraph_spans(self.text)
        self.paragraph_ends = [end for _start, end in self.paragraphs]
        self.quoted = [False] * len(doc)  # token inside a direct quote
        # The rules scan every token for a few kinds of word; reading attributes
        # as arrays spares a Token object per look, which costs more than the look
        # (and the hashes stay in NumPy: a list of 64-bit ints is slow to build).
        attributes = ["IDX", "POS", "TAG", "LOWER", "LEMMA", "DEP", "SENT_START"]
        attributes += ["HEAD", "SPACY"]
        idx, pos, tag, lower, lemma, dep, sent_start, head, spaced = doc.to_array(
            attributes
        ).T
        self._lower, self._pos, self._dep = lower, pos, dep  # for the gender votes
        self.token_starts = idx.tolist()
        # Each token's head as an index (HEAD is an offset, stored unsigned).
        self.heads = (np.arange(len(doc)) + head.astype(np.int64)).tolist()
        self.proper_nouns = np.flatnonzero(pos == PROPN).tolist()
        # Sentences and subjects as indices: Token.sent walks the sentence and a
        # Token per word costs more than the rules' look at it.
        self.sentence_starts = np.flatnonzero(sent_start == 1).tolist()
        self.subjects = np.flatnonzero(
            (dep == _SUBJECT_DEPS[0]) | (dep == _SUBJECT_DEPS[1])
        ).tolist()
        # Where a cue or "according to" may be: a speech verb (``is_cue_verb``'s
        # look-up, on the lemma), a cue noun, or "according"; any other token is
        # neither cue nor source, and a Token made for it would be wasted.
        verbal = (pos == VERB) | (pos == AUX)
        for tag_hash in CUE_TAGS:
            verbal |= tag == tag_hash
        nominal = (pos == NOUN) | (pos == PROPN)
        kinds = _lemma_kinds(doc, lemma, verbal | nominal)
        candidates = (verbal & (kinds & _SPEECH > 0)) | (lower == _ACCORDING)
        for i in np.flatnonzero((pos == NOUN) & (kinds & _CUE_NOUN > 0)).tolist():
            candidates[i] |= verbal[i] or int(lower[i]) in _SOURCE_WORD_SET
        self.cue_candidates = np.flatnonzero(candidates).tolist()
        # Role words ("minister", "spokesman") by index, with their lemma.
        roles = np.flatnonzero(nominal & (kinds & _ROLE > 0))
        strings = doc.vocab.strings
        self.role_words = {
            i: strings[h].lower()
            for i, h in zip(roles.tolist(), lemma[roles].tolist(), strict=True)
        }
        # What ends a reported clause (``indirect.clause_span``): a semicolon or a
        # dash with a space after it, a paragraph break; where a report may nest.
        dashes = (lower == _DASHES[0]) | (lower == _DASHES[1]) | (lower == _DASHES[2])
        spaced_dashes = dashes & (spaced == 1)
        self.spaced_dashes = set(np.flatnonzero(spaced_dashes).tolist())
        self.clause_stops = set(
            np.flatnonzero(
                spaced_dashes | ((lower == _SEMICOLON) & (spaced == 1))
            ).tolist()
        )
        self.paragraph_breaks = set()  # tokens holding a blank line
        at = self.text.find("\n\n")
        while at >= 0:
            i = bisect_right(self.token_starts, at) - 1
            if i >= 0 and "\n\n" in doc[i].text:
                self.paragraph_breaks.add(i)
            at = self.text.find("\n\n", at + 1)
        # A blank line ends a sentence, which the parser does not know: a pronoun
        # opening a paragraph looks back at the previous paragraph's last sentence,
        # not at the subject of a sentence the parser ran across the break.
        after_breaks = {i + 1 for i in self.paragraph_breaks if i + 1 < len(doc)}
        self.sentence_starts = sorted(after_breaks.union(self.sentence_starts))
        # Role words as written and prepositions that may frame a report ("in",
        # "amid"), in one pass: np.isin sorts, which costs more for a few words.
        self.role_lowers: list[int] = []
        self.framing: set[int] = set()
        for i, h in enumerate(lower.tolist()):
            if h in _ROLE_HASHES:
                self.role_lowers.append(i)
            elif h in _FRAMING_HASHES:
                self.framing.add(i)
        self.clauses_joined = set(  # advcl and conj: where a report may nest
            np.flatnonzero(
                (dep == _JOINING_DEPS[0]) | (dep == _JOINING_DEPS[1])
            ).tolist()
        )
        # Where a cue's window around a quote stops: a sentence end before a quote,
        # a sentence end or a semicolon after it (``direct``).
        ends = (lower == _FULL_STOPS[0]) | (lower == _FULL_STOPS[1])
        ends |= lower == _FULL_STOPS[2]
        self.sentence_ends = np.flatnonzero(ends).tolist()
        self.clause_ends = np.flatnonzero(ends | (lower == _SEMICOLON)).tolist()
        self.phrases: dict[int, tuple[int, int]] = {}  # noun phrases, by head
        self.sentence_subjects: dict[int, list[Token]] = {}  # by sentence start
        self._quote_indices: dict[tuple[tuple[int, int], ...], list[int]] = {}
        self.ents = doc.ents  # a new tuple of Spans on every access: read it once
        self.ents_by_token: dict[int, Span] = {}
        for ent in self.ents:
            for i in range(ent.start, ent.end):
                self.ents_by_token[i] = ent
        self.headline_end = self.paragraphs[0][1] if self.paragraphs else 0
        self.roles = self._role_introductions()
        # The common nouns the article itself puts before a name as a title
        # ("archbishop Jorge Scheinig"): "the archbishop" later is that person,
        # listed role or not. (Appositions describe more than they title: "a
        # local man" names no office.)
        self.introduced_roles = {
            child.lower_
            for ent in self.ents
            if ent.label_ == "PERSON"
            for child in ent.root.children
            if child.dep_ == "compound" and child.i < ent.start and child.pos == NOUN
        }
        self.resolving: set[int] = set()  # guards pronoun chains against cycles
        self.speakers: list[tuple[int, Speaker]] = []  # resolved quote speakers
        self.documents: dict[str, tuple[int, int]] = {}  # "report" -> its owner
        self._genders: dict[str, str] | None = None  # person key -> "m" / "f"
        self._full_names: dict[str, tuple[int, int]] | None = None  # word -> name

    # -- positions

    def paragraph_of(self, char: int) -> int:
        """The paragraph holding ``char``; a character between two is the earlier's."""
        number = min(bisect_right(self.paragraph_ends, char), len(self.paragraphs) - 1)
        if number <= 0:
            return 0
        return number if char >= self.paragraphs[number][0] else number - 1

    def token_range(self, start: int, end: int) -> range:
        """Indices of the tokens that start at or after ``start`` and before ``end``."""
        first = bisect_left(self.token_starts, start)
        return range(first, bisect_left(self.token_starts, end, first))

    def tokens_between(self, start: int, end: int) -> list[Token]:
        """The tokens that start at or after ``start`` and before ``end``."""
        span = self.token_range(start, end)
        return list(self.doc[span.start : span.stop])

    def indices_in(self, parts: list[tuple[int, int]]) -> list[int]:
        """The token indices of a quote's parts, found once per quote (the rules
        read them several times). The list is shared: callers must not change it."""
        key = tuple(parts)
        indices = self._quote_indices.get(key)
        if indices is None:
            indices = [i for a, b in parts for i in self.token_range(a, b)]
            self._quote_indices[key] = indices
        return indices

    def sentence_of(self, i: int) -> tuple[int, int]:
        """The token range of the sentence holding token ``i`` (as ``Token.sent``)."""
        starts = self.sentence_starts
        at = bisect_right(starts, i)
        start = starts[at - 1] if at > 0 else 0
        end = starts[at] if at < len(starts) else len(self.doc)
        return start, end

    def subjects_between(self, start: int, end: int) -> list[int]:
        """Indices of the subjects (nsubj, nsubjpass) among tokens start..end-1."""
        first = bisect_left(self.subjects, start)
        return self.subjects[first : bisect_left(self.subjects, end, first)]

    def clip(self, span: tuple[int, int], anchor: int) -> tuple[int, int]:
        """Keep a span inside the paragraph of ``anchor``: the parser does not know
        that a blank line ends a sentence, so phrases can leak across it."""
        p_start, p_end = self.paragraphs[self.paragraph_of(anchor)]
        return max(span[0], p_start), min(span[1], p_end)

    # -- roles

    def _role_introductions(self) -> list[tuple[int, str, tuple[int, int]]]:
        """Where a person is introduced with a role: "Foreign Secretary Boris
        Johnson", "Johnson, the foreign secretary", "the prosecutor, Mark Tedeschi".
        """
        found = []
        for ent in self.ents:
            if ent.label_ != "PERSON":
                continue
            span = (ent.start_char, ent.end_char)
            root = ent.root
            for child in root.children:
                if child.dep_ == "compound" and child.i < ent.start:
                    found.append((ent.start_char, child.text.lower(), span))
                elif child.dep_ == "appos":
                    found.append((ent.start_char, child.text.lower(), span))
                    for grand in child.children:
                        if grand.dep_ == "compound":
                            found.append((ent.start_char, grand.text.lower(), span))
            if root.dep_ == "appos" and root.head.pos_ in ("NOUN", "PROPN"):
                found.append((ent.start_char, root.head.text.lower(), span))
            for role in _copular_roles(root):
                found.append((ent.start_char, role.text.lower(), span))
        # "Finance Minister Ana Torres" where the NER missed the name or took the
        # title into it, whatever label it gave ("Mayor Giulia Ricci" as a work of
        # art): a run of proper nouns whose words after the role word are the
        # person. A PERSON that starts after its title was found above. Only the
        # heads of role words can head such a run.
        heads = {self.heads[r] for r in self.role_lowers if self.heads[r] > r}
        for i in sorted(heads.intersection(self.proper_nouns)):
            token = self.doc[i]
            ent = self.ents_by_token.get(i)
            titled = ent is not None and self.doc[ent.start].lower_ in ROLE_NOUNS
            if token.dep_ == "compound" or (
                ent is not None and ent.label_ == "PERSON" and not titled
            ):
                continue
            run = [t for t in token.lefts if t.dep_ == "compound"] + [token]
            words = [t.lower_ for t in run]
            roles = [i for i, w in enumerate(words) if w in ROLE_NOUNS]
            if roles and roles[-1] < len(run) - 1:
                name = run[roles[-1] + 1 :]
                span = (name[0].idx, name[-1].idx + len(name[-1]))
                found.append((span[0], words[roles[-1]], span))
        found.sort()
        return found

    def role_holder(
        self, word: str, before: int, forward: bool = False
    ) -> tuple[int, int]:
        """The latest person introduced with this role before ``before``; failing
        that and if ``forward``, the first one after it ("The mayor has promised
        ... Mayor Giulia Ricci said")."""
        best = NO_SPAN
        for char, role, span in self.roles:
            if role == word and char < before:
                best = span
            elif role == word and best == NO_SPAN and forward:
                return span
        return best

    def named_org(self, noun: str, token: Token) -> tuple[int, int] | None:
        """The organisation a generic noun stands for: an earlier ORG whose name
        contains the noun ("the commission"), else the latest ORG that was the
        subject of a sentence ("Brightloop said ... The company said")."""
        if noun not in GENERIC_ORG_NOUNS:
            return None
        by_name = by_role = latest = None
        for ent in self.ents:
            if ent.end > token.i or ent.start_char < self.headline_end:
                continue
            spoke = ent.root.dep_ in SPEAKER_DEPS and is_cue_verb(ent.root.head)
            if ent.label_ != "ORG" and not (spoke and ent.label_ in ("GPE", "NORP")):
                continue  # "Brightloop said" even when tagged as a place
            latest = (ent.start_char, ent.end_char)
            if noun in ent.text.lower():
                by_name = latest
            elif spoke or SPEAKER_DEPS & {ent.root.dep_, ent.root.head.dep_}:
                by_role = latest
        return by_name or by_role or latest

    def headline_person(self) -> tuple[int, int]:
        """The person the headline is about: its subject, or its first PERSON."""
        for ent in self.ents:
            if ent.start_char >= self.headline_end:
                break
            if ent.label_ == "PERSON":
                return ent.start_char, ent.end_char
        return NO_SPAN

    def full_name(self, span: tuple[int, int]) -> tuple[int, int]:
        """The full name a one-word name stands for: "Thomas" is "Thomas Sam" when
        no other person the article names has that word in their name ("Sam"
        beside "Manju Sam" stays as it is). The first mention of the full name
        is returned."""
        words = self.text[span[0] : span[1]].split()
        if len(words) != 1:
            return span
        if self._full_names is None:
            self._full_names = self._name_words()
        return self._full_names.get(person_key(words[0]), span)

    def _token_text(self, i: int) -> tuple[int, str]:
        """Where token ``i`` starts and its text, without making the Token."""
        start = self.token_starts[i]
        end = self.token_starts[i + 1] if i + 1 < len(self.token_starts) else None
        return start, self.text[start:end].rstrip()

    def _name_words(self) -> dict[str, tuple[int, int]]:
        names: dict[str, dict[str, tuple[int, int]]] = {}  # word -> name -> span
        for ent in self.ents:
            if ent.label_ != "PERSON" or len(ent) < 2:
                continue  # one word is no full name
            # The name's words as (start, text), read on the text: a Token per
            # word costs more. Initials and titles ("J.", "Mr.") are no part of it.
            words = [
                (start, word)
                for start, word in map(self._token_text, range(ent.start, ent.end))
                if word.isalpha() or "'" in word or "’" in word
            ]
            while words and words[0][1].lower() in TITLE_WORDS:
                words = words[1:]
            if len(words) < 2 or not all(w[:1].isupper() for _s, w in words):
                continue
            name = " ".join(person_key(w) for _s, w in words)
            span = (words[0][0], words[-1][0] + len(words[-1][1]))
            for _start, word in words:
                names.setdefault(person_key(word), {}).setdefault(name, span)
        return {
            word: next(iter(found.values()))
            for word, found in names.items()
            if len(found) == 1
        }

    # -- gender, from the article's own words

    def _gendered_pronouns(self) -> list[tuple[int, str]]:
        """The subject and possessive pronouns that tell a gender, as (index, "m"
        or "f"). An object pronoun is left out: it is someone other than its own
        clause's subject ("Osei, who had criticised her": her is not Osei)."""
        lower, dep = self._lower, self._dep
        kept = np.zeros(len(lower), dtype=bool)  # comparisons: np.isin sorts
        for word in _PRONOUN_HASHES:
            kept |= lower == word
        role = np.zeros(len(lower), dtype=bool)
        for label in _VOTING_DEPS:
            role |= dep == label
        kept &= role
        return [
            (i, _PRONOUN_GENDERS[int(self._lower[i])])
            for i in np.flatnonzero(kept).tolist()
        ]

    def gender_of(self, span: tuple[int, int]) -> str:
        """ "m", "f" or "" for the person named at ``span``, as the article itself
        tells it: titles and gendered role words next to the name ("Ms Whitcombe",
        "spokeswoman Maria Zakharova") and the pronouns that follow the person's
        mentions ("Osei said his party ...")."""
        if self._genders is None:
            self._genders = self._gender_votes()
        told = self._genders.get(person_key(self.text[span[0] : span[1]]), "")
        return told or self._given_name_gender(span)

    def _given_name_gender(self, span: tuple[int, int]) -> str:
        """The gender of the person's given name ("Maria Okafor", or "Okafor" whom
        the article names in full) when it nearly always names one (``GIVEN_NAMES``);
        a name of one word may be a surname, so it tells nothing."""
        words = self.text[slice(*self.full_name(span))].split()
        while words and words[0].lower().rstrip(".") in TITLE_WORDS:
            words = words[1:]
        if len(words) < 2:
            return ""
        given = unicodedata.normalize("NFKD", words[0].lower())
        return GIVEN_NAMES.get("".join(c for c in given if c.isascii()), "")

    def note_gender(self, span: tuple[int, int], gender: str) -> None:
        """Remember the gender a resolved pronoun showed for a person whose gender
        the article did not tell otherwise: after "She said ..." was resolved to
        Anna Vik, a later "he" is not her."""
        if self._genders is None:
            self._genders = self._gender_votes()
        self._genders.setdefault(person_key(self.text[span[0] : span[1]]), gender)

    def _gender_votes(self) -> dict[str, str]:
        votes: dict[str, list[float]] = {}

        def vote(key: str, gender: str, weight: float) -> None:
            tally = votes.setdefault(key, [0.0, 0.0])
            tally[gender == "f"] += weight

        persons = [e for e in self.ents if e.label_ == "PERSON"]
        starts = [e.start for e in persons]  # in text order, as ents are
        for ent in persons:
            key = person_key(ent.text)
            for token in self.doc[max(0, ent.start - 3) : ent.end]:
                gender = GENDERED_WORDS.get(token.lower_.rstrip("."), "")
                if gender:
                    vote(key, gender, 3.0)
        for _char, role, span in self.roles:
            gender = GENDERED_WORDS.get(role.rstrip("."), "")
            if gender:
                vote(person_key(self.text[span[0] : span[1]]), gender, 3.0)
        # A pronoun votes only for the one person named before it in its own
        # sentence ("Lena Ivers said her team ..."): a "she" after a name in a later
        # sentence is as often about someone named earlier, and letting such chains
        # vote lowered speaker accuracy on the tune part.
        for i, gender in self._gendered_pronouns():
            if self.quoted[i]:
                continue  # a quote's "he" is the speaker's subject, not the speaker
            start = self.sentence_of(i)[0]
            before = persons[bisect_left(starts, start) : bisect_left(starts, i)]
            named = {person_key(e.text) for e in before}
            if len(named) == 1:
                vote(named.pop(), gender, 1.0)
        return {
            key: ("f" if f > m else "m")
            for key, (m, f) in votes.items()
            if max(m, f) >= 2 * min(m, f) and max(m, f) >= 1.0
        }


_PRONOUN_GENDERS = {
    hash_string(word): gender
    for word, gender in GENDERED_WORDS.items()
    if word in ("he", "him", "his", "himself", "she", "her", "hers", "herself")
}
_PRONOUN_HASHES = np.array(list(_PRONOUN_GENDERS), dtype=np.uint64)
_VOTING_DEPS = np.array([IDS[d] for d in ("nsubj", "nsubjpass", "poss")], np.uint64)


def _copular_roles(name: Token) -> list[Token]:
    """The nouns a copula makes a name's role: "Walls is the judge in the case",
    "Ortiz became the club's manager", "Ortiz, who is the manager"."""
    verbs = [name.head] if name.dep_ == "nsubj" else []
    verbs += [
        c
        for c in name.children
        if c.dep_ == "relcl"
        and any(g.dep_ == "nsubj" and g.lower_ == "who" for g in c.children)
    ]
    return [
        attr
        for verb in verbs
        if verb.lemma_.lower() in ("be", "become", "remain")
        for attr in verb.children
        if attr.dep_ == "attr" and attr.pos_ == "NOUN"
    ]


# What a lemma is to the rules, as bits: a speech verb, a cue noun, a role noun.
_SPEECH, _CUE_NOUN, _ROLE = 1, 2, 4
_KINDS: dict[int, int] = {}  # lemma hash -> its bits, kept across documents
_KINDS_KEPT = 200_000  # a bound on that memo (a news vocabulary stays well below)


def _lemma_kinds(doc: Doc, lemma: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The lemma bits of the ``wanted`` tokens (0 elsewhere). The rules compare
    lemmas lower-cased (the model's keep capitals: "Say" at a sentence start); a
    hash names the same string in every vocab, so each lemma is looked up once per
    process, not once per document."""
    if len(_KINDS) > _KINDS_KEPT:
        _KINDS.clear()
    strings = doc.vocab.strings
    chosen = np.flatnonzero(wanted)
    found = []
    for h in lemma[chosen].tolist():
        kind = _KINDS.get(h)
        if kind is None:
            word = strings[h].lower()
            kind = (
                _SPEECH * (word in SPEECH_VERBS)
                | _CUE_NOUN * (word in CUE_NOUNS)
                | _ROLE * (word in ROLE_NOUNS)
            )
            _KINDS[h] = kind
        found.append(kind)
    kinds = np.zeros(len(lemma), dtype=np.uint8)
    kinds[chosen] = found
    return kinds


def person_key(name: str) -> str:
    """A person's surname as the key their mentions share ("Whitcombe")."""
    words = name.replace("’", "'").split()
    if not words:
        return ""
    last = words[-1].lower()
    return last[:-2] if last.endswith("'s") else last
