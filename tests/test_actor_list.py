"""``newsbeam actors``: a real run's output listed back, with and without the actors
dataset, through the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from newsbeam.pipeline.actor_list import list_actors
from newsbeam.pipeline.cli import main
from newsbeam.pipeline.query import run_query
from newsfeeds import STORIES, rss

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("actors")
    feed = root / "feed.xml"
    feed.write_text(rss(STORIES, "World"), encoding="utf-8")
    out = root / "out"
    argv = ["ingest", "--feeds", str(feed), "--output", str(out)]
    assert main([*argv, "--fetch-articles", "never", "--run-id", "a-1"]) == 0
    return out


def counts(output: Path, sql: str) -> dict[str, int]:
    rows = json.loads(run_query(str(output), sql, "json"))
    return {row["k"]: row["n"] for row in rows}


def test_every_actor_with_its_mention_and_quote_counts(output: Path) -> None:
    columns, rows = list_actors(str(output))
    assert columns[:6] == [
        "actor_id",
        "actor_name",
        "actor_type",
        "actor_country",
        "mentions",
        "quotes",
    ]
    listed = {row[0]: row for row in rows}
    mentions = counts(
        output, "SELECT actor_id AS k, count(*) AS n FROM mentions GROUP BY 1"
    )
    quotes = counts(
        output,
        "SELECT speaker_id AS k, count(*) AS n FROM quotes "
        "WHERE speaker_id IS NOT NULL GROUP BY 1",
    )
    assert {k: row[4] for k, row in listed.items()} == mentions
    assert {k: row[5] for k, row in listed.items() if row[5]} == quotes
    assert [row[4] for row in rows] == sorted((row[4] for row in rows), reverse=True)
    lavrov = listed["sergei-lavrov"]
    assert lavrov[1:4] == ("Sergei Lavrov", "person", "russia")
    assert lavrov[5] >= 1  # quoted as a speaker


def test_pattern_matches_id_name_and_alias_ignoring_case(output: Path) -> None:
    by_alias = {row[0] for row in list_actors(str(output), "CAMERON")[1]}
    assert by_alias == {"david-cameron"}
    by_id = {row[0] for row in list_actors(str(output), "united-k")[1]}
    assert by_id == {"united-kingdom"}
    people = list_actors(str(output), "", "person")[1]
    assert people and {row[2] for row in people} == {"person"}
    assert list_actors(str(output), "no such actor anywhere")[1] == []


def test_streaming_output_without_actors_dataset(output: Path, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(output, copy)
    assert (copy / "actors").is_dir()
    shutil.rmtree(copy / "actors")
    with_table = {row[0]: row[:6] for row in list_actors(str(output))[1]}
    without = {row[0]: row[:6] for row in list_actors(str(copy))[1]}
    assert without == with_table


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "newsbeam.pipeline.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def test_cli_formats_and_one_line_errors(output: Path, tmp_path) -> None:
    done = run_cli("actors", str(output), "lavrov", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [row["actor_id"] for row in rows] == ["sergei-lavrov"]
    assert "Lavrov" in rows[0]["aliases"]
    done = run_cli("actors", str(output), "--format", "csv", "--limit", "2")
    assert done.returncode == 0 and len(done.stdout.strip().splitlines()) == 3
    done = run_cli("actors", str(output), "kremlin")
    assert done.returncode == 0 and "kremlin" in done.stdout
    assert done.stdout.rstrip().endswith("(1 row)")
    done = run_cli("actors", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"newsbeam: error: output directory not found: {tmp_path / 'missing'}"
    ]
    done = run_cli("actors", str(output), "--limit", "-1")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
