"""How long ``newsbeam report`` takes: the demo report, and one over a million mentions.

1. The demo: the bundled example feeds ingested as ``make demo`` does (or ``--demo DIR``
   to reuse an output), then ``newsbeam report DIR --story uk-russia`` timed from the
   launch to the exit of a fresh process, for the HTML and for ``--format json``.
   Target: under 2 s.
2. Synthetic: the layout benchmark's dataset (``synthetic.write_output``: ~1,000,000
   mention rows over a year, a long tail of 50,000 actors, 40 outlets in five press
   countries and a few wires), written by newsbeam's own writer in the default layout
   and read through ``newsbeam.pipeline.query.connect``. The whole report (figures,
   charts, page) is timed in-process. Target: under 10 s.

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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic  # noqa: E402

NEWSBEAM = Path(sys.executable).with_name("newsbeam")


def open_output(output: Path):
    from newsbeam.pipeline.query import connect

    return connect(str(output))


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
    times, cpus, parts = [], [], {}
    for _ in range(repeat):
        cpu = time.process_time()
        started = time.perf_counter()
        con = open_output(output)
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
    return statistics.median(times), parts


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
        made = synthetic.write_output(work / "synthetic", mentions=args.mentions)
        counts = {
            "mentions": made.mentions,
            "quotes": made.quotes,
            "articles": made.articles,
        }
        generated = time.perf_counter() - started
        big, parts = time_in_process(
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
