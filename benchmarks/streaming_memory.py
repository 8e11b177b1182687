"""Does a streaming run's memory stay flat? Peak RSS at the 1,000th vs 10,000th article.

A feed on 127.0.0.1 serves new articles at every poll, each with invented names so
that spaCy's string store would grow without ``nlp.memory_zone()``. newsbeam runs as
``ingest --streaming`` in a subprocess; this script samples its resident memory
(``/proc/PID/status``) and counts the articles committed to Parquet as it goes.

Run: ``make bench-memory`` (about 10 minutes on 2 cores). Prints one table and writes
``benchmarks/results/streaming_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
SYLLABLES = "ka lo mi ne ra su ti vo ze an el or ud is yam bek dor fin gal hol".split()
VERBS = ["said", "told reporters", "added", "warned", "insisted"]


def invented_name(rng: random.Random) -> str:
    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).title()

    return f"{word()} {word()}"


def article_html(n: int, rng: random.Random) -> str:
    speaker, other, place = invented_name(rng), invented_name(rng), invented_name(rng)
    paragraphs = [
        f"{speaker}, the minister for {place.split()[0]}, met {other} in "
        f"{place.split()[1]} on Tuesday, officials said.",
        f'"We have agreed to keep talking about case {n}," {speaker} '
        f"{rng.choice(VERBS)}.",
        f"{other} said that the talks in {place.split()[1]} had been useful but "
        f"that more work was needed before the summit.",
        f"According to {invented_name(rng)}, an adviser, the meeting lasted "
        f"{rng.randint(1, 5)} hours.",
    ]
    return "".join(f"<p>{escape(p)}</p>" for p in paragraphs)


class GrowingFeed:
    """Each request returns the next ``per_poll`` never-seen articles."""

    def __init__(self, per_poll: int, seed: int = 7) -> None:
        self.per_poll = per_poll
        self.served = 0
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def body(self) -> bytes:
        with self.lock:
            start, self.served = self.served, self.served + self.per_poll
            items = []
            for n in range(start, start + self.per_poll):
                when = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
                items.append(
                    f"<item><title>Talks, round {n}</title>"
                    f"<link>https://bench.example.test/a/{n}</link>"
                    f"<pubDate>{format_datetime(when)}</pubDate>"
                    f"<description>{escape(article_html(n, self.rng))}</description>"
                    "</item>"
                )
        return (
            "<?xml version='1.0'?><rss version='2.0'><channel><title>Bench</title>"
            "<link>https://bench.example.test/</link><description>d</description>"
            + "".join(items)
            + "</channel></rss>"
        ).encode()


def serve(feed: GrowingFeed) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            payload = feed.body()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def count_articles(folder: Path, seen: dict[str, int]) -> int:
    for path in folder.glob("articles/date=*/*.parquet"):
        if path.name not in seen:
            try:
                seen[path.name] = pq.ParquetFile(path).metadata.num_rows
            except OSError:
                continue  # renamed under us; counted next time
    return sum(seen.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--per-poll", type=int, default=250)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    args = parser.parse_args()
    polls = args.articles // args.per_poll + 2
    feed = GrowingFeed(args.per_poll)
    server = serve(feed)
    url = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "out"
        command = [
            sys.executable,
            "-m",
            "newsbeam.pipeline.cli",
            "ingest",
            "--streaming",
            "--feeds",
            url,
            "--output",
            str(output),
            "--fetch-articles",
            "never",
            "--poll-interval",
            str(args.poll_interval),
            "--max-polls",
            str(polls),
            "--window-seconds",
            "5",
        ]
        started = time.monotonic()
        process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        samples: list[tuple[float, int, int]] = []  # (seconds, articles, rss KiB)
        seen: dict[str, int] = {}
        peak = 0
        while process.poll() is None:
            rss = rss_kib(process.pid)
            peak = max(peak, rss)
            articles = count_articles(output, seen)
            samples.append((time.monotonic() - started, articles, rss))
            time.sleep(1.0)
        stdout = process.stdout.read().decode() if process.stdout else ""
        articles = count_articles(output, seen)
    server.shutdown()

    def peak_between(low: int, high: int) -> int:
        return max((r for _, a, r in samples if low <= a <= high), default=0)

    # Peak up to the 1,000th article (model load and first polls included) against
    # the peak over the last 10% before the Nth: growth shows up in the second.
    at_1k = peak_between(0, 1_000)
    at_10k = peak_between(int(args.articles * 0.9), args.articles)
    growth = (at_10k - at_1k) / at_1k if at_1k else float("nan")
    result = {
        "articles_committed": articles,
        "seconds": round(samples[-1][0] if samples else 0, 1),
        "peak_rss_mib_by_1000th": round(at_1k / 1024, 1),
        f"peak_rss_mib_by_{args.articles}th": round(at_10k / 1024, 1),
        "growth": round(growth, 4),
        "peak_rss_mib_whole_run": round(peak / 1024, 1),
        "exit_code": process.returncode,
        "samples": samples,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "streaming_memory.json").write_text(json.dumps(result, indent=1))
    print("| streaming memory | value |\n|---|---|")
    print(f"| articles committed | {articles} |")
    print(f"| run time | {result['seconds']} s |")
    print(f"| peak RSS up to the 1,000th article | {at_1k / 1024:.1f} MiB |")
    print(
        f"| peak RSS from the {int(args.articles * 0.9):,}th to the "
        f"{args.articles:,}th article | {at_10k / 1024:.1f} MiB |"
    )
    print(f"| growth | {growth:+.1%} (target within ±10%) |")
    if process.returncode != 0:
        print(stdout[-2000:], file=sys.stderr)
    return 0 if process.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
