"""Who speaks: a cue's subject turned into the phrase as written and the named
mention it stands for.

Names resolve to themselves, pronouns to an earlier subject or speaker that agrees
with them, role nouns ("the minister") to the person introduced with that role, and
groups keep their text but stay unresolved.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsbeam.transforms.quotes.context import Context
from newsbeam.transforms.quotes.cues import is_cue_verb, speaker_of
from newsbeam.transforms.quotes.lexicon import (
    DOCUMENT_NOUNS,
    GENDERED_WORDS,
    GROUP_NOUNS,
    ISSUING_VERBS,
    MAX_CUE_TOKENS,
    NAMED_LABELS,
    NO_SPAN,
    ORG_NOUNS,
    OWNER_LABELS,
    OWNER_PREPOSITIONS,
    PERSON_PRONOUNS,
    ROLE_NOUNS,
    SPEAKER_DEPS,
    THING_PRONOUNS,
    TITLE_ROLES,
    TITLE_WORDS,
)
from newsbeam.transforms.quotes.pronouns import agrees, pronoun_antecedent
from spacy.tokens import Span, Token


@dataclass(slots=True)
class Speaker:
    """A speaker as written plus the named mention it resolves to."""

    text_span: tuple[int, int]
    antecedent: tuple[int, int]
    is_person: bool
    role: str = ""  # "spokesman", "minister": the role the source speaks in


def noun_phrase(token: Token) -> tuple[int, int]:
    """The speaker as written: the noun with its determiners, titles and owners
    ("Disney's spokesman", "a spokesman for Disney"), without appositions or
    relative clauses, which are not part of the name."""
    left = token.i
    for child in token.lefts:
        if child.dep_ in ("det", "compound", "amod", "poss", "nmod", "nummod", "case"):
            left = min(left, child.left_edge.i)
    right = token.i
    for child in token.rights:
        if child.dep_ in ("compound", "flat") or (
            child.dep_ == "case" and child.i == right + 1
        ):
            right = child.i
        elif (
            child.dep_ == "prep"
            and child.i == right + 1
            and child.lower_ in OWNER_PREPOSITIONS
            and any(
                g.dep_ == "pobj" and (g.pos_ == "PROPN" or g.ent_type_)
                for g in child.children
            )
        ):
            right = child.right_edge.i  # "a spokesman for Disney": the owner too
    doc = token.doc
    while left < token.i and doc[left].is_punct:
        left += 1
    return doc[left].idx, doc[right].idx + len(doc[right])


def name_span(ent: Span) -> tuple[int, int]:
    """A named mention as a name: without the article and the possessive ending
    the NER may take into it ("the United Nations' Food and Agriculture
    Organization's" is the organisation's name without "the" and "'s")."""
    start, end = ent.start, ent.end
    if end - start > 1 and ent.doc[start].lower_ == "the":
        start += 1
    if end - start > 1 and ent.doc[end - 1].tag_ == "POS":
        end -= 1
    doc = ent.doc
    return doc[start].idx, doc[end - 1].idx + len(doc[end - 1])


def proper_run(token: Token) -> tuple[int, int]:
    """Contiguous proper nouns around a token, for names the NER missed."""
    doc = token.doc
    left = right = token.i
    while left > 0 and doc[left - 1].pos_ == "PROPN":
        left -= 1
    while right + 1 < len(doc) and doc[right + 1].pos_ == "PROPN":
        right += 1
    return doc[left].idx, doc[right].idx + len(doc[right])


def resolve(ctx: Context, token: Token, depth: int = 0) -> Speaker:
    """Turn a subject token into a speaker with its named antecedent and role."""
    speaker = _resolve(ctx, token, depth)
    if not speaker.role:
        speaker.role = _role_of(ctx, token, speaker)
    if speaker.is_person and speaker.antecedent != NO_SPAN:
        speaker.antecedent = ctx.full_name(_without_title(ctx, speaker.antecedent))
    return speaker


def _without_title(ctx: Context, span: tuple[int, int]) -> tuple[int, int]:
    """A person's name without the titles before it: "President Trump" is Trump,
    "Attorney General Jeff Sessions" is Jeff Sessions. A name found as a run of
    proper nouns keeps the words the NER would have left out."""
    indices = ctx.token_range(*span)
    kept = 0
    for i in indices[:-1]:
        if ctx.doc[i].lower_.rstrip(".") not in TITLE_WORDS:
            break
        kept += 1
    if kept == 0:
        return span
    return ctx.token_starts[indices[kept]], span[1]


def _role_of(ctx: Context, token: Token, speaker: Speaker) -> str:
    """The role a source speaks in: its own noun ("a spokesman for Disney"), a role
    word in its phrase ("Foreign Secretary Boris Johnson"), or the role the person
    was introduced with earlier in the article."""
    lemma = token.lemma_.lower()
    if lemma in ROLE_NOUNS:
        return lemma
    roles = [i for i in ctx.token_range(*speaker.text_span) if i in ctx.role_words]
    if roles:  # "Foreign Secretary Boris Johnson"; not the owner's title in
        # "President Donald Trump's choice" or "the pilots' union"
        owners = {t.i for c in token.lefts if c.dep_ == "poss" for t in c.subtree}
        for i in roles:
            if i not in owners:
                return ctx.role_words[i]
    if speaker.antecedent != NO_SPAN and speaker.is_person:
        for _char, role, span in ctx.roles:
            if span == speaker.antecedent and role in ROLE_NOUNS:
                return role
    return ""


def owner_of(ctx: Context, token: Token, depth: int = 0) -> tuple[int, int]:
    """The named owner of a role or a document: "Disney" in "a spokesman for
    Disney", "a Disney spokesman", "Disney's spokesman"; "the Global Change Research
    Program" in "a report by the Global Change Research Program"; "he" (resolved)
    in "his office"."""
    for child in token.children:
        if child.dep_ == "poss":
            owner = _resolve(ctx, child, depth + 1).antecedent
            if owner != NO_SPAN:
                return owner
        elif child.dep_ in ("compound", "amod", "nmod") and child.i < token.i:
            ent = ctx.ents_by_token.get(child.i)
            if ent is not None and ent.label_ in OWNER_LABELS:
                return name_span(ent)
    for child in token.rights:
        if child.dep_ == "acl":  # "a document published by the government"
            child = next((c for c in child.children if c.dep_ == "agent"), child)
        if child.dep_ not in ("prep", "agent") or (
            child.dep_ == "prep" and child.lower_ not in OWNER_PREPOSITIONS
        ):
            continue
        for noun in child.children:
            if noun.dep_ != "pobj":
                continue
            ent = ctx.ents_by_token.get(noun.i)
            if ent is not None and ent.label_ in OWNER_LABELS:
                return name_span(ent)
            if noun.pos_ == "PROPN":
                return ctx.clip(proper_run(noun), noun.idx)
            if noun.lemma_.lower() in DOCUMENT_NOUNS | ORG_NOUNS | ROLE_NOUNS:
                # "an email from the mayor's office": the office's owner
                owner = _resolve(ctx, noun, depth + 1).antecedent
                if owner != NO_SPAN:
                    return owner
    return NO_SPAN


def _earlier_document(ctx: Context, token: Token, depth: int) -> tuple[int, int]:
    """The owner of the document or body "the statement" or "the ministry" refers
    back to: the latest earlier mention of the same noun, either owned ("Cornyn's
    statement", "Russia's foreign ministry") or issued by the subject of a speech
    verb ("the ministry said in a statement that ...")."""
    lemma = token.lemma_.lower()
    p_start = ctx.paragraphs[max(0, ctx.paragraph_of(token.idx) - 3)][0]
    for i in reversed(ctx.token_range(p_start, token.idx)):
        earlier = ctx.doc[i]
        if earlier.lemma_.lower() != lemma or earlier.i == token.i:
            continue
        owner = owner_of(ctx, earlier, depth + 1)
        if owner != NO_SPAN:
            return owner
        prep = earlier.head
        verb = None
        if earlier.dep_ == "pobj" and prep.lower_ in ("in", "through", "via"):
            verb = prep.head if is_cue_verb(prep.head) else None
        elif earlier.dep_ == "dobj" and prep.lemma_.lower() in ISSUING_VERBS:
            verb = prep  # "The Pentagon released a report ... The report said"
        elif earlier.dep_ == "nsubjpass":  # "The study was conducted by X"
            agent = next((c for c in prep.children if c.dep_ == "agent"), None)
            if agent is not None:
                return owner_of_phrase(ctx, agent, depth)
        if verb is not None:
            subject = speaker_of(ctx, verb)
            if subject is not None and subject.i != token.i:
                return _resolve(ctx, subject, depth + 1).antecedent
        return NO_SPAN
    return NO_SPAN


def owner_of_phrase(ctx: Context, prep: Token, depth: int) -> tuple[int, int]:
    """The named owner a preposition's object gives ("by Imperial College
    London's MRC Centre": the college, or the centre when it is named)."""
    for noun in prep.children:
        if noun.dep_ != "pobj":
            continue
        ent = ctx.ents_by_token.get(noun.i)
        if ent is not None and ent.label_ in OWNER_LABELS:
            return name_span(ent)
        owner = owner_of(ctx, noun, depth + 1)
        if owner != NO_SPAN:
            return owner
    return NO_SPAN


def _resolve(ctx: Context, token: Token, depth: int = 0) -> Speaker:
    lower = token.lower_
    if token.pos_ == "PRON" or lower in PERSON_PRONOUNS | THING_PRONOUNS:
        span = (token.idx, token.idx + len(token))
        return Speaker(span, pronoun_antecedent(ctx, token, depth, _resolve), True)
    if depth > 4:
        return Speaker((token.idx, token.idx + len(token)), NO_SPAN, False)
    phrase = ctx.phrases.get(token.i)
    if phrase is None:
        phrase = ctx.phrases[token.i] = ctx.clip(noun_phrase(token), token.idx)
    conjuncts = [c for c in token.children if c.dep_ == "conj"]
    if conjuncts and any(c.lower_ == "and" for c in token.children) and depth == 0:
        # "Sens. Carper, Feinstein and Leahy said": the row keeps every source as
        # written; its speaker is the first one named, as annotators take it.
        last = max(c.right_edge.i for c in conjuncts)
        whole = (phrase[0], token.doc[last].idx + len(token.doc[last]))
        first = _resolve(ctx, token, depth + 1)
        return Speaker(ctx.clip(whole, token.idx), first.antecedent, first.is_person)
    own = ctx.ents_by_token.get(token.i)
    for child in token.children:  # "the prosecutor, Mark Tedeschi, said"
        if child.dep_ != "appos" or (own is not None and own.label_ == "PERSON"):
            continue
        if token.pos_ == "PROPN" and own is not None:
            continue  # "Jeff Rathke, the State Department Spokesperson": a name
        for inner in child.subtree:
            ent = ctx.ents_by_token.get(inner.i)
            if ent is not None and ent.label_ == "PERSON":
                return Speaker(phrase, (ent.start_char, ent.end_char), True)
        if child.pos_ == "PROPN":  # a name the NER missed ("Dev Mistry")
            return Speaker(phrase, ctx.clip(proper_run(child), child.idx), True)
    word = token.text.lower()
    lemma = token.lemma_.lower()
    role = token.tag_ not in ("NNS", "NNPS") and (
        lemma in ROLE_NOUNS or (token.pos_ == "NOUN" and word in ctx.introduced_roles)
    )
    if role:  # "Prof. Gita Ashok Raj, Provost of GMU, described", however parsed
        doc = token.doc
        before = token.head if token.dep_ == "appos" else None
        if before is None and token.i >= 2 and doc[token.i - 1].text == ",":
            before = doc[token.i - 2]
        named = ctx.ents_by_token.get(before.i) if before is not None else None
        if named is not None and named.label_ == "PERSON":
            return Speaker(phrase, (named.start_char, named.end_char), True)
    ent = ctx.ents_by_token.get(token.i)
    if ent is None and token.pos_ == "PROPN":
        # "Foreign Secretary Boris Johnson", but not "Thomas' sister" nor
        # "an Arizona man", whose place is not the speaker.
        compounds = [c for c in token.lefts if c.dep_ == "compound"]
        ent = next(
            filter(None, map(ctx.ents_by_token.get, (c.i for c in compounds))), None
        )
    if role:  # "Governor of Washington Chris Gregoire said"
        for inner in token.subtree:
            named = ctx.ents_by_token.get(inner.i)
            if inner.i > token.i and named is not None and named.label_ == "PERSON":
                return Speaker(phrase, (named.start_char, named.end_char), True)
    if role:  # "Malaysia's Prime Minister, Najib Razak said"
        after = token.i + 1
        doc = token.doc
        if after + 1 < len(doc) and doc[after].text == ",":
            named = ctx.ents_by_token.get(after + 1)
            if named is not None and named.label_ == "PERSON":
                return Speaker(phrase, (named.start_char, named.end_char), True)
    if (
        ent is not None
        and ent.label_ in NAMED_LABELS
        and (ent.label_ == "PERSON" or not role)
    ):
        span = name_span(ent)
        after = token.doc[ent.end] if ent.end < len(token.doc) else token
        if ent.label_ != "PERSON" and after.dep_ == "prep" and phrase[1] > span[1]:
            # "the Progressive Party of Working People", "the Embassy in Iraq": the
            # name goes on where the NER stopped, as the phrase does
            span = (span[0], phrase[1])
        return Speaker(phrase, span, ent.label_ == "PERSON")
    capitalised = (
        token.is_title
        and token.i != ctx.sentence_of(token.i)[0]
        and token.pos_ == "NOUN"
    )
    if (token.pos_ == "PROPN" or capitalised) and not role and lemma not in ORG_NOUNS:
        # A name the tagger or the NER missed ("Hannity", "Wilkins" as nouns).
        return Speaker(phrase, ctx.clip(proper_run(token), token.idx), True)
    definite = any(
        c.dep_ in ("det", "poss") and c.lower_ in ("the", "this", "that")
        for c in token.lefts
    ) or _headline_style(token)
    # "Bergen's mayor", "the port's spokesman": one holder of the role, whom the
    # article may name elsewhere ("Mayor Anne Vik"); only failing that the owner.
    owned = any(c.dep_ == "poss" and c.pos_ in ("PROPN", "NOUN") for c in token.lefts)
    if role:
        holder = NO_SPAN
        if definite or owned:  # "the minister": the person introduced with that role
            holder = ctx.role_holder(word, token.idx, True)
            if holder == NO_SPAN:
                holder = ctx.role_holder(lemma, token.idx, True)
            if holder == NO_SPAN:  # "the senator" after "Sen. Susan Collins"
                titled = [
                    ctx.role_holder(title, token.idx)
                    for title, roles in TITLE_ROLES.items()
                    if lemma in roles
                ]
                holder = max(titled, default=NO_SPAN)  # the latest one named
        if holder == NO_SPAN:  # "a spokesman for Disney": the organisation speaks
            holder = owner_of(ctx, token, depth)
            if holder != NO_SPAN:
                return Speaker(phrase, holder, False, lemma)
        if holder == NO_SPAN and token.idx >= ctx.headline_end and definite:
            # "The foreign secretary made the comment": the headline's person; not
            # for "her lawyer" or "a spokesman", who are someone else.
            holder = ctx.headline_person()
        if holder == NO_SPAN and (definite or owned):
            holder = _named_after(ctx, token)
        return Speaker(phrase, holder, True)
    if lemma in DOCUMENT_NOUNS and token.tag_ not in ("NNS", "NNPS"):
        # "Cornyn's statement", "a report by the program", "his office": the
        # owner speaks; "the report" again is the report named before.
        owner = owner_of(ctx, token, depth)
        if owner == NO_SPAN and definite:
            owner = ctx.documents.get(lemma) or _earlier_document(ctx, token, depth)
        if owner != NO_SPAN:
            ctx.documents[lemma] = owner
        return Speaker(phrase, owner, False)
    if lemma in ORG_NOUNS and token.tag_ not in ("NNS", "NNPS"):
        # "the company said": the organisation named earlier; a common noun that
        # names no one ("the ministry") is no actor, a proper one ("the Kremlin")
        # is.
        name_words = [token, *(c for c in token.lefts if c.dep_ == "compound")]
        if any(w.pos_ == "PROPN" for w in name_words):
            return Speaker(phrase, phrase, False)  # "the Saudi Interior Ministry"
        named = ctx.named_org(lemma, token) or owner_of(ctx, token, depth)
        if named == NO_SPAN and definite:  # "the ministry" after "Russia's ministry"
            named = _earlier_document(ctx, token, depth)
        return Speaker(phrase, named, False)
    possessed = any(c.dep_ == "poss" for c in token.lefts)  # "its", "CNN's"
    if possessed and lemma not in GROUP_NOUNS and lower not in GENDERED_WORDS:
        # "CNN's projections", "according to its polling": a thing of an owner's
        # speaks for the owner (not "Trump's choice", who is a person: her own
        # words call her "she").
        owner = owner_of(ctx, token, depth)
        if owner != NO_SPAN and not reported_pronoun_gender(token):
            return Speaker(phrase, owner, False)
    if (definite or possessed) and lemma not in GROUP_NOUNS:
        person = _named_after(ctx, token)
        if person != NO_SPAN:
            return Speaker(phrase, person, True)
    return Speaker(phrase, NO_SPAN, False)


def _named_after(ctx: Context, token: Token) -> tuple[int, int]:
    """The person a description stands for when the article names them only
    later: news often opens with "Trump's choice to head the department said she
    ..." and names her in the next paragraphs ("Kirstjen Nielsen said ...").
    Only a source its own report calls he or she qualifies; the person is the
    first one named after it, within three paragraphs, as the subject of a
    clause and agreeing in gender."""
    gender = reported_pronoun_gender(token)
    if not gender:
        return NO_SPAN
    last = min(ctx.paragraph_of(token.idx) + 3, len(ctx.paragraphs) - 1)
    limit = ctx.paragraphs[last][1]
    for ent in ctx.ents:
        if ent.start <= token.i or ent.label_ not in NAMED_LABELS:
            continue
        if ent.start_char >= limit:
            break
        root = ent.root
        subject = root.dep_ in SPEAKER_DEPS or (
            root.dep_ == "appos" and root.head.dep_ in SPEAKER_DEPS
        )
        if not subject or ctx.quoted[ent.start]:
            continue
        span = (ent.start_char, ent.end_char)
        if ent.label_ == "PERSON" and agrees(ctx, gender, span):
            return span
        if reported_pronoun_gender(root) == gender:
            return span  # "Kirstjen Nielsen said she ...", tagged as a company
    return NO_SPAN


def reported_pronoun_gender(token: Token) -> str:
    """ "m" or "f" when the clause a source reports speaks of the source as he or
    she ("the judge said he will excuse a juror", "who says his analysis shows"):
    the source is then a person, whatever noun names it."""
    verbs = [token.head]
    if token.dep_ not in SPEAKER_DEPS:  # a subject repaired from a bad parse: its
        # verb is the next speech verb in its sentence whose parsed subject, if
        # any, stands before it ("A headline ... choice to head X said")
        for word in token.doc[token.i + 1 : token.i + MAX_CUE_TOKENS]:
            if word.text in (".", "!", "?"):
                break
            if is_cue_verb(word):
                subjects = [c.i for c in word.children if c.dep_ in SPEAKER_DEPS]
                if all(i < token.i for i in subjects):
                    verbs.append(word)
                break
    clauses = [c for verb in verbs for c in verb.children if c.dep_ == "ccomp"]
    for clause in clauses:
        for subject in clause.children:
            if subject.dep_ not in ("nsubj", "nsubjpass"):
                continue
            words = [subject, *(c for c in subject.children if c.dep_ == "poss")]
            for word in words:
                if word.lower_ in ("he", "she", "his", "her"):
                    return GENDERED_WORDS[word.lower_]
    return ""


def _headline_style(token: Token) -> bool:
    """A singular common noun with no determiner ("disgraced doctor said he ..."):
    English allows it only in headlines and standfirsts, where it stands for "the
    doctor"."""
    return token.tag_ == "NN" and not any(
        c.dep_ in ("det", "poss", "nummod", "predet") for c in token.lefts
    )
