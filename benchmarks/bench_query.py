"""``make bench-query``: files, bytes and query latency per layout, before and after
``newsbeam compact`` (issue 13).

1. The bench corpus (``corpus.py``: 300 articles over 7 days, 6 feed files) through
   the real pipeline, each feed file as its own ingest run (as a schedule would),
   once per layout: ``date`` (default) and ``date-actor``. Then each output is
   compacted. For every state: data files, bytes, and the median latency of the
   four canonical queries (``queries.py``) through ``newsbeam.pipeline.query``'s
   DuckDB views, and a check that every state gives the same answers.
2. A synthetic scale run (``synthetic.py``, no NLP): about 1 million mention rows
   over a year with a long-tailed actor distribution, each day written by 4 runs,
   at growing sizes, before and after compaction, to show how latency grows with
   data (the layouts are compared on the corpus: ``date-actor`` at this scale
   makes a file per actor, day and run).
3. Row groups read for an actor filter on one synthetic day of a million mentions,
   after compaction, by DuckDB, Polars, pyarrow and (when Java and PySpark are
   here) Spark.

Writes ``benchmarks/results/query.json`` and ``query.md``. Timings on a shared
machine are noisy; take final figures on a quiet one.

Usage: ``python benchmarks/bench_query.py [--quick] [--repeat N] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
logging.disable(logging.WARNING)

import corpus as corpus_builder  # noqa: E402
import row_groups  # noqa: E402
import synthetic  # noqa: E402
from newsbeam.pipeline import compact as compaction  # noqa: E402
from newsbeam.pipeline.query import connect  # noqa: E402
from newsbeam.schemas.layout import DATE, DATE_ACTOR  # noqa: E402
from queries import answers, canonical_queries  # noqa: E402

TARGETS = {"fewer_files": 10.0, "faster": 5.0, "smaller": 5.0}


def say(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------ measuring


def footprint(output: Path) -> dict:
    files = [
        p
        for p in output.rglob("*.parquet")
        if p.relative_to(output).parts[0] != "actors"  # one small table, not data
    ]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def latency(output: Path, queries: dict[str, str], repeat: int) -> dict:
    """Median seconds per query over ``repeat`` runs, each on a fresh connection
    (views created outside the timing), after one warm-up run."""
    timings = {}
    for name, sql in queries.items():
        runs = []
        for n in range(repeat + 1):
            con = connect(str(output))
            started = time.perf_counter()
            con.sql(sql).fetchall()
            elapsed = time.perf_counter() - started
            con.close()
            if n:
                runs.append(elapsed)
        timings[name] = statistics.median(runs)
    return timings


def state(output: Path, queries: dict[str, str], repeat: int) -> dict:
    con = connect(str(output))
    try:
        found = answers(con, queries)
    finally:
        con.close()
    return {**footprint(output), "latency_s": latency(output, queries, repeat),
            "answers": found}  # fmt: skip


def quiet(_line: str) -> None:
    pass


# -------------------------------------------------------------- real corpus


def ingest(feed: Path, output: Path, layout: str) -> None:
    command = [sys.executable, "-m", "newsbeam.pipeline.cli", "ingest",
               "--feeds", str(feed), "--output", str(output),
               "--fetch-articles", "never", "--layout", layout]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ingest failed: {done.stderr[-2000:]}")


def pick_actors(output: Path) -> tuple[str, str, str]:
    """The most mentioned actor, the actor most often mentioned beside it, and
    the most quoted speaker: what the canonical queries ask about."""
    con = connect(str(output))
    try:
        [(actor,)] = con.sql(
            "SELECT actor_id FROM mentions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchall()
        [(other,)] = con.sql(
            f"""SELECT b.actor_id FROM mentions a JOIN mentions b USING (article_id)
                WHERE a.actor_id = '{actor}' AND b.actor_id <> '{actor}'
                GROUP BY 1 ORDER BY count(DISTINCT article_id) DESC, 1 LIMIT 1"""
        ).fetchall()
        [(speaker,)] = con.sql(
            "SELECT speaker_id FROM quotes WHERE speaker_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchall()
    finally:
        con.close()
    return actor, other, speaker


def real_corpus(work: Path, runs: int, repeat: int) -> dict:
    corpus = corpus_builder.build(work / "corpus")
    feeds = list(corpus.feeds)
    batches = [feeds[n::runs] for n in range(runs)]
    outputs = {}
    for layout in (DATE, DATE_ACTOR):
        output = work / f"real-{layout}"
        for n, batch in enumerate(batches, 1):
            listing = work / f"run-{n}.txt"
            listing.write_text("\n".join(str(f) for f in batch) + "\n")
            say(f"  ingest run {n}/{runs} into the {layout} layout")
            ingest(listing, output, layout)
        outputs[layout] = output
    actor, other, speaker = pick_actors(outputs[DATE])
    queries = canonical_queries(actor, other, speaker)
    states = {}
    for layout, output in outputs.items():
        states[f"{layout}, as ingested"] = state(output, queries, repeat)
        compaction.compact(str(output), until=datetime.now(UTC).date(), say=quiet)
        states[f"{layout}, compacted"] = state(output, queries, repeat)
    return {
        "corpus": corpus.describe(),
        "runs": runs,
        "actors": {"actor": actor, "other": other, "speaker": speaker},
        "states": states,
    }


# ---------------------------------------------------------------- synthetic


def synthetic_scale(work: Path, sizes: list[int], repeat: int) -> dict:
    queries = canonical_queries("united-kingdom", "russia", "sergei-lavrov")
    results = {}
    for size in sizes:
        # date-actor is compared on the bench corpus: at a year of long-tailed
        # actors it makes a file per actor per day per run (~10^5 files at 50k
        # mentions), which takes longer to write than everything else here.
        for layout in (DATE,):
            output = work / f"synthetic-{size}-{layout}"
            say(f"  synthetic: {size:,} mentions, {layout} layout, 4 runs a day")
            started = time.perf_counter()
            made = synthetic.write_output(
                output, mentions=size, days=365, layout=layout, runs_per_day=4
            )
            written_s = time.perf_counter() - started
            before = state(output, queries, repeat)
            started = time.perf_counter()
            compaction.compact(str(output), until=made.last_day, say=quiet)
            compact_s = time.perf_counter() - started
            after = state(output, queries, repeat)
            if after["answers"] != before["answers"]:
                raise RuntimeError("compaction changed an answer")
            results[f"{size}/{layout}"] = {
                "mentions": made.mentions,
                "articles": made.articles,
                "quotes": made.quotes,
                "layout": layout,
                "write_s": round(written_s, 1),
                "compact_s": round(compact_s, 1),
                "before": {k: v for k, v in before.items() if k != "answers"},
                "after": {k: v for k, v in after.items() if k != "answers"},
            }
            shutil.rmtree(output, ignore_errors=True)
    return results


def skipping(work: Path, rows: int) -> dict:
    """One day of ``rows`` mentions, compacted: row groups read for one actor."""
    output = work / "one-day"
    synthetic.write_output(output, mentions=rows, days=1, runs_per_day=4)
    compaction.compact(str(output), until=synthetic.FIRST_DAY, say=quiet)
    [path] = (output / "mentions").rglob("*.parquet")
    found = {"rows": rows, "file_bytes": path.stat().st_size}
    actor = "actor-000500"  # from the long tail: a few hundred mentions that day
    for name, reader in (
        ("duckdb", row_groups.duckdb_row_groups),
        ("polars", row_groups.polars_row_groups),
        ("pyarrow", row_groups.pyarrow_row_groups),
    ):
        read, total = reader(path, actor)
        found[name] = {"row_groups_read": read, "row_groups": total}
    found["spark"] = spark_skipping(path, actor)
    return found


def spark_skipping(path: Path, actor: str) -> dict | str:
    if shutil.which("java") is None:
        return "skipped: no java"
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return "skipped: no pyspark"
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # never another interface
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    try:
        spark.sparkContext.setLogLevel("ERROR")
        scanned, total = row_groups.spark_rows(spark, path, actor)
    finally:
        spark.stop()
    return {"rows_scanned": scanned, "rows": total}


# ----------------------------------------------------------------- reporting


def ratios(real: dict) -> dict:
    states = real["states"]
    folders = states[f"{DATE_ACTOR}, as ingested"]
    compacted = states[f"{DATE}, compacted"]
    slow = statistics.median(folders["latency_s"].values())
    fast = statistics.median(compacted["latency_s"].values())
    per_query = {
        name: folders["latency_s"][name] / compacted["latency_s"][name]
        for name in folders["latency_s"]
    }
    return {
        "fewer_files": folders["files"] / max(compacted["files"], 1),
        "smaller": folders["bytes"] / max(compacted["bytes"], 1),
        "faster": slow / fast,
        "faster_per_query": per_query,
        "same_answers": all(
            s["answers"] == folders["answers"] for s in states.values()
        ),
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def markdown(result: dict) -> str:
    real, scale = result["real"], result["synthetic"]
    names = list(next(iter(real["states"].values()))["latency_s"])
    lines = [
        "# Query benchmark (`make bench-query`)",
        "",
        f"Measured {result['measured_at']} on {result['machine']}, "
        f"DuckDB {result['duckdb']}, load average {result['load']}.",
        "",
        f"## Bench corpus: {real['corpus']['articles']} articles, "
        f"{real['runs']} ingest runs",
        "",
        f"Queries name `{real['actors']['actor']}`, `{real['actors']['other']}` "
        f"and speaker `{real['actors']['speaker']}`; median of {result['repeat']} "
        "runs, milliseconds.",
        "",
        "| layout | files | bytes | " + " | ".join(names) + " |",
        "|---|---:|---:|" + "---:|" * len(names),
    ]
    for label, s in real["states"].items():
        cells = " | ".join(ms(s["latency_s"][n]) for n in names)
        lines.append(f"| {label} | {s['files']:,} | {s['bytes']:,} | {cells} |")
    r = result["ratios"]
    lines += [
        "",
        f"`date`, compacted, against `date-actor` as ingested: "
        f"{r['fewer_files']:.1f}x fewer files (target {TARGETS['fewer_files']:.0f}x), "
        f"{r['smaller']:.1f}x fewer bytes (target {TARGETS['smaller']:.0f}x), "
        f"median query {r['faster']:.1f}x faster (target {TARGETS['faster']:.0f}x; "
        + ", ".join(f"{k} {v:.1f}x" for k, v in r["faster_per_query"].items())
        + f"). Same answers in every state: {r['same_answers']}.",
        "",
        "## Synthetic scale (365 days, long-tailed actors, 4 runs a day)",
        "",
        "| mentions | layout | state | files | bytes | " + " | ".join(names) + " |",
        "|---:|---|---|---:|---:|" + "---:|" * len(names),
    ]
    for item in scale.values():
        for when in ("before", "after"):
            s = item[when]
            cells = " | ".join(ms(s["latency_s"][n]) for n in names)
            label = "as written" if when == "before" else "compacted"
            lines.append(
                f"| {item['mentions']:,} | {item['layout']} | {label} | "
                f"{s['files']:,} | {s['bytes']:,} | {cells} |"
            )
    skip = result["skipping"]
    lines += [
        "",
        f"## Row groups read for one actor: one day of {skip['rows']:,} mentions, "
        f"compacted ({skip['file_bytes']:,} bytes)",
        "",
    ]
    for name in ("duckdb", "polars", "pyarrow"):
        lines.append(
            f"- {name}: {skip[name]['row_groups_read']} of "
            f"{skip[name]['row_groups']} row groups"
        )
    spark = skip["spark"]
    if isinstance(spark, dict):
        lines.append(
            f"- spark: {spark['rows_scanned']:,} of {spark['rows']:,} rows scanned"
        )
    else:
        lines.append(f"- spark: {spark}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    args = parser.parse_args(argv)
    sizes = [50_000, 200_000] if args.quick else [100_000, 300_000, 1_000_000]
    runs = 2 if args.quick else 6
    work = args.keep or Path(tempfile.mkdtemp(prefix="newsbeam-bench-query-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        import duckdb

        say("bench corpus through the pipeline, both layouts")
        real = real_corpus(work, runs, args.repeat)
        say("synthetic scale")
        scale = synthetic_scale(work, sizes, args.repeat)
        say("row groups read for an actor filter")
        skip = skipping(work, 200_000 if args.quick else 1_000_000)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "duckdb": duckdb.__version__,
        "load": round(os.getloadavg()[0], 1),
        "repeat": args.repeat,
        "quick": args.quick,
        "real": real,
        "ratios": ratios(real),
        "synthetic": scale,
        "skipping": skip,
    }
    for s in result["real"]["states"].values():
        s.pop("answers")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "query.json").write_text(json.dumps(result, indent=1, default=str))
    text = markdown(result)
    (RESULTS / "query.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
