"""Peak memory of one SDK harness started by Beam's Python worker pool.

The Flink deployment (deploy/flink) runs the DoFns in harnesses that a worker-pool
sidecar starts, one per ``--sdk_worker_parallelism``; the sidecar's memory limit must
hold that many harnesses. This runs the same wiring locally, on the bench corpus:
Beam's Python job service in place of the Flink job server and
``worker_pool_main`` in place of the ``--worker_pool`` container, both on 127.0.0.1.
It samples every process the pool starts (``VmHWM``, the kernel's peak resident
size) and writes ``benchmarks/results/worker_pool_memory.json``, which
``tests/test_deploy.py`` reads to check the manifests' limits.

Run: ``make bench-pool-memory`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
sys.path.insert(0, str(REPO / "benchmarks"))

import corpus as corpus_builder  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peak_kib(pid: int) -> int:
    """The process's peak resident size so far, or 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    """Processes started by any thread of ``pid`` (the pool starts harnesses from
    its gRPC threads, so the main thread's list alone is empty)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += (task / "children").read_text().split()
        except OSError:
            continue
    return [int(child) for child in found]


def wait_for_port(port: int, deadline: float = 300.0) -> None:
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listening on 127.0.0.1:{port}")


def measure(articles: int, parallelism: int) -> dict:
    env = dict(os.environ)  # the pool starts each harness as plain `python`
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="newsbeam-pool-") as scratch:
        corpus = corpus_builder.build(Path(scratch) / "corpus", articles=articles)
        described = corpus.describe()
        job_port, pool_port = free_port(), free_port()
        services = [
            subprocess.Popen(
                [sys.executable, "-m", module, flag, str(port)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for module, flag, port in (
                (
                    "apache_beam.runners.portability.local_job_service_main",
                    "--port",
                    job_port,
                ),
                (
                    "apache_beam.runners.worker.worker_pool_main",
                    "--service_port",
                    pool_port,
                ),
            )
        ]
        pool = services[1]
        peaks: dict[int, int] = {}
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                for pid in children(pool.pid):
                    peaks[pid] = max(peaks.get(pid, 0), peak_kib(pid))
                done.wait(0.5)

        try:
            wait_for_port(job_port)
            wait_for_port(pool_port)
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.monotonic()
            ingest = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "newsbeam.pipeline.cli",
                    "ingest",
                    "--feeds",
                    str(corpus.feed_list),
                    "--output",
                    str(Path(scratch) / "output"),
                    "--fetch-articles",
                    "never",
                    "--runner",
                    "PortableRunner",
                    f"--job_endpoint=localhost:{job_port}",
                    "--environment_type=EXTERNAL",
                    f"--environment_config=localhost:{pool_port}",
                    f"--sdk_worker_parallelism={parallelism}",
                    # The job's state stream otherwise ends after 300 s.
                    "--job_server_timeout=3600",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
            seconds = time.monotonic() - started
            done.set()
            sampler.join()
            pool_peak = peak_kib(pool.pid)
        finally:
            for service in services:
                service.terminate()
                service.wait(timeout=30)
    if ingest.returncode != 0:
        raise SystemExit(f"ingest failed:\n{ingest.stderr[-2000:]}")
    harnesses = sorted((kib for kib in peaks.values() if kib), reverse=True)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "corpus": described,
        "sdk_worker_parallelism": parallelism,
        "seconds": round(seconds, 1),
        "harness_peak_rss_mib": [round(kib / 1024, 1) for kib in harnesses],
        "max_harness_peak_rss_mib": round(max(harnesses, default=0) / 1024, 1),
        "pool_peak_rss_mib": round(pool_peak / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=corpus_builder.ARTICLES)
    parser.add_argument("--parallelism", type=int, default=1)
    parser.add_argument(
        "--results", type=Path, default=RESULTS / "worker_pool_memory.json"
    )
    args = parser.parse_args(argv)
    result = measure(args.articles, args.parallelism)
    args.results.write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"{result['corpus']['articles']} articles, {args.parallelism} harness(es): "
        f"harness peak {result['max_harness_peak_rss_mib']} MiB, "
        f"pool {result['pool_peak_rss_mib']} MiB, {result['seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
