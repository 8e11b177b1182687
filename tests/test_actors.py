"""The actor registry and ids: pure, no model.

Slugs are partition names of every Parquet file already written, so their expected
values are fixed here: a failing slug test means a release would rename partitions.
"""

from __future__ import annotations

import pickle

import pytest
from newsbeam.transforms.actors import (
    ActorRegistry,
    alias_key,
    person_key,
    resolve_across_articles,
    slugify,
)


@pytest.fixture(scope="module")
def registry() -> ActorRegistry:
    return ActorRegistry.load()


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Boris Johnson", "boris-johnson"),
        ("Curaçao", "curacao"),
        ("Recep Tayyip Erdoğan", "recep-tayyip-erdogan"),
        ("Korean People's Army", "korean-peoples-army"),
        ("AT&T", "at-and-t"),
        ("Kim Jong-un", "kim-jong-un"),
        ("  São  Tomé & Príncipe ", "sao-tome-and-principe"),
        ("Łódź", "lodz"),
        ("Straße", "strasse"),
        ("../../etc/passwd", "etc-passwd"),
        ("Путин", "x-983b039e52"),
        ("", "x-e3b0c44298"),
    ],
)
def test_slugs_are_fixed(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_slugs_are_safe_path_parts_and_bounded() -> None:
    long_a = "The " + "Very " * 30 + "Long Organisation A"
    long_b = "The " + "Very " * 30 + "Long Organisation B"
    for name in (long_a, "a/b\\c..d", "..", "/", "\\"):
        slug = slugify(name)
        assert slug and "/" not in slug and "\\" not in slug and ".." not in slug
        assert len(slug) <= 80
    assert slugify(long_a) != slugify(long_b)
    assert slugify(long_a) == "the-" + "very-" * 13 + "ve-42b44cea"
    assert slugify("x" * 100) == "x" * 71 + "-09ecb6eb"


@pytest.mark.parametrize(
    ("text", "actor_id"),
    [
        ("Russia", "russia"),
        ("Russian", "russia"),
        ("Russians", "russia"),
        ("Russia's", "russia"),
        ("Russian Federation", "russia"),
        ("Britain", "united-kingdom"),
        ("UK", "united-kingdom"),
        ("U.K.", "united-kingdom"),
        ("the UK", "united-kingdom"),
        ("Great Britain", "united-kingdom"),
        ("British", "united-kingdom"),
        ("US", "united-states"),
        ("U.S.", "united-states"),
        ("America", "united-states"),
        ("Americans", "united-states"),
        ("United States of America", "united-states"),
        ("German", "germany"),
        ("Iranian", "iran"),
        ("Iran, Islamic Republic of", "iran"),
        ("DPRK", "north-korea"),
        ("South Korean", "south-korea"),
        ("Curacao", "curacao"),
        ("Côte d'Ivoire", "ivory-coast"),
        ("Burma", "myanmar"),
    ],
)
def test_countries_aliases_and_demonyms(
    registry: ActorRegistry, text: str, actor_id: str
) -> None:
    actor = registry.lookup(text)
    assert actor is not None, text
    assert (actor.actor_id, actor.type, actor.country) == (actor_id, "place", actor_id)


def test_every_pycountry_country_is_an_actor(registry: ActorRegistry) -> None:
    import pycountry

    ids = {a.actor_id for a in registry.countries()}
    assert len(ids) == len(pycountry.countries)
    for country in pycountry.countries:
        assert registry.country_of_name(country.alpha_2) is not None


@pytest.mark.parametrize(
    ("text", "actor_id", "actor_type", "country"),
    [
        ("Moscow", "moscow", "place", "russia"),
        ("the Kremlin", "kremlin", "organisation", "russia"),
        ("Downing Street", "downing-street", "organisation", "united-kingdom"),
        ("White House", "white-house", "organisation", "united-states"),
        ("England", "england", "place", "united-kingdom"),
        ("Scottish", "scotland", "place", "united-kingdom"),
        ("NATO", "nato", "organisation", ""),
        ("Trump", "donald-trump", "person", "united-states"),
        ("Sergey Lavrov", "sergei-lavrov", "person", "russia"),
    ],
)
def test_institutions_cities_and_people_keep_their_country(
    registry: ActorRegistry, text: str, actor_id: str, actor_type: str, country: str
) -> None:
    actor = registry.lookup(text)
    assert actor is not None, text
    assert (actor.actor_id, actor.type, actor.country) == (
        actor_id,
        actor_type,
        country,
    )


def test_unknown_names_are_not_guessed(registry: ActorRegistry) -> None:
    assert registry.lookup("Acme Widgets") is None
    assert registry.lookup("Johnson") is None  # too common to mean one person


def test_transliterations_share_a_person_key() -> None:
    assert person_key("Sergei Lavrov") == person_key("Sergey Lavrov")
    assert person_key("Dmitry Peskov") == person_key("Dmitri Peskov")
    assert person_key("Kim Jong-un") == person_key("Kim Jong Un")
    assert person_key("Volodymyr Zelenskyy") == person_key("Volodymyr Zelensky")
    assert person_key("Recep Tayyip Erdoğan") == person_key("Recep Tayyip Erdogan")
    assert person_key("Martin Luther King Jr.") == person_key("Martin Luther King")
    assert person_key("Boris Johnson") != person_key("Lyndon Johnson")
    assert alias_key("the U.K.") == alias_key("UK") == "uk"


def test_registry_pickles_and_still_resolves(registry: ActorRegistry) -> None:
    blob = pickle.dumps(registry)
    assert len(blob) < 200_000
    again = pickle.loads(blob)
    assert again.lookup("Russians") == registry.lookup("Russians")
    assert again.version == registry.version


def test_user_aliases_from_csv(tmp_path) -> None:
    path = tmp_path / "aliases.csv"
    path.write_text(
        "# alias, canonical name, type, country\n"
        "Vova,Vladimir Putin\n"
        "Bojo,Boris Johnson,person,GB\n"
        "Acme,Acme Widgets Ltd,organisation,Germany\n"
        "Brits,Britain\n",
        encoding="utf-8",
    )
    registry = ActorRegistry.load(str(path))
    assert registry.lookup("Vova").actor_id == "vladimir-putin"
    assert registry.lookup("Vova").type == "person"
    bojo = registry.lookup("bojo")
    assert (bojo.actor_id, bojo.country) == ("boris-johnson", "united-kingdom")
    acme = registry.lookup("ACME")
    assert (acme.actor_id, acme.type, acme.country) == (
        "acme-widgets-ltd",
        "organisation",
        "germany",
    )
    assert registry.lookup("Brits").actor_id == "united-kingdom"
    assert registry.version.endswith(".user")


def test_user_aliases_from_json_override_shipped(tmp_path) -> None:
    path = tmp_path / "aliases.json"
    path.write_text(
        '{"Johnson": {"name": "Boris Johnson", "type": "person", "country": "UK"},'
        ' "the Bureau": "Federal Bureau of Investigation"}',
        encoding="utf-8",
    )
    registry = ActorRegistry.load(str(path))
    assert registry.lookup("Johnson").actor_id == "boris-johnson"
    assert registry.lookup("the Bureau").country == "united-states"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Vova\n", "needs an alias and a name"),
        ("Vova,Vladimir Putin,tsar\n", "has type 'tsar'"),
        ("Vova,Vladimir Putin,person,Narnia\n", "unknown country 'Narnia'"),
    ],
)
def test_bad_user_alias_files_say_what_is_wrong(
    tmp_path, content: str, message: str
) -> None:
    path = tmp_path / "aliases.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        ActorRegistry.load(str(path))


