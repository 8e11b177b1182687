"""The report's figures: DuckDB queries over the views of ``newsbeam.pipeline.query``.

Everything is read through ``connect(DIR)``'s views (``articles``, ``mentions``,
``quotes``), never through file paths, so a report follows those views to every output
layout and store they read. The story's articles, their mentions and their quotes are
materialised once as small temporary tables; every view is then a query over those,
which keeps a report over a million mention rows to a few scans of the Parquet.

The result is plain values (``Figures``): lists of row dicts per table, so the HTML, the
JSON and the CSV writers, and the tests, all read the same numbers.

Vocabulary of the figures:

* *story articles*: stored articles that match the story; *all articles*: every stored
  article in the same date range, the denominator of *attention*;
* *press*: an article's ``outlet_country`` (ISO 3166-1 alpha-2), ``unknown`` when NULL;
* *side*: a quote's ``speaker_country`` when it is one of the story's sides, ``other``
  for any other known country, ``unknown`` when the speaker's country is not known.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from importlib import resources

import duckdb
from newsbeam.pipeline.report.stories import (
    ReportError,
    Story,
    keyword_pattern,
    suggest,
)

PERIODS = ("day", "week", "month")
OTHER = "other"
UNKNOWN = "unknown"
OTHER_NAME = "Other countries"
UNKNOWN_NAME = "Country unknown"

# The report's views in the order a reader meets them, each with its tables.
VIEWS: dict[str, tuple[str, ...]] = {
    "attention": ("by_period",),
    "outlets": ("by_outlet", "by_press", "press_over_time"),
    "co_mentions": ("actors",),
    "voices": ("speakers", "latest_quotes"),
    "sides": ("by_side", "over_time", "by_press"),
    "who_speaks_about_whom": ("pairs",),
}


@dataclass(frozen=True)
class Request:
    """One report: the story and how to cut it."""

    story: Story
    start: date | None = None  # inclusive, UTC dates
    end: date | None = None
    by: str = "day"
    top: int = 15  # rows of each ranking
    quotes_per_speaker: int = 3

    def __post_init__(self) -> None:
        if self.by not in PERIODS:
            raise ReportError(f"--by must be day, week or month, not {self.by!r}")
        if self.start and self.end and self.start > self.end:
            raise ReportError(f"--from {self.start} is after --to {self.end}")
        if self.top < 1:
            raise ReportError("--top must be at least 1")


@dataclass
class Figures:
    """Every number of one report, as plain rows (dicts) per view and table."""

    story: dict
    articles: int
    summary: dict
    views: dict[str, dict[str, list[dict]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # actor id -> display name


@cache
def country_names() -> dict[str, str]:
    """ISO alpha-2 -> the country's canonical name, as the actor registry pins it.

    Read from the registry's own table (not through ``transforms.actors``, which would
    import Beam: two seconds a report does not need) so that "GB" press and the
    ``united-kingdom`` side carry the same name, and so the same colour.
    """
    table = resources.files("newsbeam.transforms.data").joinpath("countries.tsv")
    names = {}
    with table.open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if row and not row[0].startswith("#") and len(row) > 1:
                names[row[0].strip().upper()] = row[1].strip()
    return names


def press_name(code: str | None) -> str:
    """A press country's display name; an unknown one reads like an unknown side."""
    if not code or code == UNKNOWN:
        return UNKNOWN_NAME
    return country_names().get(code.upper(), code.upper())


def sql_list(values) -> str:
    """A constant SQL list: a constant IN list is pushed into the Parquet scan, so
    row groups of other actors (sorted layouts) are skipped by their statistics.

    No values is an empty subquery, not ``(NULL)``: ``x NOT IN (NULL)`` is NULL, which
    would drop every row where "not any of nothing" means keep them all.
    """
    quoted = ["'" + str(v).replace("'", "''") + "'" for v in values]
    if not quoted:
        return "(SELECT NULL::VARCHAR WHERE FALSE)"
    return "(" + ", ".join(quoted) + ")"


