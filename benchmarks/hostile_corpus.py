"""The held-out hostile corpus in one CLI run: feedparser's own tests and real feeds.

feedparser's source distribution on PyPI carries its test corpus (2,000+ feeds:
every encoding, broken XML, entities, compression, HTTP cases), which newsbeam's
tests never read while it was written. This script downloads it with pip (from
pip's cache when it is there), adds ../shared's real feeds, writes one feed list,
runs ``newsbeam ingest`` over it once, and checks what issue 17 asks: exit 0, no
traceback, every feed in the run record, and ``items_seen == articles_written +
duplicates + dead_letters_items``. It prints the figures and exits non-zero when a
check fails.

    python benchmarks/hostile_corpus.py [--work DIR] [--feedparser VERSION]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_FEEDS = REPO.parent / "shared" / "fixtures" / "feeds"


def corpus_files(work: Path, version: str) -> list[Path]:
    """feedparser's test files, fetched as its sdist by pip and unpacked once."""
    unpacked = work / f"feedparser-{version}"
    if not unpacked.is_dir():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                f"feedparser=={version}",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--quiet",
                "-d",
                str(work),
            ],
            check=True,
        )
        with tarfile.open(work / f"feedparser-{version}.tar.gz") as archive:
            archive.extractall(work, filter="data")
    tests = unpacked / "tests"
    return sorted(p for p in tests.rglob("*") if p.is_file() and p.suffix != ".py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "build" / "hostile")
    parser.add_argument("--feedparser", default="6.0.11")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    files = corpus_files(work, args.feedparser)
    real = sorted(p for p in SHARED_FEEDS.rglob("*") if p.is_file() and p.suffix)
    listing = work / "feeds.txt"
    listing.write_text("".join(f"{p}\n" for p in [*files, *real]), encoding="utf-8")
    output = work / "output"
    run_id = time.strftime("hostile-%Y%m%dT%H%M%S")
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "newsbeam.pipeline.cli",
            "ingest",
            "--feeds",
            str(listing),
            "--output",
            str(output),
            "--fetch-articles",
            "never",
            "--run-id",
            run_id,
        ],
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    (work / "stderr.txt").write_text(done.stderr)
    record_file = output / "_runs" / f"{run_id}.json"
    record = json.loads(record_file.read_text()) if record_file.exists() else None
    counts = record["counts"] if record else {}
    problems = []
    if done.returncode != 0:
        problems.append(f"exit code {done.returncode}")
    if "Traceback" in done.stderr:
        problems.append(f"a traceback on stderr (see {work / 'stderr.txt'})")
    if record is None:
        problems.append("no run record")
    else:
        accounted = (
            counts["articles_written"]
            + counts["duplicates"]
            + counts["dead_letters_items"]
        )
        if counts["items_seen"] != accounted:
            problems.append(f"items_seen {counts['items_seen']} != {accounted}")
        missing = [f["feed"] for f in record["feeds"] if f["status"] == "missing"]
        if missing:
            problems.append(f"{len(missing)} feeds missing from the record")
    failed = [f for f in (record or {}).get("feeds", []) if f["status"] == "failed"]
    print(
        json.dumps(
            {
                "files": {"feedparser_corpus": len(files), "real_feeds": len(real)},
                "exit_code": done.returncode,
                "tracebacks": done.stderr.count("Traceback"),
                "elapsed_seconds": round(elapsed, 1),
                "counts": counts,
                "failed_feeds": {
                    f["feed"].replace(str(work) + "/", ""): f["error"] for f in failed
                },
                "problems": problems,
            },
            indent=1,
        )
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
