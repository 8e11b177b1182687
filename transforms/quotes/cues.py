"""Cues: speech verbs and "according to", and the subject each one gives a quote.

Subjects are found through the constructions news uses around speech verbs ("was
quoted as saying", "joking that", "and added"), and kept inside the cue's paragraph:
headlines carry no full stop, so the parser often runs the headline into the first
sentence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsbeam.transforms.quotes.lexicon import (
    NON_SPEAKER_LABELS,
    RELATIVE_PRONOUNS,
    SPEAKER_DEPS,
    SPEECH_VERBS,
    WEAK_VERBS,
)
from spacy.tokens import Token

if TYPE_CHECKING:
    from newsbeam.transforms.quotes.context import Context


def is_cue_verb(token: Token) -> bool:
    if token.pos_ not in ("VERB", "AUX") and token.tag_ not in ("VBD", "VBZ", "VBG"):
        return False
    lemma = token.lemma_.lower()
    if lemma == "point":
        return any(c.dep_ == "prt" and c.lower_ == "out" for c in token.children)
    return lemma in SPEECH_VERBS


def cue_subject(token: Token, quoted: list[bool] | None = None) -> Token | None:
    """The speaker of a cue verb: its subject, found through the constructions news
    uses around speech verbs ("was quoted as saying", "joking that", "and added")."""
    current = token
    for _ in range(6):
        passive = any(c.dep_ in ("nsubjpass", "auxpass") for c in current.children)
        if passive and current.lemma_.lower() not in ("quote", "report", "cite"):
            for child in current.children:
                if child.dep_ == "agent":
                    for grand in child.children:
                        if grand.dep_ == "pobj":
                            return grand
            if current.lemma_.lower() in SPEECH_VERBS:
                return None  # "has been told": the subject is the listener
        subjects = [
            child
            for child in current.children
            if not (quoted is not None and quoted[child.i])  # what was said
            and not (child.is_punct or child.is_space)  # a mark taken for one
            and child.dep_ in SPEAKER_DEPS
            and child.lower_ != "there"
        ]
        if len(subjects) > 1:  # "WHO director-general Tedros said", with "WHO"
            # read as a pronoun and a second subject: a name or noun goes first
            subjects.sort(key=lambda child: child.pos_ == "PRON")
        for child in subjects[:1]:
            if child.lower_ in RELATIVE_PRONOUNS and current.dep_ == "relcl":
                return current.head
            return child
        if current.dep_ == "acl" and current.head.pos_ in ("NOUN", "PROPN"):
            return current.head  # "officials saying that ..."
        if current.dep_ in ("ROOT",) or (
            quoted is not None and quoted[current.head.i] and current.dep_ != "conj"
        ):
            # "said KCNA": parsers sometimes attach an inverted subject as object.
            for child in current.rights:
                if (
                    child.dep_ in ("dobj", "npadvmod", "attr", "dative", "appos")
                    and (child.pos_ == "PROPN" or child.ent_type_)
                    and child.ent_type_ not in NON_SPEAKER_LABELS
                ):
                    return child
            doc = current.doc
            for index in range(current.i + 1, min(len(doc), current.i + 4)):
                if doc[index].ent_type_ in NON_SPEAKER_LABELS:
                    continue  # "told reporters on Tuesday": a date never speaks
                if doc[index].ent_type_ == "PERSON" or doc[index].pos_ == "PROPN":
                    return doc[index]  # "..., said Aminata Sow, an economist"
            # "Speaking for the parents, Tom Molomby, SC, said": a misattached
            # name before the verb, back to the sentence start; not one inside a
            # clause of its own ("Taylor, who has said he supports Trump, said").
            doc = current.doc
            first = current.i
            for index in range(current.i - 1, max(-1, current.i - 30), -1):
                if doc[index].text in (".", "!", "?") or "\n" in doc[index].text:
                    break
                first = index
            for index in range(current.i - 1, first - 1, -1):
                token = doc[index]
                if token.ent_type_ != "PERSON" or token.dep_ == "compound":
                    continue
                if not _in_clause_between(token, first, current.i):
                    return token
            return None
        if current.dep_ not in (
            "conj", "advcl", "xcomp", "pcomp", "prep", "ccomp", "acl", "parataxis",
            "relcl", "dep",
        ):  # fmt: skip
            return None
        head = current.head
        if (
            current.dep_ == "conj"
            and is_cue_verb(current)
            and head.dep_ in ("ccomp", "xcomp")
            and is_cue_verb(head.head)
        ):
            # "They claimed Paris was a volunteer and claim she ...": the parser hung
            # the second report on the first one's content; its speaker is the
            # first report's, not the content's subject.
            head = head.head
        current = head
    return None


def _in_clause_between(token: Token, first: int, last: int) -> bool:
    """Whether ``token`` is an argument (subject, object) in a relative or
    complement clause whose verb lies between ``first`` and ``last``: the name is
    that clause's ("who has said he supports Trump"), not the sentence's. An
    apposition or a loose noun phrase is how the parser misattaches the speaker
    ("Speaking for the parents, Tom Molomby", "its chief executive, Alex Cobham"),
    wherever it hangs."""
    if token.dep_ not in ("nsubj", "nsubjpass", "dobj", "dative", "pobj", "attr"):
        return False
    current = token
    for _ in range(12):
        if current.dep_ in ("relcl", "ccomp", "xcomp", "acl"):
            return True
        head = current.head
        if head.i == current.i or not first <= head.i < last:
            return False
        current = head
    return False


def speaker_of(ctx: Context, verb: Token) -> Token | None:
    """The cue's subject, kept inside the verb's paragraph.

    Headlines have no final full stop, so the parser often runs the headline into
    the first sentence and hands the verb a subject from the headline; the part of
    that phrase that lies in the verb's own paragraph is the real subject.
    """
    subject = cue_subject(verb, ctx.quoted)
    if subject is None:
        return None
    return repair_subject(ctx, subject, verb)


def repair_subject(ctx: Context, subject: Token, verb: Token) -> Token | None:
    """The part of a subject that lies in the verb's paragraph (see speaker_of)."""
    paragraph = ctx.paragraph_of(verb.idx)
    if ctx.paragraph_of(subject.idx) == paragraph:
        return subject
    p_start, p_end = ctx.paragraphs[paragraph]
    for child in verb.children:  # a second subject: "..., said Maria Okafor"
        in_paragraph = p_start <= child.idx < p_end
        if child.dep_ in SPEAKER_DEPS and in_paragraph and not ctx.quoted[child.i]:
            return child
    nominal = ("NOUN", "PROPN", "PRON")
    for token in subject.subtree:
        inside = p_start <= token.idx < p_end
        head_inside = p_start <= token.head.idx < p_end and token.head.i != token.i
        if inside and not head_inside and token.pos_ in nominal:
            return token
    for token in verb.lefts:  # "Paul Dewar said" hung under a headline noun
        if p_start <= token.idx and token.pos_ in nominal and not ctx.quoted[token.i]:
            return token
    # "The ousted Catalan president, Carles Puigdemont, has admitted ...": the
    # parser hung the whole paragraph on the headline; the first phrase of the
    # paragraph that hangs outside it is the subject, or when that is a verb
    # ("Campaign group launches an index and warns ..."), the verb's subject.
    for token in ctx.tokens_between(p_start, verb.idx):
        head_inside = p_start <= token.head.idx < p_end and token.head.i != token.i
        if head_inside or ctx.quoted[token.i]:
            continue
        if token.pos_ in nominal:
            return token
        if token.pos_ in ("VERB", "AUX"):
            return next(
                (
                    c
                    for c in token.children
                    if c.dep_ in SPEAKER_DEPS and p_start <= c.idx < token.idx
                ),
                None,
            )
    return None


