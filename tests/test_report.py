"""``newsbeam report``: stories, figures against SQL, the writers and the command line.

Two outputs: a small one written here row by row with the project's schemas, whose
every figure is worked out by hand below (outlets with their countries, speakers of
both sides, a quote with no speaker); and the bundled example feeds run through the
real pipeline, where no outlet country is known yet and the report must say so.
The browser tests at the end open the HTML in Debian's chromium.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import re
import shutil
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
from newsbeam.pipeline.report.renderer import ChartRenderer, render_here
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


def test_who_speaks_about_whom_keeps_the_actors_of_an_any_story(world):
    story = Story("s", ("united-kingdom", "france"), match="any")
    pairs = figures_for(world, story).views["who_speaks_about_whom"]["pairs"]
    found = {(r["speaker_id"], r["actor_id"]): r["quotes"] for r in pairs}
    assert found[("emmanuel-macron", "united-kingdom")] == 1  # a4
    assert found[("david-lammy", "united-kingdom")] == 3  # a1 twice, a5


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


def chart_specs_of(world) -> dict:
    from newsbeam.pipeline.report.charts import chart_specs

    return chart_specs(figures_for(world, Story("s", ("united-kingdom", "russia"))))


def same_charts(a: dict, b: dict) -> bool:
    """Equal but for the numbers of clip paths and gradients (counted per engine)."""

    def plain(svgs):
        return {k: re.sub(r"(clip|gradient_)\d+", r"\1", v) for k, v in svgs.items()}

    return plain(a) == plain(b)


def test_the_chart_child_renders_what_this_process_renders(world):
    """The forked renderer gives the same SVGs, and is gone once it has."""
    specs = chart_specs_of(world)
    renderer = ChartRenderer()
    child = renderer._process
    assert child is not None and child.is_alive()
    assert same_charts(renderer.render(specs), render_here(specs))
    assert renderer.used_child and renderer._process is None
    assert child.exitcode == 0


def test_a_dead_chart_child_leaves_the_charts_to_this_process(world):
    specs = chart_specs_of(world)
    renderer = ChartRenderer()
    renderer._process.kill()
    renderer._process.join()
    assert same_charts(renderer.render(specs), render_here(specs))
    assert not renderer.used_child


def test_a_report_that_fails_stops_its_chart_child(world, capsys):
    before = set(multiprocessing.active_children())
    assert main(["report", str(world), "--actors", "rusia"]) == 2
    assert "unknown actor" in capsys.readouterr().err
    assert set(multiprocessing.active_children()) <= before


# ------------------------------------------------------------ the command line


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("rusia", "did you mean russia?"),  # a typo of an id
        ("uk", "did you mean united-kingdom?"),  # an alias the registry knows
        ("putin", "did you mean vladimir-putin?"),  # one word of a person's id
        ("Moscow Herald", "no similar id found"),  # an outlet is no actor
    ],
)
def test_unknown_actor_suggests_ids_in_the_output(world, capsys, typed, suggested):
    assert main(["report", str(world), "--actors", f"united-kingdom,{typed}"]) == 2
    error = capsys.readouterr().err.strip()
    assert (
        error == f"newsbeam: error: unknown actor {typed!r} in this output: {suggested}"
    )


def test_unknown_story_and_bad_options_are_one_line(world, tmp_path, capsys):
    stories = tmp_path / "s.toml"
    stories.write_text('[uk-russia]\nactors = ["united-kingdom", "russia"]\n')
    cases = [
        (["--story", "uk-rusia", "--stories", str(stories)], "did you mean uk-russia"),
        (["--actors", "russia", "--from", "May 5"], "--from must be a date"),
        (["--actors", "russia", "--by", "year"], "argument --by: invalid choice"),
        (["--by", "week"], "one of the arguments --story --actors is required"),
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
    # The bundled feed list names each outlet's country: two London outlets, one
    # Copenhagen one (examples/feeds/local.txt).
    assert {r["press"] for r in document["outlets"]["by_press"]} == {"GB", "DK"}
    assert document["summary"]["press_countries"] == 2
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


# ------------------------------------------------------------- a real browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE_WIDTH = 390
SCREENSHOT = (
    REPO / "docs" / "report.png"
)  # the README's; NEWSBEAM_SCREENSHOT=1 remakes it

# Every figure on the page, as {table key: [{field: (visible text, data-value)}]}.
READ_TABLES = """() => {
  const out = {};
  for (const table of document.querySelectorAll('[data-table]')) {
    out[table.dataset.table] = [...table.querySelectorAll('[data-row]')].map(row => {
      const cells = {};
      for (const cell of row.querySelectorAll('[data-field]')) {
        cells[cell.dataset.field] = [cell.textContent.trim(),
                                     cell.getAttribute('data-value')];
      }
      return cells;
    });
  }
  return out;
}"""

# Marks Vega drew in each chart: its data marks are the children of role-mark groups.
READ_MARKS = """() => [...document.querySelectorAll('figure[data-chart]')].map(f => ({
  key: f.dataset.chart,
  empty: f.classList.contains('empty'),
  marks: f.querySelectorAll('g.role-mark > *').length,
  bars: f.querySelectorAll('g.mark-rect.role-mark > path').length,
  width: f.querySelector('svg') ? f.querySelector('svg').getBoundingClientRect().width
                                : 0,
}))"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's chromium, driven by Playwright (which downloads no browser here)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: make test installs the chromium package")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,
            headless=True,
        )
        yield context
        context.close()


