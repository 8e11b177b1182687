"""Shared helpers: values made once per process."""

from __future__ import annotations

import threading
import time

import pytest
from newsbeam.transforms.common import OncePerProcess


def test_a_value_is_made_once_whether_started_ahead_or_asked_for():
    made = []

    def make():
        time.sleep(0.05)
        made.append(1)
        return len(made)

    ahead = OncePerProcess(make)
    ahead.start()
    ahead.start()
    results = []
    askers = [
        threading.Thread(target=lambda: results.append(ahead.result()))
        for _ in range(2)
    ]
    for thread in askers:
        thread.start()
    for thread in askers:
        thread.join()
    assert results == [1, 1] and made == [1]
    on_use = OncePerProcess(lambda: "now")
    assert on_use.result() == "now"


def test_a_failure_is_raised_to_each_caller():
    def broken():
        raise OSError("model missing")

    value = OncePerProcess(broken)
    value.start()
    for _ in range(2):
        with pytest.raises(OSError, match="model missing"):
            value.result()


def test_doc_text_takes_the_source_text_only_when_it_fits():
    import spacy
    from newsbeam.transforms.common import doc_text

    nlp = spacy.blank("en")
    text = "Lavrov said: \u201cWe will respond.\u201d\n\nMay answered.  "
    doc = nlp(text)
    assert doc_text(doc, text) is text
    assert doc_text(doc) == text == doc.text
    with pytest.raises(ValueError, match="not the one the Doc was made from"):
        doc_text(doc, text + " more")
    with pytest.raises(ValueError):
        doc_text(doc, "X" + text[1:])
    empty = nlp("")
    assert doc_text(empty, "") == ""