def _columns(con: duckdb.DuckDBPyConnection, view: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()}


def _ordered(name: str, column: str) -> str:
    """A CTE of a list parameter with its positions (pass the list twice): the
    buckets of a chart keep their order, sides first, then "other", "unknown"."""
    return (
        f"{name} AS (SELECT unnest(?::VARCHAR[]) AS {column}, "
        f"generate_subscripts(?::VARCHAR[], 1) AS i)"
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[dict]:
    relation = con.execute(sql, params or [])
    names = [d[0] for d in relation.description]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


# ------------------------------------------------------------------ actors in DIR


def known_actors(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every actor id in DIR with its name (mentions, and countries of speakers)."""
    rows = con.execute(
        "SELECT actor_id, mode(actor_name) FROM mentions GROUP BY actor_id"
    ).fetchall()
    known = {actor_id: name or actor_id for actor_id, name in rows}
    for (country,) in con.execute(
        "SELECT DISTINCT speaker_country FROM quotes WHERE speaker_country IS NOT NULL"
    ).fetchall():
        known.setdefault(country, country)
    return known


def check_actors(ids, known: dict[str, str], what: str = "actor") -> None:
    """One line for the first id DIR does not know, with the closest ids it does."""
    for actor_id in ids:
        if actor_id in known:
            continue
        close = [i for i in [registry_guess(actor_id)] if i in known]
        close += [i for i in suggest(actor_id, known) if i not in close]
        hint = (
            f"did you mean {', '.join(close[:3])}?"
            if close
            else ("no similar id found")
        )
        raise ReportError(f"unknown {what} {actor_id!r} in this output: {hint}")


def registry_guess(text: str) -> str | None:
    """The actor id the pipeline itself would give a name: "UK" -> united-kingdom,
    "Putin" -> vladimir-putin. Only on the error path: the registry imports Beam."""
    from newsbeam.transforms.actors import default_registry

    registry = default_registry()
    actor = registry.lookup(text) or registry.person(text)
    return actor.actor_id if actor else None


def story_sides(con: duckdb.DuckDBPyConnection, story: Story) -> tuple[str, ...]:
    """The countries whose voices are compared: the story's own, else its actors'."""
    if story.sides:
        return story.sides
    rows = con.execute(
        f"SELECT actor_id, mode(actor_country) FROM mentions "
        f"WHERE actor_id IN {sql_list(story.actors)} GROUP BY actor_id"
    ).fetchall()
    country = dict(rows)
    sides: list[str] = []
    for actor_id in story.actors:
        side = country.get(actor_id)
        if side and side not in sides:
            sides.append(side)
    return tuple(sides)


# -------------------------------------------------------------- the story tables


def _date_filter(request: Request, column: str = "date") -> tuple[str, list]:
    clauses, params = [], []
    if request.start:
        clauses.append(f"{column} >= ?")
        params.append(request.start)
    if request.end:
        clauses.append(f"{column} <= ?")
        params.append(request.end)
    return (" AND ".join(clauses) or "TRUE"), params


def materialise(con: duckdb.DuckDBPyConnection, request: Request, sides) -> None:
    """Temporary tables ``scope``, ``story``, ``story_mentions``, ``story_quotes``.

    ``scope`` holds every stored article in the date range (one row per article id,
    without its text): the denominators. The others hold the story's rows only.
    """
    story = request.story
    columns = _columns(con, "articles")
    outlet = (
        "COALESCE(outlet, source, feed_url)"
        if "outlet" in columns
        else ("COALESCE(source, feed_url)")
    )
    press = "upper(outlet_country)" if "outlet_country" in columns else "NULL"
    period = f"CAST(date_trunc('{request.by}', timezone('UTC', published_at)) AS DATE)"
    where, params = _date_filter(request)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE scope AS
        SELECT DISTINCT ON (article_id)
            article_id, published_at, {period} AS period,
            COALESCE({outlet}, '{UNKNOWN}') AS outlet,
            COALESCE({press}, '{UNKNOWN}') AS press,
            title, url
        FROM articles WHERE {where}
        ORDER BY article_id, fetched_at
        """,
        params,
    )
    need = len(story.actors) if story.match == "all" else 1
    keywords = keyword_pattern(story.keywords)
    keyword_clause, keyword_params = "", []
    if keywords:
        keyword_clause = (
            "AND article_id IN (SELECT article_id FROM articles WHERE "
            f"{where} AND regexp_matches(COALESCE(text, title, ''), ?))"
        )
        keyword_params = [*params, keywords]
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE story AS
        WITH hits AS (
            SELECT article_id FROM mentions
            WHERE actor_id IN {sql_list(story.actors)} AND {where}
            GROUP BY article_id
            HAVING count(DISTINCT actor_id) >= {need}
        )
        SELECT * FROM scope
        WHERE article_id IN (SELECT article_id FROM hits) {keyword_clause}
        """,
        [*params, *keyword_params],
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE story_mentions AS
        SELECT article_id, actor_id, mode(actor_name) AS actor_name,
               mode(actor_type) AS actor_type, mode(actor_country) AS actor_country,
               count(*) AS mentions
        FROM mentions
        WHERE {where} AND article_id IN (SELECT article_id FROM story)
        GROUP BY article_id, actor_id
        """,
        params,
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE story_quotes AS
        SELECT q.quote_id, q.article_id, q.speaker_id,
               COALESCE(q.speaker_name, q.speaker_id) AS speaker_name,
               q.speaker_country, q.quote, q.kind, q.start_char,
               s.published_at, s.period, s.outlet, s.press, s.title, s.url,
               CASE WHEN q.speaker_country IN {sql_list(sides)} THEN q.speaker_country
                    WHEN q.speaker_country IS NULL THEN '{UNKNOWN}'
                    ELSE '{OTHER}' END AS side
        FROM (SELECT * FROM quotes WHERE {where}) AS q
        JOIN story AS s USING (article_id)
        """,
        params,
    )


def _periods(con: duckdb.DuckDBPyConnection, request: Request) -> None:
    """Temporary table ``periods``: every period from the first to the last, so a
    quiet day shows as a zero instead of vanishing from the timeline."""
    first, last = con.execute(
        "SELECT CAST(min(timezone('UTC', published_at)) AS DATE), "
        "CAST(max(timezone('UTC', published_at)) AS DATE) FROM scope"
    ).fetchone()
    unit = request.by.upper()
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE periods AS
        SELECT CAST(range AS DATE) AS period FROM range(
            date_trunc('{request.by}', CAST(? AS TIMESTAMP)),
            date_trunc('{request.by}', CAST(? AS TIMESTAMP)) + INTERVAL 1 {unit},
            INTERVAL 1 {unit})
        WHERE ? IS NOT NULL
        """,
        [request.start or first, request.end or last, first],
    )