@dataclass
class Visit:
    page: object
    errors: list[str]
    requests: list[str]


def visit(browser, path: Path, width: int) -> Visit:
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    return Visit(page, errors, requests)


def check_page(visit_: Visit, output: Path, presses: dict, charts: int) -> dict:
    """What every report page must do, and its figures against plain SQL."""
    assert visit_.errors == []
    assert visit_.requests and all(
        url.startswith(("file://", "data:")) for url in visit_.requests
    ), visit_.requests
    marks = visit_.page.evaluate(READ_MARKS)
    drawn = [m for m in marks if not m["empty"]]
    assert len(drawn) == charts and all(m["marks"] > 0 for m in drawn), marks
    tables = visit_.page.evaluate(READ_TABLES)
    bars = {m["key"]: m["bars"] for m in marks}
    assert bars["outlets.by_outlet"] == len(tables["outlets.by_outlet"])
    assert bars["voices.speakers"] == len(tables["voices.speakers"])

    def shown(key: str, field: str, value: str) -> dict:
        return {r[field][0]: r[value][0] for r in tables[key]}

    per_day = _sql(
        output,
        f"""
        SELECT CAST(published_at AS DATE) AS day,
               count(*) FILTER (WHERE article_id IN ({STORY_SQL})), count(*)
        FROM articles GROUP BY day ORDER BY day""",
    )
    page_days = {
        r["period"][1]: (r["articles"][0], r["all_articles"][0], r["share"][0])
        for r in tables["attention.by_period"]
    }
    for day, story, everything in per_day:
        assert page_days[day.isoformat()] == (
            str(story),
            str(everything),
            f"{story / everything * 100:.1f}%",
        )
    outlets = dict(
        _sql(
            output,
            f"""
        SELECT COALESCE(outlet, source), count(*) FROM articles
        WHERE article_id IN ({STORY_SQL}) GROUP BY 1""",
        )
    )
    assert shown("outlets.by_outlet", "outlet", "articles") == {
        k: str(v) for k, v in outlets.items()
    }
    speakers = dict(
        _sql(
            output,
            f"""
        SELECT any_value(speaker_name), count(*) FROM quotes
        WHERE article_id IN ({STORY_SQL}) AND speaker_id IS NOT NULL
        GROUP BY speaker_id""",
        )
    )
    on_page = shown("voices.speakers", "speaker_name", "quotes")
    assert on_page and all(str(speakers[k]) == v for k, v in on_page.items())
    sides_sql = f"""
        SELECT CASE speaker_country WHEN 'united-kingdom' THEN 'United Kingdom'
                   WHEN 'russia' THEN 'Russia'
                   ELSE CASE WHEN speaker_country IS NULL THEN 'Country unknown'
                             ELSE 'Other countries' END END AS side
        FROM quotes WHERE article_id IN ({STORY_SQL})"""
    sides = dict(_sql(output, f"SELECT side, count(*) FROM ({sides_sql}) GROUP BY 1"))
    total = sum(sides.values())
    for row in tables["sides.by_side"]:
        quotes = sides.get(row["side_name"][0], 0)
        assert row["quotes"][0] == str(quotes)
        assert row["share"][0] == f"{quotes / total * 100:.1f}%"
    by_press = _sql(
        output,
        f"""
        SELECT a.outlet_country, s.side, count(*)
        FROM ({
            sides_sql.replace("FROM quotes", "FROM quotes q").replace(
                "SELECT CASE", "SELECT q.article_id, CASE"
            )
        }) AS s
        JOIN articles AS a USING (article_id) GROUP BY ALL""",
    )
    page_press = {
        (r["press_name"][0], r["side_name"][0]): r["quotes"][0]
        for r in tables["sides.by_press"]
    }
    for country, side, quotes in by_press:
        assert page_press[(presses[country], side)] == str(quotes)
    figure = visit_.page.text_content('[data-figure="story_articles"] .big')
    assert figure == str(_sql(output, f"SELECT count(*) FROM ({STORY_SQL})")[0][0])
    return tables


