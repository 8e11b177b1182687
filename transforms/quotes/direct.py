"""Direct quotes: quoted stretches with the speech cue before, after or between them."""

from __future__ import annotations

from bisect import bisect_left

from newsbeam.transforms.quotes.context import Context
from newsbeam.transforms.quotes.cues import (
    Cue,
    according_to,
    find_cue,
    is_cue_verb,
    speaker_of,
)
from newsbeam.transforms.quotes.lexicon import (
    MAX_CUE_TOKENS,
    NAMING_WORDS,
    SPEAKER_DEPS,
    VERDICT_VERBS,
    WORD_RE,
)
from newsbeam.transforms.quotes.marks import Marked, marked_quotes, strip_span
from spacy.tokens import Token

# ------------------------------------------------------------------ direct quotes


def _window_after(ctx: Context, marked: Marked, limit_char: int) -> list[Token]:
    """Tokens after a closing mark up to the end of that sentence or the next quote."""
    p_end = ctx.paragraphs[ctx.paragraph_of(marked.close_mark)][1]
    window = ctx.token_range(marked.close_mark + 1, min(p_end, limit_char))
    stops = ctx.clause_ends
    at = bisect_left(stops, window.start)
    stop = stops[at] if at < len(stops) else window.stop
    end = min(window.stop, stop, window.start + MAX_CUE_TOKENS)
    return [ctx.doc[i] for i in range(window.start, end)]


def _window_before(ctx: Context, marked: Marked, limit_char: int) -> list[Token]:
    """Tokens before an opening mark back to the previous sentence end or quote."""
    p_start = ctx.paragraphs[marked.paragraph][0]
    window = ctx.token_range(max(p_start, limit_char), marked.open_mark)
    stops = ctx.sentence_ends
    at = bisect_left(stops, window.stop) - 1
    begin = stops[at] + 1 if at >= 0 and stops[at] >= window.start else window.start
    begin = max(begin, window.stop - MAX_CUE_TOKENS)
    return [ctx.doc[i] for i in reversed(range(begin, window.stop))]  # nearest first


def quote_tokens(ctx: Context, marked: Marked) -> list[Token]:
    return [ctx.doc[i] for i in ctx.indices_in(marked.parts)]


def is_naming(ctx: Context, marked: Marked) -> bool:
    """A quoted name or mention ("known as 'X'", "the words 'X'", a title)."""
    indices = ctx.indices_in(marked.parts)
    if not indices:
        return True
    inside = set(indices)
    p_start, p_end = ctx.paragraphs[marked.paragraph]
    for i in indices:  # only the words whose head is outside the quote matter
        if ctx.heads[i] in inside:
            continue
        head = ctx.doc[ctx.heads[i]]
        if not p_start <= head.idx < p_end:
            continue  # the parser ran the headline into the quote: not a naming
        words = [head, head.head] if head.dep_ in ("prep", "agent") else [head]
        for word in words:
            lemma = word.lemma_.lower()
            naming = lemma in NAMING_WORDS or word.lower_ in NAMING_WORDS
            if naming and not (lemma in VERDICT_VERBS and has_subject(word)):
                return True
    # A citation line: "Title" — Publisher, date.
    after = ctx.text[marked.close_mark + 1 : marked.close_mark + 4].strip()
    return after.startswith(("—", "–", "- "))


def has_subject(verb: Token) -> bool:
    """Whether a verb has someone doing it: a subject of its own, or, for a
    participle hung on a clause ("spoke out, calling it 'an aggression'"), that
    clause's subject. A verdict verb with a subject attributes its quoted words;
    without one it names a thing ("the so-called 'deal'")."""
    if any(c.dep_ == "nsubj" for c in verb.children):
        return True
    return (
        verb.dep_ == "advcl"
        and verb.tag_ == "VBG"
        and any(c.dep_ == "nsubj" for c in verb.head.children)
    )