# ----------------------------------------------------------------------- views


def attention(con) -> dict[str, list[dict]]:
    rows = _rows(
        con,
        """
        SELECT p.period,
               COALESCE(st.n, 0) AS articles,
               COALESCE(al.n, 0) AS all_articles,
               COALESCE(st.n, 0) / NULLIF(al.n, 0) AS share
        FROM periods AS p
        LEFT JOIN (SELECT period, count(*) AS n FROM story GROUP BY period) AS st
            USING (period)
        LEFT JOIN (SELECT period, count(*) AS n FROM scope GROUP BY period) AS al
            USING (period)
        ORDER BY p.period
        """,
    )
    return {"by_period": rows}


def outlets(con, top: int) -> dict[str, list[dict]]:
    by_outlet = _rows(
        con,
        f"""
        WITH st AS (SELECT outlet, press, count(*) AS articles FROM story GROUP BY ALL),
             al AS (SELECT outlet, press, count(*) AS n FROM scope GROUP BY ALL)
        SELECT st.outlet, st.press, st.articles,
               st.articles / sum(st.articles) OVER () AS share,
               al.n AS all_articles, st.articles / al.n AS attention
        FROM st JOIN al USING (outlet, press)
        ORDER BY st.articles DESC, st.outlet, st.press
        LIMIT {top}
        """,
    )
    by_press = _rows(
        con,
        f"""
        WITH st AS (SELECT press, count(*) AS articles FROM story GROUP BY press),
             al AS (SELECT press, count(*) AS n FROM scope GROUP BY press)
        SELECT st.press, st.articles,
               st.articles / sum(st.articles) OVER () AS share,
               al.n AS all_articles, st.articles / al.n AS attention
        FROM st JOIN al USING (press)
        ORDER BY st.articles DESC, st.press
        LIMIT {top}
        """,
    )
    presses = [row["press"] for row in by_press]
    over_time = _rows(
        con,
        f"""
        WITH {_ordered("pr", "press")},
             st AS (SELECT period, press, count(*) AS n FROM story GROUP BY ALL),
             al AS (SELECT period, press, count(*) AS n FROM scope GROUP BY ALL)
        SELECT p.period, pr.press, COALESCE(st.n, 0) AS articles,
               COALESCE(al.n, 0) AS all_articles,
               COALESCE(st.n, 0) / NULLIF(al.n, 0) AS attention
        FROM periods AS p CROSS JOIN pr
        LEFT JOIN st USING (period, press)
        LEFT JOIN al USING (period, press)
        ORDER BY p.period, pr.i
        """,
        [presses, presses],
    )
    for rows in (by_outlet, by_press, over_time):
        for row in rows:
            row["press_name"] = press_name(row["press"])
    return {"by_outlet": by_outlet, "by_press": by_press, "press_over_time": over_time}


