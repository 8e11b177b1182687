"""Quotation marks: pairing them into quoted stretches, on the characters alone.

Quote marks are where tokenisers and parsers go wrong most: straight marks are
ambiguous, single marks double as apostrophes, and one unbalanced mark would swallow
the rest of the article. Marks are therefore paired per paragraph, and a quote left
open at the end of a paragraph only continues when the next paragraph opens with a
mark (the newspaper convention); otherwise it is closed at the paragraph end. Pure
functions over strings: testable without a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CURLY_PAIRS = {"“": "”", "‘": "’", "«": "»", "‹": "›", "„": "“”", "‚": "‘’"}
# Every character that can open or close a quote: the scan jumps from one to the
# next, since a loop over every character of an article cost more than the pairing.
_MARK_RE = re.compile("[\"“”„‚«»‹›'‘’]")


@dataclass(slots=True)
class Marked:
    """A quoted stretch of text found from its marks, before attribution."""

    start: int  # content start (after the opening mark)
    end: int  # content end (before the closing mark)
    open_mark: int  # index of the opening mark
    close_mark: int  # index of the closing mark, or ``end`` when unclosed
    paragraph: int
    closed: bool = True
    parts: list[tuple[int, int]] = field(default_factory=list)


# ------------------------------------------------------------------ quote marks


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of paragraphs: runs of text between blank lines."""
    spans = []
    pos = 0
    for match in re.finditer(r"\n[ \t]*\n\s*", text):
        if match.start() > pos:
            spans.append((pos, match.start()))
        pos = match.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return spans


def _is_opening(text: str, i: int) -> bool:
    """Whether the straight mark at ``i`` looks like it opens a quote."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in "([{—–-:/") and not after.isspace()


def _is_closing(text: str, i: int) -> bool:
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return not before.isspace() and (after.isspace() or not after.isalnum())


def _single_opens(text: str, i: int) -> bool:
    """A single mark opens only at a word start (not in "rock'n'roll")."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in '([{—–-:"“') and after.isalnum()


def _single_closes(text: str, i: int) -> bool:
    """A single mark closes only at a word end, so "don't" and "it’s" stay words."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return not before.isspace() and not after.isalnum()


def _scan_paragraph(
    text: str, start: int, end: int
) -> tuple[list[tuple[int, int]], int | None]:
    """Pair the marks of one paragraph; return closed quotes and a still-open one.

    Inside an open quote only its own closer counts, so nested quotes of the other
    family stay part of the content instead of breaking the pairing. A straight
    opener may be closed by a curly mark at a word end: editors mix them.
    """
    found: list[tuple[int, int]] = []  # (open mark index, close mark index)
    open_at: int | None = None
    closers = ""
    for match in _MARK_RE.finditer(text, start, end):  # other characters do nothing
        i = match.start()
        ch = text[i]
        if open_at is None:
            if ch == '"':
                open_at, closers = i, '"”“'
            elif ch in "“„«‹":
                open_at, closers = i, CURLY_PAIRS[ch] + ('"' if ch == "“" else "")
            elif ch in "'‘" and _single_opens(text, i):
                open_at, closers = i, "'’" if ch == "'" else "’"
            elif ch == "»" and i + 1 < end and text[i + 1].isalnum():
                open_at, closers = i, "«"  # reversed guillemets (German style)
        elif ch in closers:
            single = ch in "'’"
            mixed = ch == "“" and closers.startswith('"')
            if (not single or _single_closes(text, i)) and (
                not mixed or _is_closing(text, i)
            ):
                found.append((open_at, i))
                open_at = None
    return found, open_at


def marked_quotes(text: str) -> list[Marked]:
    """All quoted stretches of the text, recovered paragraph by paragraph."""
    paragraphs = paragraph_spans(text)
    result: list[Marked] = []
    carry: Marked | None = None  # a quote that runs on into the next paragraph
    for number, (p_start, p_end) in enumerate(paragraphs):
        pairs, open_at = _scan_paragraph(text, p_start, p_end)
        first_char = text[p_start] if p_start < p_end else ""
        if carry is not None:
            continues = first_char in "\"“„«‘'" and (
                (pairs and pairs[0][0] == p_start) or open_at == p_start
            )
            if continues and pairs and pairs[0][0] == p_start:
                _, close = pairs.pop(0)
                carry.parts.append((p_start + 1, close))
                carry.end, carry.close_mark, carry.closed = close, close, True
                result.append(carry)
                carry = None
            elif continues:
                carry.parts.append((p_start + 1, p_end))
                carry.end = carry.close_mark = p_end
                open_at = None
            else:
                result.append(carry)
                carry = None
        for open_mark, close_mark in pairs:
            result.append(
                Marked(
                    open_mark + 1,
                    close_mark,
                    open_mark,
                    close_mark,
                    number,
                    parts=[(open_mark + 1, close_mark)],
                )
            )
        # An unbalanced mark: keep what follows it to the paragraph end, but only
        # if it opens something that looks like speech, not a stray mark.
        if (
            open_at is not None
            and carry is None
            and (_is_opening(text, open_at) or open_at == p_start)
        ):
            carry = Marked(
                open_at + 1,
                p_end,
                open_at,
                p_end,
                number,
                closed=False,
                parts=[(open_at + 1, p_end)],
            )
    if carry is not None:
        result.append(carry)
    for marked in result:
        marked.start, marked.end = strip_span(text, marked.start, marked.end)
    return [m for m in result if m.end > m.start]


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
