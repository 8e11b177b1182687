"""Indirect quotes: the clausal complement of a speech verb, and the clause that
"according to X" modifies.
"""

from __future__ import annotations

from newsbeam.transforms.quotes.context import Context
from newsbeam.transforms.quotes.cues import (
    Cue,
    according_to,
    is_cue_verb,
    speaker_of,
)
from newsbeam.transforms.quotes.direct import word_count
from newsbeam.transforms.quotes.lexicon import (
    CUE_NOUNS,
    FIRST_PERSON,
    FRAMING_PREPOSITIONS,
    GROUP_NOUNS,
    NAMED_LABELS,
    NON_SOURCES,
    ORG_NOUNS,
    OWNER_LABELS,
    QUOTE_MARKS,
    RELATIVE_PRONOUNS,
    ROLE_NOUNS,
    SPEAKER_DEPS,
    SPEECH_EVENTS,
    STATEMENT_NOUNS,
    WEAK_VERBS,
    XCOMP_VERBS,
)
from spacy.tokens import Token

FINITE_TAGS = frozenset({"VBZ", "VBP", "VBD", "MD"})  # a verb with a tense

# ------------------------------------------------------------------ indirect quotes


def clause_span(ctx: Context, tokens: list[Token]) -> tuple[int, int] | None:
    """The character span of a clause, without its leading "that" and edge punctuation.

    The clause stops where another report starts ("..., while Lavrov had said ...",
    "... and said ..."), or at a dash or semicolon that hangs a comment on it, since
    those are the reporter's words, not the speaker's; a pair of dashes around an
    aside ("Kelly — now chief of staff — that ...") is part of the clause. (The
    dashes, stops and joined clauses are the Context's index sets: a clause's words
    are read once each, and mostly not at all.)
    """
    tokens = sorted(tokens, key=lambda t: t.i)
    indices = [t.i for t in tokens]
    dashes = [i for i in indices if i in ctx.spaced_dashes]
    if tokens:
        for position, i in enumerate(indices):
            if position == 0:
                continue
            token = tokens[position]
            nested_report = (
                i in ctx.clauses_joined
                and is_cue_verb(token)
                and token.lemma_.lower() not in WEAK_VERBS
                and not _without_report(token)
                and (
                    any(c.dep_ in SPEAKER_DEPS for c in token.children)
                    or (
                        token.dep_ == "conj"
                        and (
                            token.tag_ != token.head.tag_
                            or any(c.dep_ == "ccomp" for c in token.children)
                        )
                    )
                )
            )
            opens = not ctx.quoted[i] and i + 1 < len(ctx.quoted) and ctx.quoted[i + 1]
            if opens and _opens_own_quote(ctx, tokens, position):
                tokens = tokens[:position]
                break
            paired = i in dashes and dashes.index(i) % 2 == 0
            aside = paired and len(dashes) > dashes.index(i) + 1
            stop = i in ctx.clause_stops
            stop = stop and not aside and not (i in dashes and not paired)
            if stop or i in ctx.paragraph_breaks:
                tokens = tokens[:position]
                break
            if nested_report:
                cut = min(t.i for t in token.subtree)
                tokens = [t for t in tokens if t.i < cut]
                break
    tokens = _without_framing(ctx, tokens)
    while tokens and (tokens[0].is_punct or tokens[0].dep_ == "mark"):
        if tokens[0].dep_ == "mark" and tokens[0].lower_ not in ("that",):
            break
        tokens = tokens[1:]
    while tokens and (
        tokens[-1].is_punct or tokens[-1].is_space or tokens[-1].dep_ == "cc"
    ):
        tokens = tokens[:-1]  # "... is important and" before a cut report
    if not tokens:
        return None
    return tokens[0].idx, tokens[-1].idx + len(tokens[-1])


def _opens_own_quote(ctx: Context, tokens: list[Token], position: int) -> bool:
    """Whether a clause's word at ``position`` opens a quotation that is a sentence
    of its own after the report is complete: 'said resources would be free, "For
    example, schools can ..."'. Quoted words inside a report go on with its
    sentence ('said it is "sinking"'), and a lead-in without a verb of its own
    ('told the court that, over five months, "Gloria's eczema ...') is part of
    the quote."""
    i = tokens[position].i
    if ctx.quoted[i] or i + 1 >= len(ctx.quoted) or not ctx.quoted[i + 1]:
        return False  # no quotation opens here
    doc = ctx.doc
    if (
        doc[i].text not in QUOTE_MARKS
        or tokens[position - 1].text not in (",", ":")
        or not doc[i + 1].text[:1].isupper()
    ):
        return False
    return any(
        t.pos_ in ("VERB", "AUX") and not ctx.quoted[t.i] for t in tokens[:position]
    )


