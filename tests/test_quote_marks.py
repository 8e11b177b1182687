"""Quotation marks paired on the characters alone: no model, no spaCy.

The pairing decides what can be a quote before any parse is read, so its cases
(mark families, apostrophes, unbalanced marks, quotations that run over
paragraphs) are pinned here on plain strings.
"""

from __future__ import annotations

from newsbeam.transforms.quotes.assemble import strip_segment
from newsbeam.transforms.quotes.marks import marked_quotes, paragraph_spans


def contents(text: str) -> list[str]:
    return [text[m.start : m.end] for m in marked_quotes(text)]


def parts(text: str) -> list[list[str]]:
    return [[text[a:b].strip() for a, b in m.parts] for m in marked_quotes(text)]


def test_paragraphs_are_runs_between_blank_lines():
    text = "Headline\n\nFirst para.\n \nSecond para.\n"
    spans = paragraph_spans(text)
    assert [text[a:b].strip() for a, b in spans] == [
        "Headline",
        "First para.",
        "Second para.",
    ]


def test_every_mark_family_pairs_with_its_own_closer():
    text = (
        'He said "straight" and “curly” and ‘single’ and «guillemets» '
        "and „low“ and »reversed«."
    )
    assert contents(text) == [
        "straight",
        "curly",
        "single",
        "guillemets",
        "low",
        "reversed",
    ]


def test_apostrophes_open_and_close_nothing():
    text = "The union's chief said it's rock'n'roll, isn't it? Don't ask."
    assert contents(text) == []


def test_nested_marks_of_the_other_family_stay_inside():
    text = "“He called it ‘a farce’ and left,” she said."
    assert contents(text) == ["He called it ‘a farce’ and left,"]


def test_straight_opener_closed_by_a_curly_mark():
    text = 'Officials said "talks will resume on Monday” after the break.'
    assert contents(text) == ["talks will resume on Monday"]


def test_unbalanced_mark_stops_at_the_paragraph_end():
    text = '"Crews are working through the night.\n\nThe storm moved east.'
    found = marked_quotes(text)
    assert [text[m.start : m.end] for m in found] == [
        "Crews are working through the night."
    ]
    assert not found[0].closed


def test_quotation_continues_when_the_next_paragraph_opens_with_a_mark():
    text = (
        '"The first paragraph ends without a closing mark.\n\n'
        '"The second one closes it," she said.'
    )
    assert parts(text) == [
        [
            "The first paragraph ends without a closing mark.",
            "The second one closes it,",
        ]
    ]


def test_segment_loses_the_attribution_comma_but_keeps_a_full_stop():
    text = '"We will not be intimidated," he said. "Never."'
    first, second = marked_quotes(text)
    a, b = strip_segment(text, first.start, first.end)
    assert text[a:b] == "We will not be intimidated"
    a, b = strip_segment(text, second.start, second.end)
    assert text[a:b] == "Never."