def co_mentions(con, story: Story, top: int) -> dict[str, list[dict]]:
    rows = _rows(
        con,
        f"""
        SELECT actor_id, mode(actor_name) AS actor_name, mode(actor_type) AS actor_type,
               mode(actor_country) AS actor_country,
               count(DISTINCT article_id) AS articles, sum(mentions) AS mentions,
               count(DISTINCT article_id) / (SELECT count(*) FROM story) AS share
        FROM story_mentions
        WHERE actor_id NOT IN {sql_list(story.actors)}
        GROUP BY actor_id
        ORDER BY articles DESC, mentions DESC, actor_id
        LIMIT {top}
        """,
    )
    return {"actors": rows}


def voices(con, top: int, per_speaker: int) -> dict[str, list[dict]]:
    speakers = _rows(
        con,
        f"""
        SELECT speaker_id, mode(speaker_name) AS speaker_name,
               mode(speaker_country) AS speaker_country, mode(side) AS side,
               count(*) AS quotes, count(DISTINCT article_id) AS articles,
               count(DISTINCT outlet) AS outlets, max(published_at) AS latest
        FROM story_quotes WHERE speaker_id IS NOT NULL
        GROUP BY speaker_id
        ORDER BY quotes DESC, articles DESC, speaker_id
        LIMIT {top}
        """,
    )
    ids = [row["speaker_id"] for row in speakers]
    latest = _rows(
        con,
        f"""
        SELECT speaker_id, speaker_name, quote, kind, published_at, title, outlet,
               press, url
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY speaker_id
                ORDER BY published_at DESC, article_id, start_char, quote_id) AS rank
            FROM story_quotes WHERE speaker_id IN {sql_list(ids)}
        )
        WHERE rank <= {per_speaker}
        ORDER BY list_position(?::VARCHAR[], speaker_id), rank
        """,
        [ids],
    )
    for row in latest:
        row["press_name"] = press_name(row["press"])
    return {"speakers": speakers, "latest_quotes": latest}


