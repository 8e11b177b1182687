"""Row types and Arrow schemas must name the same columns, in the same order."""

from __future__ import annotations

import dataclasses

import pytest
from newsbeam.schemas import ACTORS_SPEC, DATASETS, FeedItem, row_fields
from newsbeam.schemas.layout import LAYOUTS, partition_keys

CONTRACT = {  # the columns outside tools depend on (issue: output contract)
    "articles": {
        "article_id",
        "feed_url",
        "source",
        "url",
        "guid",
        "title",
        "published_at",
        "date_source",
        "language",
        "text",
        "word_count",
    },
    "mentions": {
        "article_id",
        "actor_id",
        "actor_name",
        "actor_type",
        "actor_country",
        "label",
        "text",
        "start_char",
        "end_char",
    },
    "quotes": {
        "quote_id",
        "article_id",
        "speaker_id",
        "speaker_name",
        "speaker_text",
        "speaker_role",
        "segments",
        "quote",
        "kind",
        "cue",
        "start_char",
        "end_char",
    },
    "dead_letters": {"stage", "source", "error", "detail", "payload"},
}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_row_type_matches_schema(name):
    spec = DATASETS[name]
    assert row_fields(spec.row_type) == spec.schema.names


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_contract_columns_present(name):
    assert CONTRACT[name] <= set(DATASETS[name].schema.names)


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_partition_columns_are_named_after_file_columns(name, layout):
    """``date`` is derived; an actor partition repeats its column, so hive readers
    see the same columns in every layout."""
    spec = DATASETS[name]
    assert "date" not in spec.schema.names
    assert set(partition_keys(spec, layout)) - {"date"} <= set(spec.schema.names)


@pytest.mark.parametrize("name", ["mentions", "quotes"])
def test_rows_are_clustered_by_their_actor(name):
    spec = DATASETS[name]
    assert spec.sort_by[0] == spec.actor_field
    assert spec.sort_by[1] == "article_id"


def test_rows_are_immutable():
    assert dataclasses.is_dataclass(FeedItem)
    for spec in DATASETS.values():
        assert spec.row_type.__dataclass_params__.frozen


def test_actor_record_matches_schema():
    assert row_fields(ACTORS_SPEC.row_type) == ACTORS_SPEC.schema.names