def _governed_by_cue(ctx: Context, marked: Marked) -> Cue | None:
    """A speech verb (or "according to") that the quoted words hang from."""
    indices = ctx.indices_in(marked.parts)
    inside = set(indices)
    p_start, p_end = ctx.paragraphs[marked.paragraph]
    for i in indices:
        if ctx.heads[i] in inside:
            continue
        current = ctx.doc[ctx.heads[i]]
        for _ in range(8):
            if not p_start <= current.idx < p_end:
                break  # the parser joined paragraphs; a cue never crosses them
            if not ctx.quoted[current.i]:
                verdict = current.lemma_.lower() in VERDICT_VERBS and has_subject(
                    current
                )
                if is_cue_verb(current) or verdict:
                    subject = speaker_of(ctx, current)
                    if subject is None:  # "has been told to ...", according to X
                        subject = next(
                            filter(None, map(according_to, current.sent)), None
                        )
                    return Cue(
                        current.lemma_.lower(),
                        subject,
                        "direct.governing_cue",
                        current.idx,
                    )
                source = according_to(current)
                if source is not None:
                    return Cue("according to", source, "direct.according_to", 0)
            if current.head.i == current.i:
                break
            current = current.head
    return None


def is_title(content: str) -> bool:
    """Title Case without a verb-like lower-case word: a work's title, not speech."""
    words = [w for w in WORD_RE.findall(content) if len(w) > 3]
    if not words:
        return False
    capitalised = sum(1 for w in words if w[0].isupper())
    return capitalised / len(words) >= 0.75 and len(words) <= 12


def word_count(text: str) -> int:
    return len(WORD_RE.findall(text))


def _ends_sentence(text: str, marked: Marked) -> bool:
    """Whether a quote closes its sentence with a full stop and the next sentence
    starts after it ('... a crisis." Anna Berg said "..."'): news style puts a
    comma, not a full stop, before a cue that follows its quote, so the verb after
    such a quote belongs to the next sentence and its own words."""
    if text[marked.end - 1 : marked.end] != ".":
        return False
    after = text[marked.close_mark + 1 : marked.close_mark + 40].lstrip()
    return not after[:1].islower()


def _ends_clause(text: str, marked: Marked) -> bool:
    """Whether the quote closes a clause ("...," he said) rather than sitting inside
    one ("things are not easy" between ...), which decides if a cue may follow it."""
    inside = text[marked.end - 1 : marked.end] if marked.end > marked.start else ""
    after = text[marked.close_mark + 1 : marked.close_mark + 3].lstrip(" ")
    return inside in ",.!?—–-;:" or after[:1] in (",", ".", "!", "?", ";", "—", "–")


def _kind(text: str, marked: Marked) -> str:
    """ "direct" for a quoted utterance, "mixed" for quoted words woven into the
    reporter's sentence."""
    after = text[marked.close_mark + 1 : marked.close_mark + 3].strip()
    before = text[max(0, marked.open_mark - 2) : marked.open_mark].strip()
    content = text[marked.start : marked.start + 1]
    if text[marked.end - 1 : marked.end] in (",", ".", "!", "?"):
        return "direct"
    if after[:1].isalpha():
        return "mixed"
    if content.islower() and before[-1:] not in (":", ",", ""):
        return "mixed"
    return "direct"


def _close_at_inline_cue(ctx: Context, marked: Marked) -> None:
    """Repair a quote whose closing mark is missing: '"Crews are working, said
    Karen Doyle.' ends at the comma before the cue, as a reader would read it."""
    tokens = quote_tokens(ctx, marked)
    for position, token in enumerate(tokens[1:-1], start=1):
        if tokens[position - 1].text != "," or not is_cue_verb(token):
            continue
        nxt = tokens[position + 1]
        inverted = nxt.pos_ in ("PROPN", "PRON") or nxt.ent_type_ == "PERSON"
        if inverted or token.dep_ in ("ROOT", "parataxis"):
            comma = tokens[position - 1].idx
            marked.end = marked.close_mark = comma
            marked.parts[-1] = (marked.parts[-1][0], comma)
            marked.start, marked.end = strip_span(ctx.text, marked.start, marked.end)
            return
    # Also "..., Karen Doyle said." (subject first).
    for position, token in enumerate(tokens[2:], start=2):
        if not is_cue_verb(token) or tokens[position - 2].text != ",":
            continue
        if tokens[position - 1].pos_ in ("PROPN", "PRON"):
            comma = tokens[position - 2].idx
            marked.end = marked.close_mark = comma
            marked.parts[-1] = (marked.parts[-1][0], comma)
            return


