"""Whom a pronoun stands for: he, she, it and they resolved to a named mention.

The candidates are the subjects of the pronoun's sentence and of the sentences
before it, then the latest quote's speaker; each must agree in person, number and
gender (as the article itself tells it) with the pronoun. Resolving a candidate is
the speakers module's work, passed in as ``resolve``: the two recurse into each
other ("his office said": whose office is "his"?).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from newsbeam.transforms.quotes.context import Context, person_key
from newsbeam.transforms.quotes.cues import is_cue_verb, repair_subject
from newsbeam.transforms.quotes.lexicon import (
    FIRST_PERSON,
    GENDERED_WORDS,
    GENERIC_ORG_NOUNS,
    GROUP_NOUNS,
    NAMED_LABELS,
    NO_SPAN,
    ORG_NOUNS,
    PERSON_PRONOUNS,
    RELATIVE_PRONOUNS,
)
from spacy.tokens import Span, Token

if TYPE_CHECKING:
    from newsbeam.transforms.quotes.speakers import Speaker

Resolver = Callable[[Context, Token, int], "Speaker"]


def entity_in(ctx: Context, start: int, end: int) -> Span | None:
    """The best named mention inside a character span: a person before anything."""
    best = None
    for i in ctx.token_range(start, end):
        ent = ctx.ents_by_token.get(i)
        if ent is None or ent.label_ not in NAMED_LABELS:
            continue
        if ent.label_ == "PERSON":
            return ent
        best = best or ent
    return best


def _named_in_quote(ctx: Context, sentence: int, span: tuple[int, int]) -> bool:
    """Whether the person at ``span`` is named inside a quotation of the sentence
    starting at token ``sentence``: speakers do not name themselves in their own
    words, so the quote's speaker is someone else."""
    key = person_key(ctx.text[span[0] : span[1]])
    end = ctx.sentence_of(sentence)[1]
    return any(
        ctx.quoted[i] and person_key(ent.text) == key
        for i in range(sentence, end)
        if (ent := ctx.ents_by_token.get(i)) is not None and ent.label_ == "PERSON"
    )


def _reported(token: Token) -> bool:
    """A subject inside what a speech verb reports: "Zelensky" in "He said
    Zelensky is honest; ..., he added", where the second "he" is the first
    one's speaker again, not the man spoken about."""
    verb = token.head
    return verb.dep_ == "ccomp" and is_cue_verb(verb.head)


def _plural(token: Token) -> bool:
    """A plural noun phrase: a plural noun, or nouns joined by "and"."""
    if token.tag_ in ("NNS", "NNPS") or token.lower_ in ("they", "them", "we"):
        return True
    return any(c.dep_ == "conj" for c in token.children) and any(
        c.dep_ == "cc" and c.lower_ == "and" for c in token.children
    )


def _known_person(ctx: Context, span: tuple[int, int]) -> bool:
    """Whether the article shows the name at ``span`` to be a person's, whatever
    the NER took it for: it is part of a person's full name ("Menendez" after
    "Sen. Bob Menendez"). (A gender is no proof: it may have been noted from a
    pronoun resolved to an organisation.)"""
    return ctx.full_name(span) != span


def _after_article(ctx: Context, span: tuple[int, int]) -> bool:
    """Whether "the" or "a" stands before the name at ``span``: English puts no
    article before a person's name ("the Church", not "the Wilkins")."""
    indices = ctx.token_range(*span)
    if not indices or indices.start == 0:
        return False
    return ctx.doc[indices.start - 1].lower_ in ("the", "a", "an")


def _collective(token: Token) -> bool:
    """A singular noun that "they" can stand for: a body of people ("the company
    said they ..."), not a thing ("the ruling")."""
    lemma = token.lemma_.lower()
    return lemma in ORG_NOUNS or lemma in GENERIC_ORG_NOUNS or lemma in GROUP_NOUNS


def agrees(ctx: Context, wanted: str, span: tuple[int, int]) -> bool:
    """Whether the person at ``span`` can be "he" (wanted "m") or "she" ("f"): yes
    unless the article says otherwise."""
    if not wanted:
        return True
    gender = ctx.gender_of(span)
    return not gender or gender == wanted


def _sentence_subjects(ctx: Context, start: int, end: int) -> list[Token]:
    """The subjects a later pronoun may stand for in the sentence at tokens
    ``start:end``, the main clause's first. Every pronoun of the next sentences
    looks back at the same ones, so they are found once (quotes are all marked by
    the time a pronoun is resolved)."""
    found = ctx.sentence_subjects.get(start)
    if found is not None:
        return found
    doc = ctx.doc
    subjects = [doc[i] for i in ctx.subjects_between(start, end) if not ctx.quoted[i]]
    subjects = [r for r in (repair_subject(ctx, t, t.head) for t in subjects) if r]
    # The main clause's subjects: their verb is the root, or heads nothing inside
    # the sentence (a sentence cut from a longer parse at a paragraph break).
    roots = [
        t
        for t in subjects
        if t.head.dep_ == "ROOT" or not start <= ctx.heads[t.head.i] < end
    ]
    if not roots:
        root = doc[start:end].root
        if root.pos_ in ("NOUN", "PROPN"):
            roots = [root]  # "Her opponent, X, conceded ...": no verb
    found = ctx.sentence_subjects[start] = roots + [
        t for t in subjects if t not in roots
    ]
    return found