def _without_framing(ctx: Context, tokens: list[Token]) -> list[Token]:
    """A clause without the reporter's framing at its end: where and when it was
    said ("... in an interview with El Diario", "during an event marking ...") or
    what surrounded it ("..., amid warnings that ..."). The parser hangs such a
    phrase on the reported verb; it belongs to the cue."""
    for position, token in enumerate(tokens[1:], start=1):
        if token.i not in ctx.framing or token.dep_ != "prep":
            continue
        preposition = token.lower_
        end = token.right_edge.i
        if preposition in FRAMING_PREPOSITIONS:
            noun = next((c for c in token.children if c.dep_ == "pobj"), None)
            if noun is None or noun.lemma_.lower() not in SPEECH_EVENTS:
                continue
            if any(t.dep_ == "mark" for t in tokens[position:] if t.i <= end):
                continue  # "on Election Day show that ...": a clause, no framing
        if all(t.is_punct for t in tokens[position:] if t.i > end):
            return tokens[:position]  # the phrase ends the clause
    return tokens


def _without_report(verb: Token) -> bool:
    """A speech verb used for something else than reporting: "the operator agreed
    to a new pay deal", "warned of floods" take a noun, not a clause."""
    return not any(
        c.dep_ in ("ccomp", "xcomp", "dobj", "parataxis") or c.is_punct
        for c in verb.children
    )


def _min_words(clause: list[Token]) -> int:
    """Three words make a report; two do when they are a subject and its verb
    ("he resigned")."""
    return 2 if any(t.dep_ in SPEAKER_DEPS for t in clause) else 3


def _statement_clause(verb: Token) -> Token | None:
    """ "said in a statement that ...": the parser may hang the that-clause on the
    noun of the prepositional phrase instead of on the verb."""
    for prep in verb.children:
        if prep.dep_ != "prep" or prep.i < verb.i:
            continue
        for noun in prep.children:
            for clause in noun.children:
                if clause.dep_ in ("acl", "ccomp", "relcl") and any(
                    c.dep_ == "mark" and c.lower_ == "that" for c in clause.children
                ):
                    return clause
    return None


def misparsed_object_clause(verb: Token) -> Token | None:
    """ "said the party's victories show that ...", "suggested piracy is now the
    likeliest theory": an object whose phrase holds a clause of its own (a verb
    with a subject, the parser having read the report's verb as a noun or hung it
    under the object) is the report. A plain noun object ("reported the crash",
    "told reporters") is not, nor one with a relative clause ("announced the sites
    that would be chosen", "the studio where he worked")."""
    if verb.lemma_.lower() in WEAK_VERBS:
        return None
    for child in verb.rights:
        if child.dep_ != "dobj" or child.pos_ not in ("NOUN", "PROPN"):
            continue
        clause_inside = any(
            t.pos_ in ("VERB", "AUX")
            and not _in_relative_clause(t, child)
            and any(
                c.dep_ in SPEAKER_DEPS and c.lower_ not in RELATIVE_PRONOUNS
                for c in t.children
            )
            for t in child.subtree
        )
        return child if clause_inside else None
    return None


def subject_read_as_object(verb: Token) -> tuple[list[Token], Token] | None:
    """ "warns UK is still protecting ...", "arguing the deal does not pose ...": the
    parser took the report's subject for the cue's object and hung the report's
    verb somewhere else. In English no finite verb follows an object phrase
    directly, so an object followed at once by a finite verb or auxiliary of its
    own clause is that clause's subject. Returns the clause (the object's phrase
    and that verb's words from there on) and the clause's verb."""
    if verb.lemma_.lower() in WEAK_VERBS:
        return None
    obj = next((c for c in verb.rights if c.dep_ == "dobj"), None)
    if obj is None or obj.pos_ not in ("NOUN", "PROPN"):
        return None
    doc = verb.doc
    after = obj.right_edge.i + 1
    if after >= len(doc) or doc[after].tag_ not in FINITE_TAGS:
        return None
    finite = doc[after]
    main = finite.head if finite.dep_ in ("aux", "auxpass") else finite
    if main.i < finite.i or main.i == verb.i or main.dep_ in ("relcl", "acl"):
        return None  # a verb of the object's own phrase, or the cue itself
    first = obj.left_edge.i
    if any(c.dep_ in SPEAKER_DEPS and c.i >= first for c in main.children):
        return None  # the verb has a subject of its own: the object is an object
    clause = [*obj.subtree, *(t for t in main.subtree if t.i > obj.right_edge.i)]
    return clause, main


