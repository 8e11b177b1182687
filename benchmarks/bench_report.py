"""How long ``newsbeam report`` takes: the demo report, and one over a million mentions.

1. The demo: the bundled example feeds ingested as ``make demo`` does (or ``--demo DIR``
   to reuse an output), then ``newsbeam report DIR --story uk-russia`` timed from the
   launch to the exit of a fresh process, for the HTML and for ``--format json``.
   Target: under 2 s.
2. Synthetic: ``synthetic_output`` writes ~1,000,000 mention rows (50,000 articles over
   90 days, 20 mentions and 4 quotes each, 40 outlets in six countries, 5,000 actors
   with a long tail; 6% of articles mention both the United Kingdom and Russia), one
   Parquet file per date and dataset, rows sorted by actor: the layout issue 13 makes
   the default. The whole report (figures, charts, page) is timed in-process.
   Target: under 10 s.

The synthetic output is read through ``newsbeam.pipeline.query.connect`` when that
finds its rows; until the date-partitioned layout is merged, ``connect`` looks for
date/actor folders, so the benchmark opens the same files with the views that layout
will have and says so. (The layout benchmark, ``benchmarks/bench_query.py``, has its
own generator: the two should become one.)

Timings on a shared machine are noisy: the median of ``--repeat`` runs is reported,
with the load average beside it.

Usage: ``python benchmarks/bench_report.py [--repeat N] [--mentions N] [--demo DIR]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
NEWSBEAM = Path(sys.executable).with_name("newsbeam")

OUTLETS = [  # (name, country): 40 outlets, a few with no known country
    *[(f"UK Outlet {i}", "GB") for i in range(12)],
    *[(f"Russian Outlet {i}", "RU") for i in range(6)],
    *[(f"US Outlet {i}", "US") for i in range(10)],
    *[(f"French Outlet {i}", "FR") for i in range(4)],
    *[(f"German Outlet {i}", "DE") for i in range(4)],
    *[(f"Wire {i}", None) for i in range(4)],
]
COUNTRIES = [
    "united-kingdom",
    "russia",
    "united-states",
    "france",
    "germany",
    "ukraine",
    None,
]


# -------------------------------------------------------------------- the data


def synthetic_output(output: Path, mentions: int = 1_000_000, seed: int = 7) -> dict:
    """Write a synthetic newsbeam output; returns the row counts.

    Vectorised (NumPy, Arrow), because a million row objects would make the
    benchmark measure the generator. Each date is one file per dataset, sorted by
    actor (mentions) or speaker (quotes), as the date-partitioned layout stores it.
    """
    from newsbeam.schemas import ARTICLES, MENTIONS, QUOTES

    rng = np.random.default_rng(seed)
    per_article, quotes_per_article, days = 20, 4, 90
    n_articles = max(1, mentions // per_article)
    n_actors = 5000
    start = datetime(2024, 1, 1, tzinfo=UTC)

    actor_ids = np.array(
        ["united-kingdom", "russia"] + [f"actor-{i:04d}" for i in range(2, n_actors)]
    )
    actor_names = np.array(
        ["United Kingdom", "Russia"] + [f"Actor {i}" for i in range(2, n_actors)]
    )
    actor_types = np.array(
        ["place", "place"]
        + [
            ("person", "organisation", "place", "group")[i % 4]
            for i in range(2, n_actors)
        ]
    )
    actor_country = np.array(
        ["united-kingdom", "russia"]
        + [COUNTRIES[i % len(COUNTRIES)] for i in range(2, n_actors)],
        dtype=object,
    )
    weights = 1.0 / np.arange(10, n_actors + 10) ** 1.1
    weights /= weights.sum()

    seconds = rng.integers(0, days * 86400, n_articles)
    published = np.array(
        [start + timedelta(seconds=int(s)) for s in np.sort(seconds)], dtype=object
    )
    article_ids = np.array([f"a{i:07d}" for i in range(n_articles)])
    outlet_index = rng.integers(0, len(OUTLETS), n_articles)
    articles = pa.table(
        {
            "article_id": article_ids,
            "feed_url": [f"https://feeds.test/{o}" for o in outlet_index],
            "source": [OUTLETS[o][0] for o in outlet_index],
            "outlet": [OUTLETS[o][0] for o in outlet_index],
            "outlet_country": [OUTLETS[o][1] for o in outlet_index],
            "url": [f"https://news.test/{a}" for a in article_ids],
            "guid": article_ids,
            "title": [f"Synthetic headline {i}" for i in range(n_articles)],
            "published_at": published,
            "date_source": ["published"] * n_articles,
            "fetched_at": published,
            "language": ["en"] * n_articles,
            "text": [f"Synthetic headline {i}\n\nBody." for i in range(n_articles)],
            "word_count": np.full(n_articles, 5, dtype=np.int32),
            "text_source": ["feed"] * n_articles,
        },
        schema=ARTICLES,
    )

    actor_of = rng.choice(n_actors, size=(n_articles, per_article), p=weights)
    story = rng.random(n_articles) < 0.06  # the uk-russia articles
    actor_of[story, 0], actor_of[story, 1] = 0, 1
    one_side = (~story) & (rng.random(n_articles) < 0.10)
    actor_of[one_side, 0] = rng.integers(0, 2, one_side.sum())
    flat = actor_of.ravel()
    row_article = np.repeat(np.arange(n_articles), per_article)
    n_mentions = flat.size
    mention_rows = pa.table(
        {
            "mention_id": [f"m{i:08d}" for i in range(n_mentions)],
            "article_id": article_ids[row_article],
            "actor_id": actor_ids[flat],
            "actor_name": actor_names[flat],
            "actor_type": actor_types[flat],
            "actor_country": actor_country[flat],
            "label": ["GPE"] * n_mentions,
            "text": actor_names[flat],
            "start_char": np.zeros(n_mentions, dtype=np.int32),
            "end_char": np.full(n_mentions, 5, dtype=np.int32),
            "published_at": published[row_article],
        },
        schema=MENTIONS,
    )

    n_quotes = n_articles * quotes_per_article
    quote_article = np.repeat(np.arange(n_articles), quotes_per_article)
    pick = rng.integers(0, per_article, n_quotes)
    speaker = actor_of[quote_article, pick]
    unknown = rng.random(n_quotes) < 0.25
    speaker_ids = np.where(unknown, None, actor_ids[speaker].astype(object))
    quote_rows = pa.table(
        {
            "quote_id": [f"q{i:08d}" for i in range(n_quotes)],
            "article_id": article_ids[quote_article],
            "speaker_id": speaker_ids,
            "speaker_name": np.where(
                unknown, None, actor_names[speaker].astype(object)
            ),
            "speaker_text": ["they"] * n_quotes,
            "speaker_role": [None] * n_quotes,
            "speaker_country": np.where(unknown, None, actor_country[speaker]),
            "quote": [f"Synthetic quote {i}" for i in range(n_quotes)],
            "segments": [[{"start_char": 10, "end_char": 30}]] * n_quotes,
            "kind": ["direct"] * n_quotes,
            "cue": ["said"] * n_quotes,
            "start_char": np.full(n_quotes, 10, dtype=np.int32),
            "end_char": np.full(n_quotes, 30, dtype=np.int32),
            "speaker_start_char": [None] * n_quotes,
            "speaker_end_char": [None] * n_quotes,
            "rule": ["synthetic"] * n_quotes,
            "confidence": np.ones(n_quotes, dtype=np.float32),
            "published_at": published[quote_article],
        },
        schema=QUOTES,
    )
    _write_by_date(output / "articles", articles, ["published_at", "article_id"])
    _write_by_date(output / "mentions", mention_rows, ["actor_id", "article_id"])
    _write_by_date(output / "quotes", quote_rows, ["speaker_id", "article_id"])
    return {
        "articles": n_articles,
        "mentions": n_mentions,
        "quotes": n_quotes,
        "story_articles": int(story.sum()),
    }


def _write_by_date(folder: Path, table: pa.Table, sort_by: list[str]) -> None:
    import pyarrow.compute as pc

    days = pc.cast(pc.cast(table["published_at"], pa.timestamp("us")), pa.date32())
    for day in pc.unique(days).to_pylist():
        part = table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
        part = part.sort_by([(key, "ascending") for key in sort_by])
        path = folder / f"date={day.isoformat()}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(part, path, compression="zstd", row_group_size=100_000)


def open_output(output: Path):
    """``connect(output)`` when it reads these files, else the same views by hand."""
    import duckdb
    from newsbeam.pipeline.query import connect

    con = connect(str(output))
    if con.execute("SELECT count(*) FROM mentions").fetchone()[0]:
        return con, "connect()"
    con.close()
    con = duckdb.connect()
    for name in ("articles", "mentions", "quotes"):
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{output}/{name}/*/"
            f"*.parquet', hive_partitioning = true, hive_types = {{'date': DATE}})"
        )
    return con, "date-partition views (connect() reads date/actor folders today)"


# ---------------------------------------------------------------------- timing


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(args: list[str], repeat: int) -> tuple[float, float]:
    """Median wall and CPU time of a fresh ``newsbeam`` process, launch to exit.

    CPU time (all threads, user and system) is the steadier figure on a shared
    machine: other users' load stretches the wall time, not the work done."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu = _children_cpu()
        started = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def time_in_process(output: Path, repeat: int, out: Path) -> tuple[float, dict, str]:
    from newsbeam.pipeline.report.command import to_html
    from newsbeam.pipeline.report.queries import Request, build
    from newsbeam.pipeline.report.stories import Story

    story = Story("uk-russia", ("united-kingdom", "russia"))
    times, cpus, parts, how = [], [], {}, ""
    for _ in range(repeat):
        cpu = time.process_time()
        started = time.perf_counter()
        con, how = open_output(output)
        figures = build(con, Request(story=story, by="week"))
        con.close()
        built = time.perf_counter()
        out.write_text(to_html(figures, str(output)))
        done = time.perf_counter()
        times.append(done - started)
        cpus.append(time.process_time() - cpu)
        parts = {
            "figures": built - started,
            "charts and page": done - built,
            "story articles": figures.articles,
        }
    parts["cpu"] = statistics.median(cpus)
    return statistics.median(times), parts, how


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--demo", help="An existing demo output to reuse.")
    parser.add_argument("--keep", action="store_true", help="Keep the outputs.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        demo = Path(args.demo) if args.demo else work / "demo"
        if not args.demo:
            subprocess.run(
                [
                    str(NEWSBEAM),
                    "ingest",
                    "--feeds",
                    str(REPO / "examples/feeds/local.txt"),
                    "--output",
                    str(demo),
                    "--fetch-articles",
                    "never",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        report = [
            str(NEWSBEAM),
            "report",
            str(demo),
            "--story",
            "uk-russia",
            "--stories",
            str(REPO / "examples/stories.toml"),
        ]
        html = time_command([*report, "--out", str(work / "demo.html")], args.repeat)
        js = time_command(
            [*report, "--format", "json", "--out", str(work / "demo.json")], args.repeat
        )
        started = time.perf_counter()
        counts = synthetic_output(work / "synthetic", args.mentions)
        generated = time.perf_counter() - started
        big, parts, how = time_in_process(
            work / "synthetic", args.repeat, work / "synthetic.html"
        )
        load = os.getloadavg()[0]
        print(
            f"newsbeam report benchmark (median of {args.repeat}; "
            f"load average {load:.1f} on {os.cpu_count()} cores)"
        )
        print("                              wall      cpu")
        print(
            f"  demo, html (process)      {html[0]:6.2f} s {html[1]:6.2f} s"
            "   target < 2 s wall"
        )
        print(f"  demo, json (process)      {js[0]:6.2f} s {js[1]:6.2f} s")
        print(
            f"  synthetic: {counts['mentions']:,} mentions, {counts['quotes']:,} "
            f"quotes, {counts['articles']:,} articles (written in {generated:.1f} s)"
        )
        print(f"    read through            {how}")
        print(
            f"    report, html, by week   {big:6.2f} s {parts['cpu']:6.2f} s"
            "   target < 10 s wall"
        )
        print(f"      figures (DuckDB)      {parts['figures']:6.2f} s")
        print(f"      charts and page       {parts['charts and page']:6.2f} s")
        print(f"      story articles        {parts['story articles']:,}")
    finally:
        if args.keep:
            print(f"  outputs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
