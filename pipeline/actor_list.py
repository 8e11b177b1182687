"""``newsbeam actors DIR [PATTERN]``: find the actor id to query or to put in a story.

Lists each actor with its name, type, country, how often it is mentioned and how
often it is quoted as a speaker, most mentioned first. ``PATTERN`` keeps the actors
whose id, name or any alias (a spelling it was written as) contains it, case
ignored. Counts come from the ``mentions`` and ``quotes`` datasets, so they are right
for every run, streaming ones included; names and aliases come from the ``actors``
dataset when a batch run wrote one, else from the mentions themselves.

Everything is read through ``newsbeam.pipeline.query.connect``, so it works in every
output layout.
"""

from __future__ import annotations

import argparse
import sys

ACTOR_TYPES = ("person", "organisation", "place", "group", "other")
COLUMNS = (
    "actor_id",
    "actor_name",
    "actor_type",
    "actor_country",
    "mentions",
    "quotes",
    "aliases",
)
SHOWN_ALIASES = 5

# One row per actor from the mentions; the most frequent name, type and country win.
_FROM_MENTIONS = """
WITH spelled AS (
    SELECT actor_id, text, count(*) AS n FROM mentions GROUP BY actor_id, text
), spellings AS (
    SELECT actor_id, list(text ORDER BY n DESC, text) AS aliases
    FROM spelled GROUP BY actor_id
), counted AS (
    SELECT actor_id,
           mode(actor_name) AS actor_name,
           mode(actor_type) AS actor_type,
           mode(actor_country) AS actor_country,
           count(*) AS mentions
    FROM mentions GROUP BY actor_id
)
SELECT c.actor_id, c.actor_name, c.actor_type, c.actor_country, c.mentions,
       s.aliases
FROM counted c JOIN spellings s USING (actor_id)
"""

# The actors dataset adds the names and aliases earlier runs saw.
_WITH_STORED = """
WITH seen AS ({from_mentions})
SELECT coalesce(s.actor_id, a.actor_id) AS actor_id,
       coalesce(a.actor_name, s.actor_name) AS actor_name,
       coalesce(a.actor_type, s.actor_type) AS actor_type,
       coalesce(a.actor_country, s.actor_country) AS actor_country,
       coalesce(s.mentions, 0) AS mentions,
       list_distinct(list_concat(coalesce(s.aliases, []), coalesce(a.aliases, [])))
           AS aliases
FROM seen s FULL OUTER JOIN actors a USING (actor_id)
"""

_LISTING = """
WITH listed AS ({source}),
spoken AS (
    SELECT speaker_id AS actor_id, count(*) AS quotes
    FROM quotes WHERE speaker_id IS NOT NULL GROUP BY speaker_id
)
SELECT l.actor_id, l.actor_name, l.actor_type, l.actor_country, l.mentions,
       coalesce(p.quotes, 0) AS quotes, l.aliases
FROM listed l LEFT JOIN spoken p USING (actor_id)
WHERE ($pattern = '' OR contains(lower(l.actor_id), $pattern)
       OR contains(lower(coalesce(l.actor_name, '')), $pattern)
       OR contains(lower(array_to_string(l.aliases, chr(10))), $pattern))
  AND ($type = '' OR l.actor_type = $type)
ORDER BY l.mentions DESC, quotes DESC, l.actor_id
"""


def _has_actors(con) -> bool:
    from newsbeam.schemas import DATASETS

    names = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    return "actors" in names and "actors" not in DATASETS


def list_actors(
    output: str, pattern: str = "", actor_type: str = "", limit: int = 0
) -> tuple[list[str], list[tuple]]:
    """The matching actors as ``(columns, rows)``; ``limit`` 0 means all of them."""
    from newsbeam.pipeline.query import connect

    con = connect(output)
    try:
        source = _FROM_MENTIONS
        if _has_actors(con):
            source = _WITH_STORED.format(from_mentions=_FROM_MENTIONS)
        sql = _LISTING.format(source=source)
        if limit > 0:
            sql += f" LIMIT {int(limit)}"
        rows = con.execute(
            sql, {"pattern": pattern.strip().lower(), "type": actor_type}
        ).fetchall()
    finally:
        con.close()
    shown = [(*row[:6], "; ".join((row[6] or [])[:SHOWN_ALIASES])) for row in rows]
    return list(COLUMNS), shown


def actors(argv: list[str]) -> int:
    """The ``newsbeam actors`` command."""
    parser = argparse.ArgumentParser(
        prog="newsbeam actors",
        description="List the actors of a newsbeam output directory, most mentioned "
        "first: id, name, type, country, mentions, quotes as speaker, and the "
        "spellings seen. Use an id in 'newsbeam query' (WHERE actor_id = '...').",
    )
    parser.add_argument("output", help="The --output directory of newsbeam ingest.")
    parser.add_argument(
        "pattern",
        nargs="?",
        default="",
        help="Keep actors whose id, name or any alias contains this (case ignored).",
    )
    parser.add_argument(
        "--type", choices=ACTOR_TYPES, default="", help="Keep only this actor type."
    )
    parser.add_argument(
        "--limit", type=int, default=0, help="Show at most this many (0: all)."
    )
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
    args = parser.parse_args(argv)
    if args.limit < 0:
        return _fail("--limit must be 0 (all) or more")
    import duckdb
    from newsbeam.pipeline.query import format_rows

    try:
        columns, rows = list_actors(args.output, args.pattern, args.type, args.limit)
    except FileNotFoundError as error:
        return _fail(str(error))
    except duckdb.Error as error:
        return _fail(f"cannot list actors: {' '.join(str(error).split())}")
    print(format_rows(columns, rows, args.format))
    return 0


def _fail(message: str) -> int:
    print(f"newsbeam: error: {message}", file=sys.stderr)
    return 2