def _in_relative_clause(token: Token, top: Token) -> bool:
    """Whether a word sits in a relative clause or a participle phrase below
    ``top``: such clauses describe a noun; they are not what was said."""
    while token.i != top.i:
        if token.dep_ == "relcl" or (
            # a clause opened by the conjunction "that" completes its noun ("show
            # that the door is open", the verb read as a noun); it is no relative
            token.dep_ == "acl" and not any(c.dep_ == "mark" for c in token.children)
        ):
            return True
        token = token.head
    return False


def _fronted_report(verb: Token) -> Token | None:
    """The report in "Fares will rise in January, the ministry said on Tuesday.":
    a clause before the cue, closed off by a comma, with the subject after it."""
    before = [c for c in verb.lefts if c.dep_ == "ccomp"]
    if not before:
        return None
    clause = before[-1]
    right_edge = clause.right_edge.i
    doc = verb.doc
    between = doc[right_edge + 1 : verb.i]
    if not between or between[0].text not in (",", "—", "–"):
        return None
    if not any(c.dep_ in SPEAKER_DEPS for c in verb.children):
        return None
    return clause


def speaker_ok(ctx: Context, subject: Token | None) -> bool:
    """Whether a cue's subject can be a source ("estimates suggest" cannot)."""
    if subject is None:
        return False
    lower = subject.lower_
    if lower in FIRST_PERSON or lower in RELATIVE_PRONOUNS or lower == "there":
        return False
    if lower in ("several", "some", "many", "others", "most", "few", "both", "all"):
        return True  # "Several said ...": an unnamed group
    if subject.pos_ in ("PRON", "PROPN") or subject.ent_type_ in NAMED_LABELS:
        return True
    lemma = subject.lemma_.lower()
    if lemma in ROLE_NOUNS | GROUP_NOUNS | ORG_NOUNS or lemma in STATEMENT_NOUNS:
        return True
    return subject.pos_ == "NOUN" and lemma not in NON_SOURCES


def _noun_report(
    ctx: Context, noun: Token
) -> tuple[tuple[int, int], Cue, Token] | None:
    """ "a Justice Department claim that he had offered to sell CNN": a cue noun
    whose that-clause is the content and whose own phrase names the source (an
    owner, a named modifier, "by X"). A claim with no source in sight is left
    alone: nobody can be credited with it."""
    clause = next(
        (
            c
            for c in noun.rights
            if c.dep_ in ("acl", "ccomp", "relcl")
            and any(m.dep_ == "mark" and m.lower_ == "that" for m in c.children)
        ),
        None,
    )
    if clause is None:
        return None
    source = next(
        (
            c
            for c in noun.children
            if c.i < noun.i
            and (
                c.dep_ == "poss"
                or (c.dep_ == "nmod" and any(g.dep_ == "case" for g in c.children))
                or (c.dep_ in ("compound", "nmod") and c.ent_type_ in OWNER_LABELS)
            )
        ),
        None,
    )
    if source is None:
        return None
    if source.dep_ in ("compound", "nmod") and source.ent_type_:  # the whole name
        source = next((c for c in noun.lefts if c.dep_ == "compound"), source)
        while source.head.i != noun.i and source.head.dep_ == "compound":
            source = source.head
    p_start, p_end = ctx.paragraphs[ctx.paragraph_of(noun.idx)]
    tokens = [t for t in clause.subtree if p_start <= t.idx < p_end]
    span = clause_span(ctx, tokens)
    if span is None or word_count(ctx.text[span[0] : span[1]]) < _min_words(tokens):
        return None
    cue = Cue(noun.lemma_.lower(), source, "indirect.cue_noun", noun.idx)
    return span, cue, noun


