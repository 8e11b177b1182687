"""``newsbeam report``: stories, figures against SQL, the writers and the command line.

Two outputs: a small one written here row by row with the project's schemas, whose
every figure is worked out by hand below (outlets with their countries, speakers of
both sides, a quote with no speaker); and the bundled example feeds run through the
real pipeline, where no outlet country is known yet and the report must say so.
The browser tests are in ``test_report_browser.py``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from conftest import EXAMPLE_FEEDS, REPO, TEST_RUNNER, make_article
from newsbeam.pipeline.cli import main
from newsbeam.pipeline.query import connect
from newsbeam.pipeline.report.queries import Request, build
from newsbeam.pipeline.report.stories import (
    ReportError,
    Story,
    find_story_file,
    keyword_pattern,
    load_stories,
    suggest,
)
from newsbeam.schemas import DATASETS, Mention, Quote, pyarrow_partitioning, to_table

STORIES = REPO / "examples" / "stories.toml"


# ------------------------------------------------------------ a world by hand


@dataclass(frozen=True)
class Piece:
    """One article of the hand-made output: who is mentioned, who is quoted."""

    article_id: str
    day: int  # of May 2024
    outlet: str
    country: str | None
    actors: tuple[str, ...]
    speakers: tuple[str | None, ...]
    text: str = "Body."


ACTORS = {
    "united-kingdom": ("United Kingdom", "place", "united-kingdom"),
    "russia": ("Russia", "place", "russia"),
    "france": ("France", "place", "france"),
    "ukraine": ("Ukraine", "place", "ukraine"),
    "vladimir-putin": ("Vladimir Putin", "person", "russia"),
    "david-lammy": ("David Lammy", "person", "united-kingdom"),
    "dmitry-peskov": ("Dmitry Peskov", "person", "russia"),
    "volodymyr-zelensky": ("Volodymyr Zelensky", "person", "ukraine"),
    "emmanuel-macron": ("Emmanuel Macron", "person", "france"),
}

WORLD = (
    Piece(
        "a1",
        6,
        "Daily Post",
        "GB",
        ("united-kingdom", "russia", "vladimir-putin", "david-lammy", "dmitry-peskov"),
        ("david-lammy", "david-lammy", "dmitry-peskov"),
    ),
    Piece(
        "a2",
        6,
        "Moscow Herald",
        "RU",
        ("russia", "united-kingdom", "dmitry-peskov"),
        ("dmitry-peskov", "dmitry-peskov", None),
    ),
    Piece(
        "a3", 7, "Wire Service", None, ("russia", "dmitry-peskov"), ("dmitry-peskov",)
    ),
    Piece(
        "a4",
        7,
        "Daily Post",
        "GB",
        ("united-kingdom", "france", "emmanuel-macron"),
        ("emmanuel-macron",),
    ),
    Piece(
        "a5",
        13,
        "Daily Post",
        "GB",
        ("united-kingdom", "russia", "ukraine", "david-lammy", "volodymyr-zelensky"),
        ("david-lammy", "volodymyr-zelensky"),
        text="New sanctions on Moscow's oil.",
    ),
    Piece("a6", 14, "Wire Service", None, ("russia", "united-kingdom"), ()),
)


def _rows(piece: Piece):
    when = datetime(2024, 5, piece.day, 9, 30, tzinfo=UTC)
    article = make_article(
        piece.article_id,
        published_at=when,
        outlet=piece.outlet,
        source=piece.outlet,
        outlet_country=piece.country,
        title=f"Headline {piece.article_id}",
        url=f"https://news.test/{piece.article_id}",
        text=f"Headline {piece.article_id}\n\n{piece.text}",
    )
    mentions = [
        Mention(
            f"{piece.article_id}-m{i}",
            piece.article_id,
            actor,
            *ACTORS[actor][:3],
            "GPE",
            ACTORS[actor][0],
            0,
            5,
            when,
        )
        for i, actor in enumerate(piece.actors)
    ]
    quotes = []
    for i, speaker in enumerate(piece.speakers):
        name, _type, country = ACTORS[speaker] if speaker else (None, None, None)
        quotes.append(
            Quote(
                f"{piece.article_id}-q{i}",
                piece.article_id,
                speaker,
                name,
                name or "a source",
                None,
                country,
                f"words {piece.article_id} {i}",
                ((10 + i, 20 + i),),
                "direct",
                "said",
                10 + i,
                20 + i,
                0,
                4,
                "test",
                1.0,
                when,
            )
        )
    return article, mentions, quotes


def write_dataset(output: Path, name: str, rows: list) -> None:
    """Rows as the pipeline stores them: the dataset's schema and its partitions."""
    spec = DATASETS[name]
    table = to_table(rows, spec)
    days = pa.array([getattr(r, spec.date_field).date() for r in rows], pa.date32())
    table = table.append_column("date", days)
    ds.write_dataset(
        table,
        output / name,
        format="parquet",
        partitioning=pyarrow_partitioning(name),
        basename_template=f"part-{name}-{{i}}.parquet",
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("world")
    articles, mentions, quotes = [], [], []
    for piece in WORLD:
        article, m, q = _rows(piece)
        articles.append(article)
        mentions += m
        quotes += q
    write_dataset(output, "articles", articles)
    write_dataset(output, "mentions", mentions)
    write_dataset(output, "quotes", quotes)
    return output


def figures_for(output: Path, story: Story, **options):
    con = connect(str(output))
    try:
        return build(con, Request(story=story, **options))
    finally:
        con.close()


UK_RUSSIA = Story("uk-russia", ("united-kingdom", "russia"))


# --------------------------------------------------------------- hand figures


def test_story_articles_and_attention_by_day(world):
    figures = figures_for(world, UK_RUSSIA)
    assert figures.articles == 4  # a1, a2, a5, a6
    by_period = figures.views["attention"]["by_period"]
    assert [r["period"] for r in by_period] == [date(2024, 5, d) for d in range(6, 15)]
    counts = {r["period"].day: (r["articles"], r["all_articles"]) for r in by_period}
    assert counts[6] == (2, 2) and counts[7] == (0, 2)
    assert counts[10] == (0, 0) and counts[13] == (1, 1) and counts[14] == (1, 1)
    shares = {r["period"].day: r["share"] for r in by_period}
    assert shares[6] == 1.0 and shares[7] == 0.0 and shares[10] is None


def test_by_week_starts_on_monday(world):
    by_period = figures_for(world, UK_RUSSIA, by="week").views["attention"]["by_period"]
    assert [(r["period"], r["articles"], r["all_articles"]) for r in by_period] == [
        (date(2024, 5, 6), 2, 4),
        (date(2024, 5, 13), 2, 2),
    ]


def test_outlets_and_press(world):
    outlets = figures_for(world, UK_RUSSIA).views["outlets"]
    assert [
        (r["outlet"], r["press"], r["articles"], r["all_articles"])
        for r in outlets["by_outlet"]
    ] == [
        ("Daily Post", "GB", 2, 3),
        ("Moscow Herald", "RU", 1, 1),
        ("Wire Service", "unknown", 1, 2),  # outlet_country NULL: the unknown bucket
    ]
    assert outlets["by_outlet"][0]["attention"] == pytest.approx(2 / 3)
    assert [
        (r["press"], r["press_name"], r["articles"]) for r in outlets["by_press"]
    ] == [
        ("GB", "United Kingdom", 2),
        ("RU", "Russia", 1),
        ("unknown", "Country unknown", 1),
    ]
    assert sum(r["share"] for r in outlets["by_press"]) == pytest.approx(1)


def test_voices_and_sides(world):
    views = figures_for(world, UK_RUSSIA).views
    speakers = [
        (r["speaker_id"], r["quotes"], r["articles"], r["side"])
        for r in views["voices"]["speakers"]
    ]
    assert speakers == [
        ("david-lammy", 3, 2, "united-kingdom"),
        ("dmitry-peskov", 3, 2, "russia"),
        ("volodymyr-zelensky", 1, 1, "other"),
    ]
    latest = [
        r for r in views["voices"]["latest_quotes"] if r["speaker_id"] == "david-lammy"
    ]
    assert [r["title"] for r in latest] == ["Headline a5", "Headline a1", "Headline a1"]
    assert latest[0]["outlet"] == "Daily Post" and latest[0]["press"] == "GB"
    sides = {r["side"]: (r["quotes"], r["share"]) for r in views["sides"]["by_side"]}
    assert sides == {
        "united-kingdom": (3, 3 / 8),
        "russia": (3, 3 / 8),
        "other": (1, 1 / 8),
        "unknown": (1, 1 / 8),
    }
    by_press = {
        (r["press"], r["side"]): r["quotes"] for r in views["sides"]["by_press"]
    }
    assert by_press[("GB", "united-kingdom")] == 3
    assert by_press[("GB", "russia")] == 1
    assert by_press[("RU", "russia")] == 2 and by_press[("RU", "unknown")] == 1


def test_co_mentions_leave_out_the_story_actors(world):
    actors = figures_for(world, UK_RUSSIA).views["co_mentions"]["actors"]
    assert [(r["actor_id"], r["articles"]) for r in actors] == [
        ("david-lammy", 2),
        ("dmitry-peskov", 2),
        ("ukraine", 1),
        ("vladimir-putin", 1),
        ("volodymyr-zelensky", 1),
    ]
    assert actors[0]["actor_name"] == "David Lammy"


def test_who_speaks_about_whom(world):
    pairs = figures_for(world, UK_RUSSIA).views["who_speaks_about_whom"]["pairs"]
    found = {(r["speaker_id"], r["actor_id"]): r["quotes"] for r in pairs}
    assert found[("david-lammy", "dmitry-peskov")] == 2  # both in a1
    assert found[("david-lammy", "ukraine")] == 1  # a5
    assert ("david-lammy", "david-lammy") not in found
    assert not any(actor in UK_RUSSIA.actors for _speaker, actor in found)


def test_keywords_any_and_dates_narrow_the_story(world):
    assert (
        figures_for(
            world, Story("s", UK_RUSSIA.actors, keywords=("SANCTIONS",))
        ).articles
        == 1
    )
    assert (
        figures_for(
            world, Story("s", UK_RUSSIA.actors, keywords=("sanction",))
        ).articles
        == 0
    )  # whole words only
    assert figures_for(world, Story("s", ("russia",), match="any")).articles == 5
    assert (
        figures_for(world, Story("s", ("russia", "france"), match="any")).articles == 6
    )
    ranged = figures_for(world, UK_RUSSIA, start=date(2024, 5, 13))
    assert ranged.articles == 2
    assert ranged.summary["all_articles"] == 2


def test_sides_default_to_the_countries_of_the_actors(world):
    figures = figures_for(world, Story("s", ("vladimir-putin", "david-lammy")))
    assert [s["actor_id"] for s in figures.story["sides"]] == [
        "russia",
        "united-kingdom",
    ]
    assert figures.story["title"] == "Vladimir Putin and David Lammy"


def test_an_empty_story_is_a_report_of_zeros(world):
    figures = figures_for(world, Story("s", UK_RUSSIA.actors), end=date(2024, 5, 5))
    assert figures.articles == 0
    assert figures.views["attention"]["by_period"] == []
    assert figures.views["voices"]["speakers"] == []


# ---------------------------------------------- JSON and CSV against plain SQL


def _sql(output: Path, sql: str) -> list[tuple]:
    con = connect(str(output))
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


STORY_SQL = """
    SELECT article_id FROM mentions WHERE actor_id IN ('united-kingdom', 'russia')
    GROUP BY article_id HAVING count(DISTINCT actor_id) = 2
"""


def check_json_against_sql(output: Path, document: dict) -> None:
    """The figures of ``--format json`` for uk-russia, recomputed in plain SQL."""
    (articles,) = _sql(output, f"SELECT count(*) FROM ({STORY_SQL})")[0]
    assert document["articles"] == articles > 0
    per_day = dict(
        _sql(
            output,
            f"""
        SELECT CAST(published_at AS DATE), count(*) FROM articles
        WHERE article_id IN ({STORY_SQL}) GROUP BY 1""",
        )
    )
    assert {
        date.fromisoformat(r["period"]): r["articles"]
        for r in document["attention"]["by_period"]
        if r["articles"]
    } == per_day
    speakers = dict(
        _sql(
            output,
            f"""
        SELECT speaker_id, count(*) FROM quotes
        WHERE article_id IN ({STORY_SQL}) AND speaker_id IS NOT NULL
        GROUP BY 1""",
        )
    )
    reported = {r["speaker_id"]: r["quotes"] for r in document["voices"]["speakers"]}
    assert reported and all(speakers[k] == v for k, v in reported.items())
    ranked = sorted(speakers.values(), reverse=True)[: len(reported)]
    assert sorted(reported.values(), reverse=True) == ranked
    (quotes,) = _sql(
        output,
        f"""SELECT count(*) FROM quotes
        WHERE article_id IN ({STORY_SQL})""",
    )[0]
    assert sum(r["quotes"] for r in document["sides"]["by_side"]) == quotes
    assert sum(r["share"] for r in document["sides"]["by_side"]) == pytest.approx(1)
    for press in {r["press"] for r in document["sides"]["by_press"]}:
        shares = [
            r["share"] for r in document["sides"]["by_press"] if r["press"] == press
        ]
        assert sum(shares) == pytest.approx(1)
    outlets = dict(
        _sql(
            output,
            f"""
        SELECT COALESCE(outlet, source), count(*) FROM articles
        WHERE article_id IN ({STORY_SQL}) GROUP BY 1""",
        )
    )
    assert {
        r["outlet"]: r["articles"] for r in document["outlets"]["by_outlet"]
    } == outlets


def test_json_figures_equal_sql(world, capsys):
    code = main(
        ["report", str(world), "--actors", "united-kingdom,russia", "--format", "json"]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) >= {
        "articles",
        "attention",
        "outlets",
        "co_mentions",
        "voices",
        "sides",
        "who_speaks_about_whom",
    }
    check_json_against_sql(world, document)
    assert document["story"]["name"] == "united-kingdom-and-russia"


def test_csv_writes_one_file_per_table(world, tmp_path, capsys):
    folder = tmp_path / "csv"
    assert (
        main(
            [
                "report",
                str(world),
                "--actors",
                "united-kingdom,russia",
                "--format",
                "csv",
                "--out",
                str(folder),
            ]
        )
        == 0
    )
    assert "wrote 11 CSV files" in capsys.readouterr().out
    with open(folder / "sides.by_side.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["side"], r["quotes"]) for r in rows] == [
        ("united-kingdom", "3"),
        ("russia", "3"),
        ("other", "1"),
        ("unknown", "1"),
    ]
    with open(folder / "attention.by_period.csv", newline="") as handle:
        first = next(csv.DictReader(handle))
    assert first["period"] == "2024-05-06" and first["articles"] == "2"


def test_html_is_written_and_self_contained(world, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert (
        main(
            [
                "report",
                str(world),
                "--actors",
                "united-kingdom,russia",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert f"wrote {out}" in capsys.readouterr().out
    page = out.read_text()
    assert page.count('<figure class="chart" ') == 10
    assert "<script" not in page and "http://" not in page.split("<main>")[0]
    assert "https://news.test/a1" in page  # the quote's link, the only host named
    assert 'id="clip1"' not in page  # Vega's clip ids are made unique per chart


# ------------------------------------------------------------ the command line


def test_unknown_actor_suggests_ids_in_the_output(world, capsys):
    assert main(["report", str(world), "--actors", "united-kingdom,rusia"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "unknown actor 'rusia'" in error and "did you mean russia" in error


def test_unknown_story_and_bad_options_are_one_line(world, tmp_path, capsys):
    stories = tmp_path / "s.toml"
    stories.write_text('[uk-russia]\nactors = ["united-kingdom", "russia"]\n')
    cases = [
        (["--story", "uk-rusia", "--stories", str(stories)], "did you mean uk-russia"),
        (["--actors", "russia", "--from", "May 5"], "--from must be a date"),
        (
            ["--actors", "russia", "--from", "2024-05-09", "--to", "2024-05-01"],
            "is after --to",
        ),
        (
            ["--story", "x", "--stories", str(tmp_path / "none.toml")],
            "stories file not found",
        ),
    ]
    for extra, message in cases:
        assert main(["report", str(world), *extra]) == 2
        error = capsys.readouterr().err.strip()
        assert message in error and "\n" not in error
    assert main(["report", str(tmp_path / "missing"), "--actors", "russia"]) == 2
    assert "output directory not found" in capsys.readouterr().err


def test_story_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[s]\nactors = "russia"\n')
    with pytest.raises(ReportError, match="actors must be a list"):
        load_stories(bad)
    bad.write_text('[s]\nactors = ["russia"]\nmatch = "some"\n')
    with pytest.raises(ReportError, match="match must be 'all' or 'any'"):
        load_stories(bad)
    bad.write_text('[s]\nactor = ["russia"]\n')
    with pytest.raises(ReportError, match="unknown key 'actor'"):
        load_stories(bad)
    bad.write_text("[s\n")
    with pytest.raises(ReportError, match="not valid TOML"):
        load_stories(bad)


def test_shipped_stories_load():
    stories = load_stories(STORIES)
    assert stories["uk-russia"].actors == ("united-kingdom", "russia")
    assert stories["uk-russia"].sides == ("united-kingdom", "russia")
    assert stories["us-election"].match == "any"
    assert stories["eu-farmers"].keywords
    assert find_story_file(None, cwd=REPO) == REPO / "examples" / "stories.toml"


def test_suggestions_use_ids_and_names():
    known = {
        "russia": "Russia",
        "united-kingdom": "United Kingdom",
        "vladimir-putin": "Vladimir Putin",
        "ukraine": "Ukraine",
    }
    assert suggest("rusia", known)[0] == "russia"
    assert suggest("United Kingdon", known)[0] == "united-kingdom"
    assert "vladimir-putin" in suggest("putin", known)
    assert suggest("zzzz", known) == []


def test_keyword_pattern_matches_whole_words():
    pattern = keyword_pattern(["U.K.", "oil"])
    con = duckdb.connect()

    def matches(text: str) -> bool:
        return con.execute("SELECT regexp_matches(?, ?)", [text, pattern]).fetchone()[0]

    assert matches("The U.K. said") and matches("Oil prices") and matches("oil")
    assert not matches("turmoil in the UKs") and not matches("UXK.")
    assert keyword_pattern([]) is None


# --------------------------------------------- the real pipeline's own output


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory) -> Path:
    """The bundled example feeds through the real pipeline, as ``make demo`` runs."""
    from newsbeam.pipeline.runner import run

    output = tmp_path_factory.mktemp("demo") / "output"
    run(
        [
            "--feeds",
            str(EXAMPLE_FEEDS / "local.txt"),
            "--output",
            str(output),
            "--fetch-articles",
            "never",
            "--runner",
            TEST_RUNNER,
        ]
    )
    return output


@pytest.mark.model
@pytest.mark.slow
def test_demo_report_json_equals_sql(demo_output, capsys):
    assert (
        main(
            [
                "report",
                str(demo_output),
                "--story",
                "uk-russia",
                "--stories",
                str(STORIES),
                "--format",
                "json",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    check_json_against_sql(demo_output, document)
    # No feed list names an outlet country yet: every article is in the unknown press.
    assert [r["press"] for r in document["outlets"]["by_press"]] == ["unknown"]
    assert document["summary"]["press_countries"] == 0
    assert document["story"]["title"] == "The United Kingdom and Russia"


@pytest.mark.model
@pytest.mark.slow
def test_every_shipped_story_that_fits_the_examples_runs(demo_output, capsys):
    for name in (
        "uk-russia",
        "russia-ukraine",
        "eu-farmers",
        "us-election",
        "us-china",
    ):
        code = main(
            [
                "report",
                str(demo_output),
                "--story",
                name,
                "--stories",
                str(STORIES),
                "--format",
                "json",
            ]
        )
        assert code == 0, capsys.readouterr().err
        assert json.loads(capsys.readouterr().out)["articles"] > 0, name