def check_phone(visit_: Visit) -> None:
    """At phone width nothing but a table's own scroller is wider than the screen."""
    assert visit_.errors == []
    width = visit_.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH
    for chart in visit_.page.evaluate(READ_MARKS):
        assert chart["empty"] or 0 < chart["width"] <= PHONE_WIDTH


@pytest.mark.slow
def test_report_in_a_browser(world, browser, tmp_path):
    page = tmp_path / "report.html"
    assert (
        main(
            [
                "report",
                str(world),
                "--actors",
                "united-kingdom,russia",
                "--out",
                str(page),
            ]
        )
        == 0
    )
    wide = visit(browser, page, 1280)
    presses = {"GB": "United Kingdom", "RU": "Russia", None: "Country unknown"}
    tables = check_page(wide, world, presses, charts=10)
    assert [r["press_name"][0] for r in tables["outlets.by_press"]] == [
        "United Kingdom",
        "Russia",
        "Country unknown",
    ]
    quotes = tables["voices.latest_quotes"]
    assert quotes[0]["title"][0] == "Headline a5"
    assert quotes[0]["url"][0] == "Headline a5"
    wide.page.screenshot(path=str(tmp_path / "report-1280.png"), full_page=True)
    phone = visit(browser, page, PHONE_WIDTH)
    check_phone(phone)
    phone.page.screenshot(path=str(tmp_path / "report-phone.png"), full_page=True)


@pytest.mark.model
@pytest.mark.slow
def test_demo_report_in_a_browser(demo_output, browser, tmp_path):
    """The report ``make demo`` writes; its first screen is the README's picture."""
    page = tmp_path / "uk-russia.html"
    assert (
        main(
            [
                "report",
                str(demo_output),
                "--story",
                "uk-russia",
                "--stories",
                str(STORIES),
                "--out",
                str(page),
            ]
        )
        == 0
    )
    wide = visit(browser, page, 1280)
    presses = {"GB": "United Kingdom", "DK": "Denmark"}
    check_page(wide, demo_output, presses, charts=10)
    shot = tmp_path / "report.png"
    wide.page.screenshot(
        path=str(shot),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": 1480},
    )
    assert shot.stat().st_size > 20_000  # a page, not a blank
    if os.environ.get("NEWSBEAM_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    phone = visit(browser, page, PHONE_WIDTH)
    check_phone(phone)
