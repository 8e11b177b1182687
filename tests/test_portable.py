"""The pipeline on Beam's portability framework, with an EXTERNAL worker pool.

This is the shape of the Flink deployment in deploy/flink/ without Flink: a job
service receives the pipeline over gRPC (here Beam's own Python job service, there
the Flink job server) and asks a separately started worker pool (``--worker_pool`` in
the SDK container, here ``worker_pool_main``) for SDK harnesses. If a DoFn pickles
something the harness cannot import, or state leaks between stages through module
globals, this run differs from the in-process FnApiRunner's, so the test compares
the two datasets row for row, and file for file.

Both services are started on 127.0.0.1 by the test, on ports the OS picks, in their
own process groups, and killed in ``finally`` even when the run hangs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from conftest import REPO
from newsbeam.pipeline.cli import main
from newsbeam.schemas import pyarrow_partitioning
from newsfeeds import STORIES, rss

pytestmark = [pytest.mark.model, pytest.mark.slow]

STARTUP_SECONDS = 60
RUN_SECONDS = 240


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"service exited early:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing listening on 127.0.0.1:{port} after {STARTUP_SECONDS} s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group we started, then SIGKILL what is left."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):  # group already gone
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # group already gone
        os.killpg(process.pid, signal.SIGKILL)  # harness children of the pool
    process.wait(timeout=10)


def worker_env() -> dict[str, str]:
    """The pool starts each harness as plain ``python``: make that this venv's."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("PYTHONPATH", "")) if p
    )
    return env


@pytest.fixture
def portable_services(tmp_path) -> Iterator[tuple[str, str, list[Path]]]:
    """A job service and an external worker pool: (job endpoint, pool, logs)."""
    processes: list[subprocess.Popen] = []
    logs = [tmp_path / "job_service.log", tmp_path / "worker_pool.log"]
    job_port, pool_port = free_port(), free_port()
    commands = [
        [
            sys.executable,
            "-m",
            "apache_beam.runners.portability.local_job_service_main",
            "--port",
            str(job_port),
        ],
        [
            sys.executable,
            "-m",
            "apache_beam.runners.worker.worker_pool_main",
            "--service_port",
            str(pool_port),
        ],
    ]
    try:
        for command, log in zip(commands, logs, strict=True):
            with log.open("wb") as sink:
                processes.append(
                    subprocess.Popen(
                        command,
                        cwd=REPO,
                        env=worker_env(),
                        stdin=subprocess.DEVNULL,
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        for port, process, log in zip(
            (job_port, pool_port), processes, logs, strict=True
        ):
            wait_for_port(port, process, log)
        yield f"localhost:{job_port}", f"localhost:{pool_port}", logs
    finally:
        for process in processes:
            stop(process)


def read_sets(output: Path) -> dict[str, set]:
    """What the two runs must agree on, read back with pyarrow."""

    def rows(name: str, columns: list[str]) -> set[tuple]:
        table = ds.dataset(
            output / name, format="parquet", partitioning=pyarrow_partitioning(name)
        ).to_table(columns=columns)
        return set(zip(*(table.column(c).to_pylist() for c in columns), strict=True))

    return {
        "articles": rows("articles", ["article_id", "date"]),
        "mentions": rows("mentions", ["article_id", "actor_id", "start_char"]),
        "quotes": rows(
            "quotes", ["article_id", "speaker_id", "start_char", "end_char", "quote"]
        ),
    }


def data_files(output: Path) -> list[str]:
    return sorted(
        str(p.relative_to(output))
        for p in output.rglob("*")
        if p.is_file() and "_runs" not in p.parts
    )


def the_record(output: Path) -> dict:
    [path] = (output / "_runs").glob("*.json")
    return json.loads(path.read_text())


def test_portable_runner_with_external_workers_matches_fnapi(
    tmp_path, portable_services
):
    job_endpoint, worker_pool, logs = portable_services
    feed = tmp_path / "feed.xml"
    feed.write_text(rss(STORIES[:2]), encoding="utf-8")
    common = ["--feeds", str(feed), "--fetch-articles", "never", "--run-id", "r1"]

    local = tmp_path / "fnapi"
    assert main(["ingest", *common, "--output", str(local)]) == 0

    portable = tmp_path / "portable"
    command = [
        sys.executable,
        "-m",
        "newsbeam.pipeline.cli",
        "ingest",
        *common,
        "--output",
        str(portable),
        "--runner",
        "PortableRunner",
        f"--job_endpoint={job_endpoint}",
        "--environment_type=EXTERNAL",
        f"--environment_config={worker_pool}",
    ]
    try:
        done = subprocess.run(
            command,
            cwd=REPO,
            env=worker_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"portable run hung for {RUN_SECONDS} s; worker pool log:\n"
            + logs[1].read_text()[-3000:]
        )
    assert done.returncode == 0, (
        done.stderr[-3000:] + "\n--- worker pool ---\n" + logs[1].read_text()[-3000:]
    )
    assert "on PortableRunner" in done.stdout

    expected, actual = read_sets(local), read_sets(portable)
    assert len(expected["articles"]) == len(STORIES[:2])
    assert expected["mentions"] and expected["quotes"]
    assert actual == expected
    # File names are digests of the rows they hold, so equal data means equal names.
    assert data_files(portable) == data_files(local)
    assert not [f for f in data_files(portable) if ".inprogress" in f]
    assert the_record(portable)["runner"] == "PortableRunner"
    assert the_record(portable)["counts"] == the_record(local)["counts"]


def test_parse_and_extract_across_a_stage_boundary_on_the_portable_runner(
    portable_services,
):
    """With a Reshuffle between Parse and the extractors, the parsed articles leave
    the parsing worker as bytes (the registered coder) and are decoded by another
    harness: the rows equal the fused in-process run's."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to
    from conftest import make_article
    from newsbeam.transforms.extract import Analyse

    job_endpoint, worker_pool, _logs = portable_services
    articles = [
        make_article(p.stem, text=p.read_text(encoding="utf-8"))
        for p in sorted((REPO / "eval" / "articles").glob("*.txt"))[:8]
    ]
    # What a fused in-process run gives (tests/test_extract.py proves the two equal).
    from newsbeam.transforms.actors import default_registry
    from newsbeam.transforms.extract import analyse_doc
    from newsbeam.transforms.nlp import DEFAULT_MODEL, load_model

    model, registry = load_model(DEFAULT_MODEL), default_registry(None)
    expected = {"mentions": [], "quotes": []}
    with model.memory_zone():
        for article, doc in zip(
            articles, model.pipe(a.text for a in articles), strict=True
        ):
            mentions, quotes = analyse_doc(doc, article, registry)
            expected["mentions"] += [repr(m) for m in mentions]
            expected["quotes"] += [repr(q) for q in quotes]
    assert expected["quotes"]

    options = PipelineOptions(
        [
            "--runner=PortableRunner",
            f"--job_endpoint={job_endpoint}",
            "--environment_type=EXTERNAL",
            f"--environment_config={worker_pool}",
        ]
    )
    with TestPipeline(options=options) as p:
        out = p | beam.Create(articles) | Analyse(break_fusion=True)
        for name in ("mentions", "quotes"):
            assert_that(
                out[name] | f"Repr{name}" >> beam.Map(repr),
                equal_to(expected[name]),
                label=f"Same{name}",
            )