def indirect_quotes(ctx: Context) -> list[tuple[tuple[int, int], Cue, Token]]:
    """Reported speech: complements of speech verbs and clauses "according to X"."""
    found = []
    for i in ctx.cue_candidates:  # any other token is neither cue nor source
        if ctx.quoted[i] or ctx.token_starts[i] < ctx.headline_end:
            continue
        token = ctx.doc[i]
        source = according_to(token)
        if source is not None and token.lower_ == "according":
            head = token.head
            if head.lower_ == "to":
                head = head.head
            while head.dep_ == "prep" and head.head.i != head.i:
                head = head.head
            if is_cue_verb(head) and any(c.dep_ == "ccomp" for c in head.children):
                continue  # "According to X, Burrows said ...": Burrows speaks
            phrase = set(t.i for t in token.subtree)
            if token.head.lower_ == "to":
                phrase |= {t.i for t in token.head.subtree}
            clause = [t for t in head.subtree if t.i not in phrase]
            p_start, p_end = ctx.paragraphs[ctx.paragraph_of(token.idx)]
            clause = [t for t in clause if p_start <= t.idx < p_end]
            cue = Cue("according to", source, "", 0)
            if token.i > head.i:  # "..., according to X."
                span = clause_span(ctx, [t for t in clause if t.i < token.i])
            else:
                last = max(phrase)
                before = [t for t in clause if t.i < token.i]
                after = [t for t in clause if t.i > last]
                span = clause_span(ctx, after or clause)
                lead = clause_span(ctx, before) if after else None
                if span is not None and lead is not None:
                    # "The attack, according to police, began at dawn": the
                    # content is on both sides of the cue, in two pieces.
                    cue.parts = (lead, span)
                    span = (lead[0], span[1])
            if span is not None:
                found.append((span, cue, token))
            continue
        if token.pos_ == "NOUN" and token.lemma_.lower() in CUE_NOUNS:
            report = _noun_report(ctx, token)
            if report is not None:
                found.append(report)
            continue
        if not is_cue_verb(token):
            continue
        lemma = token.lemma_.lower()
        p_start, p_end = ctx.paragraphs[ctx.paragraph_of(token.idx)]
        complements = []
        for child in token.rights:
            if not child.idx < p_end:
                break  # the parser ran on into the next paragraph: not this cue's
            if child.dep_ == "ccomp" or (
                child.dep_ == "xcomp" and lemma in XCOMP_VERBS
            ):
                complements.append(child)
        # 'said resources would be accessible, "For example, schools can ..."':
        # a clause whose verb is quoted is a direct quote of its own; the report
        # is the clause in the reporter's words.
        unquoted = [c for c in complements if not ctx.quoted[c.i]]
        complement = (unquoted or complements or [None])[-1]
        if complement is None:
            complement = (
                _fronted_report(token)
                or _statement_clause(token)
                or misparsed_object_clause(token)
            )
        subject = None
        rule = "indirect.that_clause"
        misread = None if complement is not None else subject_read_as_object(token)
        if misread is not None:
            clause, main = misread
            # "arguing the deal does not pose ...", with "arguing" hung under
            # "pose": the cue's speaker is the report's head's subject.
            subject = speaker_of(ctx, main if token.head.i == main.i else token)
            rule = "indirect.bare_clause"
        elif complement is not None:
            if token.dep_ != "parataxis":
                subject = speaker_of(ctx, token)
            clause = list(complement.subtree)
            if complement.dep_ == "xcomp":
                # "urged all Americans to stay away": who was urged is part of
                # what was said, as PARC marks it.
                for child in token.rights:
                    if child.dep_ in ("dobj", "dative") and child.i < complement.i:
                        clause = [*child.subtree, *clause]
            if any(
                t.dep_ == "mark" and t.lower_ == "that" for t in complement.children
            ):
                rule = "indirect.that_clause"
            else:
                rule = "indirect.bare_clause"
        elif token.dep_ in ("parataxis",) and token.head.pos_ in ("VERB", "AUX"):
            # "Institutional recipients, said Mauer, are required to ...": the name
            # after the verb speaks; everything else is what was said.
            cue_part = {token.i}
            for child in token.rights:
                cue_part |= {t.i for t in child.subtree}
            subject = next(
                (c for c in token.rights if c.pos_ == "PROPN" or c.ent_type_), None
            )
            clause = [t for t in token.head.subtree if t.i not in cue_part]
            rule = "indirect.parenthetical"
        else:
            continue
        edges = ctx.token_range(p_start, p_end)
        if not (  # a complement inside its paragraph is kept whole, unread
            complement is not None
            and edges.start <= complement.left_edge.i
            and complement.right_edge.i < edges.stop
        ):
            clause = [t for t in clause if p_start <= t.idx < p_end]
        if not any(t.pos_ in ("VERB", "AUX") for t in clause):
            continue
        question = any(
            t.lower_ in ("whether", "if") and t.dep_ == "mark" for t in clause[:3]
        )
        if question and not any(ctx.quoted[t.i] for t in clause):
            # "declined to say whether ...": a question, not a statement; but
            # 'asked whether she "wiped" her server' reports the asker's words.
            continue
        if not speaker_ok(ctx, subject):
            continue
        span = clause_span(ctx, clause)
        if span is None or word_count(ctx.text[span[0] : span[1]]) < _min_words(clause):
            continue
        found.append((span, Cue(lemma, subject, rule, token.idx), token))
    # Keep the outermost report: "X said he believes Y" is one quote of X.
    found.sort(key=lambda item: (item[0][0], -item[0][1]))
    kept: list[tuple[tuple[int, int], Cue, Token]] = []
    for item in found:
        if kept and item[0][0] < kept[-1][0][1] and item[0][1] <= kept[-1][0][1]:
            continue
        kept.append(item)
    return kept