def according_to(token: Token) -> Token | None:
    """The source of "according to X" / "in the words of X", if ``token`` starts one."""
    lower = token.lower_
    if lower == "according":
        nxt = token.nbor(1) if token.i + 1 < len(token.doc) else None
        for prep in (*token.children, nxt):
            if prep is None or prep.lower_ != "to":
                continue
            objects = [g for g in prep.children if g.dep_ == "pobj"]
            # "according to curator Elaine Gustafon" can come out as two objects.
            named = [g for g in objects if g.ent_type_ == "PERSON"]
            if named or objects:
                return (named or objects)[0]
    if lower == "words" and token.i > 0 and token.nbor(-1).lower_ in ("the", "in"):
        for child in token.children:
            if child.lower_ == "of":
                for grand in child.children:
                    if grand.dep_ == "pobj":
                        return grand
    return None


@dataclass(slots=True)
class Cue:
    cue: str
    subject: Token | None
    rule: str
    anchor: int  # character offset of the cue word, for ordering
    parts: tuple[tuple[int, int], ...] = ()  # the content's pieces around the cue


def find_cue(tokens: Iterable[Token], ctx: Context, rule: str) -> Cue | None:
    """The first speech cue among ``tokens`` (in the given order) outside quotes."""
    for token in tokens:
        if ctx.quoted[token.i]:
            continue
        source = according_to(token)
        if source is not None:
            phrase = (
                "according to" if token.lower_ == "according" else "in the words of"
            )
            return Cue(phrase, source, rule, token.idx)
        if is_cue_verb(token) and token.lemma_.lower() not in WEAK_VERBS:
            subject = speaker_of(ctx, token)
            return Cue(token.lemma_.lower(), subject, rule, token.idx)
    return None