def pronoun_antecedent(
    ctx: Context, pronoun: Token, depth: int, resolve: Resolver
) -> tuple[int, int]:
    """Resolve he/she/it/they: the previous sentence's subject, else the previous
    quote's speaker, else the nearest person mentioned before the pronoun."""
    lower = pronoun.lower_
    if lower in FIRST_PERSON or depth > 3 or pronoun.i in ctx.resolving:
        return NO_SPAN
    ctx.resolving.add(pronoun.i)
    try:
        personal = lower in PERSON_PRONOUNS
        plural = lower in ("they", "them")
        wanted = GENDERED_WORDS.get(lower, "")
        doc = ctx.doc
        sentence_start = ctx.sentence_of(pronoun.i)[0]
        # Subjects earlier in the same sentence, then in up to three sentences back.
        candidates: list[Token] = []
        for i in ctx.subjects_between(sentence_start, pronoun.i):
            if not ctx.quoted[i] and not _reported(doc[i]):
                token = doc[i]
                # "Thomas' sister pleaded with him": the owner comes after the noun
                owners = [c for c in token.children if c.dep_ == "poss"]
                candidates.extend([*owners, token])
        candidates.reverse()
        previous = sentence_start - 1
        for _ in range(3):
            if previous < 0:
                break
            start, end = ctx.sentence_of(previous)
            candidates.extend(_sentence_subjects(ctx, start, end))
            previous = start - 1
        # The speaker of the latest quote goes after the previous sentence's subject.
        first_back = sentence_start - 1
        cutoff = ctx.sentence_of(first_back)[0] if first_back >= 0 else 0
        split = sum(1 for c in candidates if c.i >= cutoff)
        recent = [s for at, s in ctx.speakers if at < pronoun.idx]
        quoted_speaker = recent[-1:] if recent else []
        ordered: list[Token | Speaker] = [*candidates[:split], *quoted_speaker]
        ordered += candidates[split:]
        for candidate in ordered:
            if not isinstance(candidate, Token):
                speaker = candidate  # the latest quote's speaker
            elif candidate.lower_ in RELATIVE_PRONOUNS | FIRST_PERSON:
                continue
            elif personal and _plural(candidate):
                continue  # "he" is not "the Sams" nor "Carper and Leahy"
            elif wanted and GENDERED_WORDS.get(candidate.lower_, wanted) != wanted:
                continue  # "She said ... He said": he is someone else
            elif plural and candidate.tag_ == "NN" and not _collective(candidate):
                continue  # "they" is not "the Supreme Court ruling"
            elif plural and candidate.tag_ == "NNS" and candidate.pos_ == "NOUN":
                return NO_SPAN  # "Prosecutors countered ... they": a group, unnamed
            else:
                speaker = resolve(ctx, candidate, depth + 1)  # its antecedent
            if speaker.antecedent == NO_SPAN:
                continue
            ent = entity_in(ctx, *speaker.antecedent)
            label = ent.label_ if ent is not None else ""
            verb = candidate.head if isinstance(candidate, Token) else None
            surname = " " not in ctx.text[speaker.antecedent[0] : speaker.antecedent[1]]
            said = (verb is not None and is_cue_verb(verb)) or verb is None
            if plural and not (isinstance(candidate, Token) and _plural(candidate)):
                surname_said = label in ("GPE", "") and said and surname
                if (
                    speaker.is_person
                    or surname_said
                    or _known_person(ctx, speaker.antecedent)
                ):
                    continue  # "they" is not the one person quoted before
            if personal and not agrees(ctx, wanted, speaker.antecedent):
                continue  # "she" is not the man named just before
            if personal and _named_in_quote(ctx, sentence_start, speaker.antecedent):
                continue  # 'He said, "Warhol was a legend"': he is not Warhol
            person = label == "PERSON" or speaker.is_person
            if personal and (person or _known_person(ctx, speaker.antecedent)):
                # "Honcharuk filed ... He said": a surname the NER took for a
                # place is a person when the article gives it in a full name.
                if wanted:
                    ctx.note_gender(speaker.antecedent, wanted)
                return speaker.antecedent
            if (
                personal
                and label in ("GPE", "ORG", "")
                and said
                and surname
                and not _after_article(ctx, speaker.antecedent)
            ):
                # "Paris claims ...", "Wilkins said ...": the small model often takes
                # a surname for a place or a company; one that speaks is a person,
                # unless an article stands before it ("the Church denied ...").
                return speaker.antecedent
            if not personal and label in ("ORG", "GPE", "NORP"):
                return speaker.antecedent
            if lower == "it" and not label and not speaker.is_person:
                return speaker.antecedent
        if personal:
            for ent in reversed(ctx.ents):
                if (
                    ent.end <= pronoun.i
                    and ent.label_ == "PERSON"
                    and ent.text[:1].isupper()  # "the lorry" is no person
                    and ent.start_char >= ctx.headline_end
                    and agrees(ctx, wanted, (ent.start_char, ent.end_char))
                    and not _named_in_quote(
                        ctx, sentence_start, (ent.start_char, ent.end_char)
                    )
                ):
                    return ent.start_char, ent.end_char
        return NO_SPAN
    finally:
        ctx.resolving.discard(pronoun.i)
