"""``--output s3://bucket/prefix`` through Beam's S3 filesystem, on a local S3 server.

Object stores have no folders and no atomic rename: Beam's S3 filesystem emulates
rename as copy + delete and glob as prefix listing + fnmatch. newsbeam's sinks lean on
three of those operations (create + rename to publish a file, ``match`` on
``OUTPUT/articles/date=*/*.parquet`` to find stored article ids for dedup), so this
runs the real CLI against moto's S3 server on 127.0.0.1 and reads the result back
with pyarrow's own S3 client, which shares no code with Beam's.

Every AWS variable points at the local server and metadata lookups are disabled, so
no code path, ours, boto3's or pyarrow's, can reach a real endpoint.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import REPO
from newsbeam.pipeline.cli import main
from newsfeeds import rss

boto3 = pytest.importorskip("boto3", reason="boto3 is in the dev extra")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is in dev")

pytestmark = [pytest.mark.model, pytest.mark.slow]

BUCKET = "newsbeam-test"
PREFIX = "runs/news"
KEY = "testing"
REGION = "us-east-1"

STORIES = [
    (
        "https://news.example.test/world/talks",
        datetime(2024, 3, 4, 8, 0, tzinfo=UTC),
        "Foreign ministers trade warnings in Moscow",
        "British Foreign Secretary David Cameron met Russian Foreign Minister Sergei "
        'Lavrov in Moscow on Monday. "We will not be intimidated," Cameron said.',
    ),
    (
        "https://news.example.test/world/sanctions",
        datetime(2024, 3, 5, 14, 30, tzinfo=UTC),
        "London widens sanctions on Russian banks",
        "The United Kingdom announced new sanctions on Russian banks on Tuesday. "
        "Dmitry Peskov, the Kremlin spokesman, said the sanctions were illegal.",
    ),
]

LATE_STORY = (
    "https://news.example.test/world/summit",
    datetime(2024, 3, 5, 18, 0, tzinfo=UTC),
    "Summit called for next month",
    "Sergei Lavrov said on Tuesday that a summit could take place in April.",
)


@pytest.fixture
def s3(monkeypatch, tmp_path) -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 with one empty bucket; yields its endpoint."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        for name, value in {
            "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        }.items():
            monkeypatch.setenv(name, value)
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def beam_s3_options(s3) -> Iterator[list[str]]:
    """Beam's S3 options for the local server, also set on ``FileSystems``.

    Setting them before ``main`` works around pipeline/runner.py, which probes the
    output (``check_output_writable``) before ``beam.Pipeline`` hands the options to
    ``FileSystems``; see ``test_s3_output_in_a_fresh_process`` for the plain CLI.
    """
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions

    args = [
        f"--s3_endpoint_url={s3}",
        f"--s3_access_key_id={KEY}",
        f"--s3_secret_access_key={KEY}",
        f"--s3_region_name={REGION}",
    ]
    before = FileSystems._pipeline_options
    FileSystems.set_options(PipelineOptions(args))
    try:
        yield args
    finally:
        FileSystems._pipeline_options = before


@pytest.fixture
def feed(tmp_path) -> Path:
    path = tmp_path / "feed.xml"
    path.write_text(rss(STORIES), encoding="utf-8")
    return path


def keys(endpoint: str) -> list[str]:
    """Every object under the output prefix, relative to it, read with boto3."""
    client = boto3.client("s3", endpoint_url=endpoint)
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=PREFIX + "/"
    ):
        found += [o["Key"][len(PREFIX) + 1 :] for o in page.get("Contents", [])]
    return sorted(found)


def pyarrow_rows(endpoint: str, name: str, columns: list[str]) -> list[tuple]:
    import pyarrow.dataset as ds
    from newsbeam.schemas import pyarrow_partitioning
    from pyarrow.fs import S3FileSystem

    filesystem = S3FileSystem(
        access_key=KEY,
        secret_key=KEY,
        region=REGION,
        endpoint_override=endpoint.removeprefix("http://"),
        scheme="http",
    )
    table = ds.dataset(
        f"{BUCKET}/{PREFIX}/{name}",
        filesystem=filesystem,
        format="parquet",
        partitioning=pyarrow_partitioning(name),
    ).to_table(columns=columns)
    return sorted(zip(*(table.column(c).to_pylist() for c in columns), strict=True))


def record(endpoint: str, run_id: str) -> dict:
    body = boto3.client("s3", endpoint_url=endpoint).get_object(
        Bucket=BUCKET, Key=f"{PREFIX}/_runs/{run_id}.json"
    )["Body"]
    return json.loads(body.read())


def local_layout(output: Path) -> list[str]:
    return sorted(
        str(p.relative_to(output))
        for p in output.rglob("*")
        if p.is_file() and not p.relative_to(output).parts[0].startswith("_")
    )


def test_s3_output_layout_dedup_and_rerun(tmp_path, s3, beam_s3_options, feed):
    common = ["--feeds", str(feed), "--fetch-articles", "never"]
    output = f"s3://{BUCKET}/{PREFIX}"

    local = tmp_path / "local"
    assert main(["ingest", *common, "--output", str(local), "--run-id", "l"]) == 0
    assert main(["ingest", *common, *beam_s3_options, "--output", output,
                 "--run-id", "first"]) == 0  # fmt: skip

    first = keys(s3)
    data = [k for k in first if not k.startswith("_")]
    # Same deterministic names as on local disk, so the same partition layout.
    assert data == local_layout(local)
    assert any(k.startswith("articles/date=2024-03-04/part-") for k in data)
    assert any(k.startswith("quotes/date=2024-03-04/part-") for k in data)
    assert "_layout.json" in first
    assert not [k for k in first if k.startswith("_leases/")]  # released
    # No temporary object survives the copy + delete that emulates rename, nor the
    # output probe.
    assert not [k for k in first if ".inprogress" in k or "/." in "/" + k]
    assert [k for k in first if k.startswith("_runs/")] == ["_runs/first.json"]

    articles = pyarrow_rows(s3, "articles", ["article_id", "date"])
    mentions = pyarrow_rows(s3, "mentions", ["article_id", "actor_id", "start_char"])
    quotes = pyarrow_rows(s3, "quotes", ["article_id", "speaker_id", "start_char"])
    assert len(articles) == len(STORIES)
    assert mentions and quotes
    counts = record(s3, "first")["counts"]
    assert counts["articles_written"] == len(STORIES)
    assert counts["mentions"] == len(mentions)

    # The rerun reads a changed feed: one new item beside the two stored ones. It
    # finds the stored ids through FileSystems.match on the s3:// glob, so the old
    # items count as duplicates and only the new article's rows are added.
    feed.write_text(rss([*STORIES, LATE_STORY]), encoding="utf-8")
    assert main(["ingest", *common, *beam_s3_options, "--output", output,
                 "--run-id", "again"]) == 0  # fmt: skip
    again = record(s3, "again")["counts"]
    assert again["items_seen"] == len(STORIES) + 1
    assert again["duplicates"] == len(STORIES)
    assert again["articles_written"] == 1
    rerun_articles = pyarrow_rows(s3, "articles", ["article_id", "date"])
    assert len(rerun_articles) == len(STORIES) + 1
    assert set(articles) < set(rerun_articles)
    old_ids = {article_id for article_id, _date in articles}
    rerun_mentions = pyarrow_rows(
        s3, "mentions", ["article_id", "actor_id", "start_char"]
    )
    assert [m for m in rerun_mentions if m[0] in old_ids] == mentions
    after = keys(s3)
    assert set(first) <= set(after)
    assert not [k for k in after if ".inprogress" in k or "/." in "/" + k]


def test_s3_output_in_a_fresh_process(s3, feed):
    """The plain CLI, as a cron job runs it: nothing set up in-process first."""
    command = [
        sys.executable, "-m", "newsbeam.pipeline.cli", "ingest", "--feeds", str(feed),
        "--fetch-articles", "never", "--output", f"s3://{BUCKET}/{PREFIX}",
        f"--s3_endpoint_url={s3}", f"--s3_access_key_id={KEY}",
        f"--s3_secret_access_key={KEY}", f"--s3_region_name={REGION}",
    ]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(k.startswith("articles/date=2024-03-04/") for k in keys(s3))


def test_compaction_and_its_lease_on_s3(s3, beam_s3_options, capsys):
    """Compaction through Beam's S3 filesystem: the same rows and answers in fewer
    objects, refused while a live ingest lease object is there, finished after a
    crash that left an intent behind."""
    import sys

    from newsbeam.pipeline import compact as compaction
    from newsbeam.pipeline import directory
    from newsbeam.schemas import layout

    sys.path.insert(0, str(REPO / "benchmarks"))
    import synthetic

    # moto keeps its objects per process, not per server: start from an empty prefix.
    client = boto3.client("s3", endpoint_url=s3)
    for key in keys(s3):
        client.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}")
    output = f"s3://{BUCKET}/{PREFIX}"
    synthetic.write_output(output, mentions=600, days=2, actors=100, runs_per_day=2)
    before = keys(s3)
    columns = ["mention_id", "actor_id", "article_id"]
    rows = pyarrow_rows(s3, "mentions", columns)
    quotes = pyarrow_rows(s3, "quotes", ["quote_id", "speaker_id"])
    assert len(rows) == 600

    ingest = directory.LeaseHolder(output, layout.INGEST, run_id="on-s3")
    ingest.write()
    assert main(["compact", output, *beam_s3_options]) == compaction.EXIT_BUSY
    assert "ingest (run on-s3)" in capsys.readouterr().err
    assert keys(s3) == sorted([*before, f"_leases/ingest-{ingest.lease.owner}.json"])
    ingest.release()

    # A compaction killed after writing its outputs: the next one finishes it.
    real_delete = directory.delete

    def killed(found):
        if any("/date=" in p for p in found):
            raise KeyboardInterrupt("killed")
        real_delete(found)

    directory.delete = killed
    try:
        with pytest.raises(KeyboardInterrupt):
            compaction.compact(output, say=lambda _line: None)
    finally:
        directory.delete = real_delete
    assert [k for k in keys(s3) if k.startswith("_compaction/")]

    assert main(["compact", output, *beam_s3_options]) == 0
    printed = capsys.readouterr().out
    assert "finished the interrupted compaction" in printed
    assert "mentions" in printed and "->" in printed
    after = keys(s3)
    data = [k for k in after if not k.startswith("_")]
    assert len(data) == 3 * 2  # one object per dataset per day
    assert not [k for k in after if k.startswith(("_compaction/", "_leases/"))]
    assert not [k for k in after if ".inprogress" in k]
    assert pyarrow_rows(s3, "mentions", columns) == rows
    assert pyarrow_rows(s3, "quotes", ["quote_id", "speaker_id"]) == quotes