def _trailing_cue(ctx: Context, after: list[Token]) -> Cue | None:
    """The cue after a quote; a clause joined on after it (", and warned that
    ...") is a new report of the sentence's speaker, not this quote's cue."""
    joined = next(
        (
            k
            for k, t in enumerate(after)
            if t.dep_ == "cc" and t.head.pos_ in ("VERB", "AUX")
        ),
        len(after),
    )
    return find_cue(after[:joined], ctx, "direct.trailing_cue")


def _split_cue(
    ctx: Context, marked: Marked, nxt: Marked | None, after: list[Token]
) -> Cue | None:
    """The cue between two halves of one quotation ('"A," she said, "B."'): the
    first half ends on a comma or dash, the cue follows, and the second half
    opens right after the cue's own comma, in the same paragraph."""
    text = ctx.text
    if (
        not after
        or nxt is None
        or nxt.paragraph != marked.paragraph
        or text[marked.end - 1] not in ",—–-"
        or not text[after[-1].idx : nxt.open_mark].strip().endswith(",")
        or after[-1].idx + len(after[-1].text) < nxt.open_mark - 2
    ):
        return None
    return _trailing_cue(ctx, after)


def direct_quotes(ctx: Context) -> list[tuple[Marked, Cue | None, str]]:
    """Find direct quotes and their cues; merge split quotes into one.

    Quotes in the headline are left out: a headline repeats a quote of the body in
    shortened form, and counting it twice would double the speaker's share.
    """
    text = ctx.text
    marks = [m for m in marked_quotes(text) if m.open_mark >= ctx.headline_end]
    for marked in marks:
        if not marked.closed:
            _close_at_inline_cue(ctx, marked)
        for i in ctx.indices_in(marked.parts):
            ctx.quoted[i] = True
    results: list[tuple[Marked, Cue | None, str]] = []
    index = 0
    while index < len(marks):
        marked = marks[index]
        nxt = marks[index + 1] if index + 1 < len(marks) else None
        limit_after = nxt.open_mark if nxt is not None else len(text)
        prev_close = results[-1][0].close_mark + 1 if results else 0
        after = _window_after(ctx, marked, limit_after)
        before = _window_before(ctx, marked, prev_close)
        kind = _kind(text, marked)
        trailing = _ends_clause(text, marked) and not _ends_sentence(text, marked)
        # Split quote: "...," he said, "..." -> one quote, one speaker; the cue
        # between the halves is theirs even after a colon ('... decision: "A,"
        # he said, "B"'), whose verb introduced the whole.
        split = _split_cue(ctx, marked, nxt, after) if trailing else None
        if split is not None:
            merged = Marked(
                marked.start,
                nxt.end,
                marked.open_mark,
                nxt.close_mark,
                marked.paragraph,
                nxt.closed,
                parts=marked.parts + nxt.parts,
            )
            results.append((merged, split, "direct"))
            index += 2
            continue
        cue = None
        # "He told reporters: "..."" / "Rathke said, "..."": cue then punctuation.
        if before and before[0].text in (",", ":"):
            cue = find_cue(before, ctx, "direct.leading_cue")
            if cue is None and before[0].text == ":" and len(before) > 1:
                root = before[1].sent.root
                subject = next(
                    (c for c in root.children if c.dep_ in SPEAKER_DEPS), None
                )
                if subject is not None and not ctx.quoted[root.i]:
                    cue = Cue("", subject, "direct.colon", before[0].idx)
        if cue is None and after and trailing:
            cue = _trailing_cue(ctx, after)
        if cue is None:
            cue = _governed_by_cue(ctx, marked)
        if cue is None and before:
            cue = find_cue(before, ctx, "direct.leading_cue")
        results.append((marked, cue, kind))
        index += 1
    return results