def sides(con, buckets: list[str]) -> dict[str, list[dict]]:
    """Quotes by side: in total, per period and per press, each share within its
    group (a period's or a press's quotes), so every group's shares sum to 1."""
    by_side = _rows(
        con,
        f"""
        WITH {_ordered("b", "side")},
             q AS (SELECT side, count(*) AS n FROM story_quotes GROUP BY side)
        SELECT b.side, COALESCE(q.n, 0) AS quotes,
               COALESCE(q.n, 0) / NULLIF(sum(q.n) OVER (), 0) AS share
        FROM b LEFT JOIN q USING (side)
        ORDER BY b.i
        """,
        [buckets, buckets],
    )
    over_time = _rows(
        con,
        f"""
        WITH {_ordered("b", "side")},
             q AS (SELECT period, side, count(*) AS n FROM story_quotes GROUP BY ALL)
        SELECT p.period, b.side, COALESCE(q.n, 0) AS quotes,
               COALESCE(q.n, 0) / NULLIF(sum(q.n) OVER (PARTITION BY p.period), 0)
                   AS share
        FROM periods AS p CROSS JOIN b
        LEFT JOIN q USING (period, side)
        ORDER BY p.period, b.i
        """,
        [buckets, buckets],
    )
    by_press = _rows(
        con,
        f"""
        WITH {_ordered("b", "side")},
             pr AS (SELECT press, count(*) AS total FROM story_quotes GROUP BY press),
             q AS (SELECT press, side, count(*) AS n FROM story_quotes GROUP BY ALL)
        SELECT pr.press, b.side, COALESCE(q.n, 0) AS quotes,
               COALESCE(q.n, 0) / pr.total AS share
        FROM pr CROSS JOIN b
        LEFT JOIN q USING (press, side)
        ORDER BY pr.total DESC, pr.press, b.i
        """,
        [buckets, buckets],
    )
    for row in by_press:
        row["press_name"] = press_name(row["press"])
    return {"by_side": by_side, "over_time": over_time, "by_press": by_press}


def who_speaks_about_whom(con, story: Story, top: int) -> dict[str, list[dict]]:
    """Quotes by each of the most quoted speakers in articles that mention an actor.

    In an ``all`` story its own actors are in every article, so they would only
    repeat each speaker's total: they are left out then, kept for ``any``.
    """
    leave_out = story.actors if story.match == "all" else ()
    rows = _rows(
        con,
        f"""
        WITH sp AS (
            SELECT speaker_id, count(*) AS total FROM story_quotes
            WHERE speaker_id IS NOT NULL GROUP BY speaker_id
            ORDER BY total DESC, speaker_id LIMIT {top}
        ),
        pairs AS (
            SELECT q.speaker_id, any_value(q.speaker_name) AS speaker_name,
                   m.actor_id, any_value(m.actor_name) AS actor_name,
                   count(DISTINCT q.quote_id) AS quotes,
                   count(DISTINCT q.article_id) AS articles
            FROM story_quotes AS q
            JOIN story_mentions AS m USING (article_id)
            WHERE q.speaker_id IN (SELECT speaker_id FROM sp)
              AND m.actor_id <> q.speaker_id
              AND m.actor_id NOT IN {sql_list(leave_out)}
            GROUP BY q.speaker_id, m.actor_id
        ),
        ac AS (
            SELECT actor_id, sum(quotes) AS total FROM pairs
            GROUP BY actor_id ORDER BY total DESC, actor_id LIMIT {top}
        )
        SELECT pairs.* FROM pairs
        JOIN sp USING (speaker_id) JOIN ac USING (actor_id)
        ORDER BY sp.total DESC, pairs.speaker_id, ac.total DESC, pairs.actor_id
        """,
    )
    return {"pairs": rows}


# --------------------------------------------------------------------- the lot


