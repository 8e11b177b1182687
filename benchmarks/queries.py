"""The four canonical questions asked of an output (issue 13), as DuckDB SQL over
the views of ``newsbeam.pipeline.query.connect``: the same text in every layout.

Shared by ``bench_query.py`` (their latency) and the tests (their answers must not
depend on the layout or on compaction).
"""

from __future__ import annotations


def canonical_queries(actor: str, other: str, speaker: str) -> dict[str, str]:
    """name -> SQL; every query orders its rows completely, so answers compare."""
    return {
        "one_actor_per_day": f"""
            SELECT date, count(*) AS mentions, count(DISTINCT article_id) AS articles
            FROM mentions WHERE actor_id = '{actor}'
            GROUP BY date ORDER BY date""",
        "co_mention_per_day": f"""
            SELECT a.date, count(DISTINCT a.article_id) AS articles
            FROM mentions a
            JOIN mentions b ON a.article_id = b.article_id AND a.date = b.date
            WHERE a.actor_id = '{actor}' AND b.actor_id = '{other}'
            GROUP BY a.date ORDER BY a.date""",
        "top_20_actors_per_day": """
            SELECT date, actor_id, mentions FROM (
                SELECT date, actor_id, count(*) AS mentions,
                       row_number() OVER (PARTITION BY date
                                          ORDER BY count(*) DESC, actor_id) AS rank
                FROM mentions GROUP BY date, actor_id)
            WHERE rank <= 20 ORDER BY date, rank""",
        "quotes_of_one_speaker": f"""
            SELECT q.date, q.quote_id, q.quote, q.speaker_name, a.title, a.url
            FROM quotes q JOIN articles a USING (article_id)
            WHERE q.speaker_id = '{speaker}'
            ORDER BY q.date, q.quote_id""",
    }


def answers(con, queries: dict[str, str]) -> dict[str, list[tuple]]:
    return {name: con.sql(sql).fetchall() for name, sql in queries.items()}