def test_missing_user_alias_file_is_an_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ActorRegistry.load(str(tmp_path / "nope.csv"))


def test_resolve_across_articles_links_unique_surnames() -> None:
    persons = [
        ("warhol", "Warhol"),
        ("andy-warhol", "Andy Warhol"),
        ("sergey-lavrov", "Sergey Lavrov"),
        ("sergei-lavrov", "Sergei Lavrov"),
        ("lavrov", "Lavrov"),
        ("johnson", "Johnson"),
        ("boris-johnson", "Boris Johnson"),
        ("lyndon-johnson", "Lyndon Johnson"),
    ]
    rewrites = resolve_across_articles(persons)
    assert rewrites == {
        "warhol": "andy-warhol",
        "sergey-lavrov": "sergei-lavrov",
        "lavrov": "sergei-lavrov",
    }
    # Independent of order, and counts choose among spelling variants.
    assert resolve_across_articles(reversed(persons)) == rewrites
    counted = resolve_across_articles(persons, {"sergey-lavrov": 5, "sergei-lavrov": 1})
    assert counted["sergei-lavrov"] == counted["lavrov"] == "sergey-lavrov"


def test_streaming_resolves_against_stored_people():
    from datetime import UTC, datetime

    from newsbeam.schemas import ActorRecord
    from newsbeam.transforms.actors import resolve_with_stored, stored_people_table

    when = datetime(2024, 3, 1, tzinfo=UTC)

    def person(actor_id: str, name: str, count: int = 3) -> ActorRecord:
        return ActorRecord(actor_id, name, "person", "", [name], count, when, when)

    records = [
        person("david-cameron", "David Cameron", 9),
        person("sergey-lavrov", "Sergey Lavrov", 1),
        person("sergei-lavrov", "Sergei Lavrov", 5),
        person("anna-berg", "Anna Berg"),
        person("lars-berg", "Lars Berg"),
        ActorRecord("russia", "Russia", "place", "", [], 50, when, when),
    ]
    table, by_surname = stored_people_table(records)
    assert resolve_with_stored("cameron", "Cameron", True, table, by_surname) == (
        "david-cameron",
        "David Cameron",
    )
    assert resolve_with_stored(
        "sergey-lavrov", "Sergey Lavrov", True, table, by_surname
    ) == ("sergei-lavrov", "Sergei Lavrov")
    assert resolve_with_stored("berg", "Berg", True, table, by_surname) is None
    assert resolve_with_stored("cameron", "Cameron", False, table, by_surname) is None
    assert resolve_with_stored("russia", "Russia", False, table, by_surname) is None