def build(con: duckdb.DuckDBPyConnection, request: Request) -> Figures:
    """Every figure of a report, from the views of one connection."""
    con.execute("SET TimeZone = 'UTC'")
    story = request.story
    known = known_actors(con)
    check_actors(story.actors, known)
    check_actors(story.sides, known, what="side")
    side_ids = story_sides(con, story)
    buckets = [*side_ids, OTHER, UNKNOWN]
    materialise(con, request, side_ids)
    _periods(con, request)
    views = {
        "attention": attention(con),
        "outlets": outlets(con, request.top),
        "co_mentions": co_mentions(con, story, request.top),
        "voices": voices(con, request.top, request.quotes_per_speaker),
        "sides": sides(con, buckets),
        "who_speaks_about_whom": who_speaks_about_whom(
            con, story, min(request.top, 10)
        ),
    }
    names = {actor_id: known.get(actor_id, actor_id) for actor_id in known}
    names[OTHER] = OTHER_NAME
    names[UNKNOWN] = UNKNOWN_NAME
    for row in views["sides"]["by_side"]:
        row["side_name"] = names.get(row["side"], row["side"])
    for table in ("over_time", "by_press"):
        for row in views["sides"][table]:
            row["side_name"] = names.get(row["side"], row["side"])
    for row in views["voices"]["speakers"]:
        row["side_name"] = names.get(row["side"], row["side"])
    articles = con.execute("SELECT count(*) FROM story").fetchone()[0]
    joiner = " and " if story.match == "all" else " or "
    definition = {
        "name": story.name,
        "title": story.title or joiner.join(known[a] for a in story.actors),
        "description": story.description,
        "actors": [{"actor_id": a, "actor_name": known[a]} for a in story.actors],
        "match": story.match,
        "keywords": list(story.keywords),
        "sides": [{"actor_id": s, "actor_name": known.get(s, s)} for s in side_ids],
        "from": request.start,
        "to": request.end,
        "by": request.by,
    }
    return Figures(
        story=definition,
        articles=articles,
        summary=summarise(con, views, articles),
        views=views,
        names=names,
    )


def summarise(con, views: dict, articles: int) -> dict:
    """The headline numbers a reader wants before any chart."""
    scope_articles, first, last = con.execute(
        "SELECT count(*), min(published_at), max(published_at) FROM scope"
    ).fetchone()
    story_first, story_last, outlet_count, press_count = con.execute(
        "SELECT min(published_at), max(published_at), count(DISTINCT outlet), "
        "count(DISTINCT press) FILTER (WHERE press <> ?) FROM story",
        [UNKNOWN],
    ).fetchone()
    quotes, speakers, unknown_speaker = con.execute(
        "SELECT count(*), count(DISTINCT speaker_id), "
        "count(*) FILTER (WHERE speaker_id IS NULL) FROM story_quotes"
    ).fetchone()
    by_period = views["attention"]["by_period"]
    peak = max(by_period, key=lambda r: (r["articles"], r["period"]), default=None)
    top_speaker = (views["voices"]["speakers"] or [None])[0]
    return {
        "story_articles": articles,
        "all_articles": scope_articles,
        "share": articles / scope_articles if scope_articles else None,
        "stored_from": first,
        "stored_to": last,
        "first_article": story_first,
        "last_article": story_last,
        "peak_period": peak["period"] if peak and peak["articles"] else None,
        "peak_articles": peak["articles"] if peak else 0,
        "outlets": outlet_count,
        "press_countries": press_count,
        "quotes": quotes,
        "speakers": speakers,
        "quotes_unknown_speaker": unknown_speaker,
        "top_speaker": top_speaker["speaker_name"] if top_speaker else None,
        "top_speaker_quotes": top_speaker["quotes"] if top_speaker else 0,
    }


def plain(value):
    """JSON and CSV values: dates as ISO 8601, everything else as it is."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
