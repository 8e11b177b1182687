"""``newsbeam compact``: fewer files, the same rows and answers, safe to kill.

The outputs are made by ``benchmarks/synthetic.py`` (real row types through the real
writer, without NLP), spread over several runs per day as scheduled ingests leave
them; an output of newsbeam 0.1 is written here with pyarrow in its old layout and
old column names.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import REPO
from newsbeam.pipeline import compact as compaction
from newsbeam.pipeline import directory
from newsbeam.pipeline.cli import main
from newsbeam.pipeline.query import connect
from newsbeam.schemas import DATASETS, pyarrow_partitioning
from newsbeam.schemas import layout as paths
from newsbeam.schemas.layout import DATE, DATE_ACTOR, LEGACY, StoredFile

sys.path.insert(0, str(REPO / "benchmarks"))
import synthetic  # noqa: E402
from queries import answers, canonical_queries  # noqa: E402
from row_groups import (  # noqa: E402
    duckdb_row_groups,
    polars_row_groups,
    pyarrow_row_groups,
)

QUERIES = canonical_queries("united-kingdom", "russia", "sergei-lavrov")
SMALL = dict(mentions=2_000, days=4, actors=300)


def make(folder: Path, layout: str = DATE, runs_per_day: int = 3, **options) -> Path:
    synthetic.write_output(
        folder, layout=layout, runs_per_day=runs_per_day, **{**SMALL, **options}
    )
    return folder


def parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


def canonical(folder: Path) -> dict[str, list[tuple]]:
    con = connect(str(folder))
    try:
        return answers(con, QUERIES)
    finally:
        con.close()


def ids(folder: Path, name: str, layout: str = DATE) -> list[str]:
    column = paths.row_id_columns(name)[0]
    table = ds.dataset(
        folder / name, format="parquet", partitioning=pyarrow_partitioning(name, layout)
    ).to_table(columns=[column])
    return table.column(column).to_pylist()


def quiet(*_args) -> None:
    pass


# ----------------------------------------------------------------- planning


def stored(path: str, actor_key: str | None = None) -> StoredFile:
    parsed = paths.parse_data_path("/o", f"/o/{path}")
    assert parsed is not None, path
    assert parsed.actor_key == actor_key
    return parsed


def test_data_paths_are_parsed_and_hidden_names_ignored():
    assert stored("mentions/date=2024-03-04/part-a.parquet").day == date(2024, 3, 4)
    folder = stored("quotes/date=2024-03-04/speaker_id=x/part-a.parquet", "speaker_id")
    assert folder.actor_value == "x"
    null = stored(
        f"quotes/date=2024-03-04/speaker_id={paths.NULL_PARTITION}/p.parquet",
        "speaker_id",
    )
    assert null.actor_value is None
    for path in (
        "/o/mentions/date=2024-03-04/.part-a.parquet.inprogress-1",
        "/o/mentions/date=2024-03-04/.part-a.parquet",
        "/o/_runs/x.parquet",
        "/o/mentions/2024-03-04/part-a.parquet",
        "/elsewhere/mentions/date=2024-03-04/part-a.parquet",
    ):
        assert paths.parse_data_path("/o", path) is None


def test_plan_rewrites_days_with_several_files_only():
    files = [
        stored("mentions/date=2024-03-04/part-a.parquet"),
        stored("mentions/date=2024-03-04/part-b.parquet"),
        stored("mentions/date=2024-03-05/part-c.parquet"),  # one file: left alone
        stored("mentions/date=2024-03-06/compact-d.parquet"),  # compacted earlier
        stored("mentions/date=2024-03-06/compact-e.parquet"),
        stored("articles/date=2024-03-04/part-f.parquet"),
        stored("articles/date=2024-03-04/part-g.parquet"),
        stored("mentions/date=2024-03-09/part-h.parquet"),
        stored("mentions/date=2024-03-09/part-i.parquet"),
    ]
    jobs = compaction.plan(files, DATE, until=date(2024, 3, 8))
    # mentions before articles on a day: the articles are the commit marker
    assert [(j.dataset, j.day.isoformat(), len(j.inputs)) for j in jobs] == [
        ("mentions", "2024-03-04", 2),
        ("articles", "2024-03-04", 2),
    ]
    assert compaction.plan(files, DATE, None, ["articles"])[0].dataset == "articles"


def test_plan_moves_files_between_layouts():
    actor = [
        stored("mentions/date=2024-03-04/actor_id=x/compact-a.parquet", "actor_id"),
        stored("mentions/date=2024-03-04/actor_id=y/compact-b.parquet", "actor_id"),
    ]
    assert compaction.plan(actor, DATE_ACTOR, None) == []
    assert len(compaction.plan(actor, DATE, None)) == 1
    legacy = [stored("mentions/date=2024-03-04/actor=x/part-a.parquet", "actor")]
    assert len(compaction.plan(legacy, DATE, None)) == 1
    assert paths.infer_layout(legacy + actor) == LEGACY
    assert paths.infer_layout(actor) == DATE_ACTOR


def test_until_stops_before_the_days_a_streaming_ingest_still_writes():
    now = datetime(2024, 3, 10, 12, tzinfo=UTC)
    assert compaction.effective_until(None, now, None, False) == date(2024, 3, 8)
    assert compaction.effective_until(date(2024, 3, 9), now, None, False) == date(
        2024, 3, 9
    )
    streaming = date(2024, 3, 7)
    assert compaction.effective_until(date(2024, 3, 9), now, streaming, False) == (
        date(2024, 3, 6)
    )
    assert compaction.effective_until(date(2024, 3, 9), now, streaming, True) == (
        date(2024, 3, 9)
    )


def test_sizes_parse():
    assert compaction.parse_size("134217728") == 128 * 1024 * 1024
    assert compaction.parse_size("128M") == compaction.parse_size("128MiB")
    assert compaction.parse_size("1.5K") == 1536
    with pytest.raises(Exception, match="not a size"):
        compaction.parse_size("big")


# ----------------------------------------------------------- compaction itself


@pytest.mark.parametrize("layout", [DATE, DATE_ACTOR])
def test_compaction_keeps_every_row_and_every_answer(tmp_path, layout):
    output = make(tmp_path / "out", layout)
    before_files = parquet_files(output)
    before = canonical(output)
    assert all(before.values()), "every canonical query must have an answer"
    written = ("articles", "mentions", "quotes")  # synthetic outputs have no failures
    before_ids = {name: sorted(ids(output, name, layout)) for name in written}

    report = compaction.compact(str(output), say=quiet)

    after_files = parquet_files(output)
    assert len(after_files) < len(before_files)
    assert report.before["mentions"].files > report.after["mentions"].files
    assert canonical(output) == before
    for name in written:
        assert sorted(ids(output, name, layout)) == before_ids[name]
    if layout == DATE:  # one file per dataset and day: 3 datasets x 4 days
        assert len(after_files) == 3 * SMALL["days"]
    assert not list(output.rglob("*inprogress*"))
    assert not list((output / "_compaction").glob("*.json"))
    assert not list((output / "_leases").glob("*.json"))

    # Idempotent: a second run rewrites nothing.
    contents = {p: p.read_bytes() for p in after_files}
    again = compaction.compact(str(output), say=quiet)
    assert again.days == 0
    assert {p: p.read_bytes() for p in parquet_files(output)} == contents


def test_compacted_files_are_sorted_by_actor_in_row_groups_readers_skip(tmp_path):
    output = make(tmp_path / "out", mentions=4_000, days=1)
    compaction.compact(str(output), say=quiet)
    [path] = (output / "mentions").rglob("*.parquet")
    table = pq.read_table(path)
    actor_ids = table.column("actor_id").to_pylist()
    assert actor_ids == sorted(actor_ids)
    # Rewrite with small row groups, as a day of ~3M mentions would have 25 of
    # 128Ki rows, and check which groups an actor filter keeps.
    from newsbeam.transforms.sinks import parquet_bytes

    small = tmp_path / "small.parquet"
    small.write_bytes(parquet_bytes(table, DATASETS["mentions"], row_group_rows=500))
    assert pq.ParquetFile(small).metadata.num_row_groups == 8
    for reader in (duckdb_row_groups, polars_row_groups, pyarrow_row_groups):
        read, total = reader(small, "sergei-lavrov")
        assert (total, read) in ((8, 1), (8, 2)), reader.__name__


def test_the_same_rows_answer_alike_in_both_layouts(tmp_path):
    by_date = make(tmp_path / "date", DATE)
    by_actor = make(tmp_path / "date-actor", DATE_ACTOR)
    expected = canonical(by_date)
    assert canonical(by_actor) == expected
    compaction.compact(str(by_actor), say=quiet)
    assert canonical(by_actor) == expected
    # and moved into the other layout
    report = compaction.compact(str(by_actor), layout=DATE, say=quiet)
    assert report.layout == DATE
    assert directory.read_layout(str(by_actor)) == DATE
    assert not [p for p in (by_actor / "mentions").rglob("actor_id=*")]
    assert canonical(by_actor) == expected


def test_files_whose_articles_are_not_stored_are_left_for_later(tmp_path):
    output = make(tmp_path / "out", days=1)
    day = next((output / "articles").iterdir())
    for path in day.glob("*.parquet"):  # as if the ingest died before its articles
        path.unlink()
    waiting = list((output / "mentions").rglob("*.parquet"))
    waiting += list((output / "quotes").rglob("*.parquet"))
    report = compaction.compact(str(output), say=quiet)
    assert report.left == len(waiting) > 2
    assert all(path.exists() for path in waiting)


# --------------------------------------------------------------- crash safety


def totals(folder: Path) -> dict[str, tuple[int, int]]:
    """Rows and distinct ids per dataset."""
    found = {}
    for name in ("articles", "mentions", "quotes"):
        values = ids(folder, name)
        found[name] = (len(values), len(set(values)))
    return found


def test_a_crash_after_the_outputs_then_a_rerun_finishes_the_swap(
    tmp_path, monkeypatch
):
    output = make(tmp_path / "out", days=2)
    expected = totals(output)
    real_delete = directory.delete

    def crash(paths_):
        if any("/date=" in p for p in paths_):
            raise KeyboardInterrupt("killed")
        real_delete(paths_)

    monkeypatch.setattr(directory, "delete", crash)
    with pytest.raises(KeyboardInterrupt):
        compaction.compact(str(output), say=quiet)
    monkeypatch.setattr(directory, "delete", real_delete)
    [intent] = (output / "_compaction").glob("*.json")
    body = json.loads(intent.read_text())
    assert all(Path(p).exists() for p in body["outputs"] + body["inputs"])

    said = []
    compaction.compact(str(output), say=said.append)
    assert any("finished the interrupted compaction" in line for line in said)
    assert totals(output) == expected
    assert all(rows == distinct for rows, distinct in expected.values())
    assert not list((output / "_compaction").glob("*.json"))


def test_a_crash_between_outputs_then_a_rerun_undoes_them(tmp_path, monkeypatch):
    output = make(tmp_path / "out", days=1)
    expected = totals(output)
    real_write = compaction.write_atomically
    writes = []

    def crash(path, payload):
        if "/date=" in path:
            if writes:
                raise KeyboardInterrupt("killed")
            writes.append(path)
        real_write(path, payload)

    monkeypatch.setattr(compaction, "write_atomically", crash)
    with pytest.raises(KeyboardInterrupt):  # 2 KiB files: many outputs per day
        compaction.compact(str(output), target_file_size=2048, say=quiet)
    monkeypatch.setattr(compaction, "write_atomically", real_write)
    [data_written] = writes
    assert Path(data_written).exists()

    said = []
    compaction.compact(str(output), target_file_size=2048, say=said.append)
    assert any("undone the interrupted compaction" in line for line in said)
    assert totals(output) == expected


def assert_whole(folder: Path) -> None:
    for path in folder.rglob("*.parquet"):
        assert not path.name.startswith(".")
        pq.read_metadata(path)  # a partial file has no footer


def pending(intents: Path) -> set[tuple[str, int]]:
    found = set()
    try:
        paths = list(intents.glob("*.json"))
    except FileNotFoundError:  # the folder went away between its check and listing
        return found
    for path in paths:
        try:
            found.add((path.name, path.stat().st_mtime_ns))
        except FileNotFoundError:
            continue  # deleted between the listing and the stat
    return found


@pytest.mark.slow
def test_kill_9_at_any_moment_then_rerun_leaves_every_row_once(tmp_path):
    """SIGKILL the real command again and again, each time at a random moment after
    it starts swapping a day (an intent appears), until a run completes; after
    every kill readers see whole files, and in the end each row is there once."""
    output = make(tmp_path / "out", mentions=6_000, days=12, runs_per_day=4)
    expected = totals(output)
    expected_answers = canonical(output)
    intents = output / "_compaction"
    command = [sys.executable, "-m", "newsbeam.pipeline.cli", "compact", str(output),
               "--target-file-size", "16K"]  # fmt: skip
    rng = random.Random(13)
    kills = 0
    for _attempt in range(40):
        left = pending(intents)  # what the last killed run left: not this run's
        process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        while process.poll() is None and pending(intents) in (left, set()):
            time.sleep(0.005)
        # Swapping the 12 days takes ~0.9 s here: kills within 0.25 s of a run's
        # first intent leave work for the next run, so several kills land.
        time.sleep(rng.uniform(0.0, 0.25))
        if process.poll() is not None:
            assert process.returncode == 0, process.stderr.read()[-2000:]
            break
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        kills += 1
        assert_whole(output)
    else:
        pytest.fail("compaction never completed")
    assert kills >= 3, "the kills must land while compaction runs"
    assert totals(output) == expected
    assert canonical(output) == expected_answers
    assert not list(intents.glob("*.json"))
    assert main(["compact", str(output)]) == 0  # and it stays done
    assert all(f.compacted for f in directory.data_files(str(output)))


# ------------------------------------------------------------------- leases


def test_a_live_batch_ingest_makes_compaction_refuse(tmp_path, capsys):
    output = make(tmp_path / "out", days=1)
    ingest = directory.LeaseHolder(str(output), paths.INGEST, run_id="hourly-7")
    ingest.write()
    before = parquet_files(output)
    assert main(["compact", str(output)]) == compaction.EXIT_BUSY
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0 and "ingest (run hourly-7)" in message
    assert parquet_files(output) == before
    assert [p.name for p in (output / "_leases").glob("*.json")] == [
        Path(ingest.path).name
    ]  # compaction withdrew its own lease

    # A lease nobody renewed is a dead job's: it no longer counts.
    expired = ingest.lease.renewed(datetime.now(UTC) - timedelta(hours=1))
    Path(ingest.path).write_bytes(expired.to_json())
    assert main(["compact", str(output)]) == 0
    assert len(parquet_files(output)) < len(before)


def test_two_compactions_never_run_together(tmp_path):
    output = make(tmp_path / "out", days=1)
    with (
        directory.compaction_lease(str(output), 0),
        pytest.raises(directory.LeaseBusy, match="compact"),
    ):
        compaction.compact(str(output), say=quiet)


def test_an_ingest_waits_for_a_compaction_then_gives_up(tmp_path, monkeypatch):
    output = str(make(tmp_path / "out", days=1))
    monkeypatch.setattr(directory, "POLL_SECONDS", 0.05)
    with directory.compaction_lease(output, 0):
        started = time.monotonic()
        with (
            pytest.raises(directory.LeaseBusy, match="compact"),
            directory.ingest_lease(output, "r1", streaming=False, wait_seconds=0.3),
        ):
            pass
        assert time.monotonic() - started >= 0.3
    with directory.ingest_lease(output, "r2", streaming=False, wait_seconds=0):
        [lease] = directory.live_leases(output)
        assert lease.kind == paths.INGEST and lease.run_id == "r2"
    assert directory.live_leases(output) == []


def test_a_streaming_ingest_keeps_its_open_days(tmp_path):
    today = datetime.now(UTC).date()
    output = make(tmp_path / "out", days=3, first_day=today - timedelta(days=2))
    streaming = directory.LeaseHolder(str(output), paths.INGEST, streaming=True)
    streaming.write()
    assert (
        streaming.lease.open_from
        == paths.first_open_date(datetime.now(UTC)).isoformat()
    )
    report = compaction.compact(str(output), until=today, say=quiet)
    compacted = {f.day for f in directory.data_files(str(output)) if f.compacted}
    assert compacted and max(compacted) < date.fromisoformat(streaming.lease.open_from)
    assert report.until < date.fromisoformat(streaming.lease.open_from)
    compaction.compact(str(output), until=today, include_open_dates=True, say=quiet)
    assert all(f.compacted for f in directory.data_files(str(output)))


# --------------------------------------------------------- newsbeam 0.1 output

OLD_MENTIONS = pa.schema(
    [
        ("mention_id", pa.string()),
        ("article_id", pa.string()),
        ("actor_id", pa.string()),
        ("actor", pa.string()),
        ("actor_name", pa.string()),
        ("actor_type", pa.string()),
        ("country", pa.string()),
        ("label", pa.string()),
        ("text", pa.string()),
        ("start_char", pa.int32()),
        ("end_char", pa.int32()),
        ("published_at", pa.timestamp("us", tz="UTC")),
    ]
)
OLD_QUOTES = pa.schema(
    [
        ("quote_id", pa.string()),
        ("article_id", pa.string()),
        ("speaker_id", pa.string()),
        ("speaker", pa.string()),
        ("speaker_text", pa.string()),
        ("quote", pa.large_string()),
        ("kind", pa.string()),
        ("cue", pa.string()),
        ("start_char", pa.int32()),
        ("end_char", pa.int32()),
        ("speaker_start_char", pa.int32()),
        ("speaker_end_char", pa.int32()),
        ("rule", pa.string()),
        ("confidence", pa.float32()),
        ("published_at", pa.timestamp("us", tz="UTC")),
    ]
)
OLD_ARTICLES = pa.schema(
    [
        ("article_id", pa.string()),
        ("feed_url", pa.string()),
        ("source", pa.string()),
        ("url", pa.string()),
        ("guid", pa.string()),
        ("title", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("date_source", pa.string()),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("language", pa.string()),
        ("text", pa.large_string()),
        ("word_count", pa.int32()),
        ("text_source", pa.string()),
    ]
)
OLD_ACTORS = pa.schema(
    [
        ("actor_id", pa.string()),
        ("name", pa.string()),
        ("type", pa.string()),
        ("country", pa.string()),
        ("aliases", pa.list_(pa.string())),
        ("mention_count", pa.int64()),
        ("first_seen", pa.timestamp("us", tz="UTC")),
        ("last_seen", pa.timestamp("us", tz="UTC")),
    ]
)
DAY = datetime(2024, 3, 4, 9, tzinfo=UTC)


def write_release_01(output: Path) -> None:
    """An output as newsbeam 0.1 wrote it: date=/actor= folders, old columns."""

    def put(folder: str, name: str, rows: list[dict], schema: pa.Schema) -> None:
        path = output / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)

    article = {
        "article_id": "a1", "feed_url": "f", "source": "World Desk", "url": "u",
        "guid": "", "title": "Talks", "published_at": DAY, "date_source": "published",
        "fetched_at": DAY, "language": "en", "text": "Talks\n\nLavrov met Cameron.",
        "word_count": 4, "text_source": "feed",
    }  # fmt: skip
    put("articles/date=2024-03-04", "part-1.parquet", [article], OLD_ARTICLES)
    put("articles/date=2024-03-04", "part-2.parquet",
        [{**article, "article_id": "a2", "title": "More"}], OLD_ARTICLES)  # fmt: skip
    for n, (actor, name, country) in enumerate(
        [("sergei-lavrov", "Sergei Lavrov", "russia"),
         ("david-cameron", "David Cameron", "united-kingdom"),
         ("sergei-lavrov", "Sergei Lavrov", "russia")]
    ):  # fmt: skip
        mention = {
            "mention_id": f"m{n}", "article_id": "a1" if n < 2 else "a2",
            "actor_id": actor, "actor": actor, "actor_name": name,
            "actor_type": "person", "country": country, "label": "PERSON",
            "text": name.split()[-1], "start_char": 7, "end_char": 13,
            "published_at": DAY,
        }  # fmt: skip
        put(f"mentions/date=2024-03-04/actor={actor}", f"part-{n}.parquet",
            [mention], OLD_MENTIONS)  # fmt: skip
    quote = {
        "quote_id": "q1", "article_id": "a1", "speaker_id": "sergei-lavrov",
        "speaker": "Sergei Lavrov", "speaker_text": "Lavrov", "quote": "No.",
        "kind": "direct", "cue": "say", "start_char": 20, "end_char": 23,
        "speaker_start_char": 7, "speaker_end_char": 13, "rule": "r",
        "confidence": 0.9, "published_at": DAY,
    }  # fmt: skip
    put("quotes/date=2024-03-04/actor=sergei-lavrov", "part-q1.parquet", [quote],
        OLD_QUOTES)  # fmt: skip
    unknown = {**quote, "quote_id": "q2", "speaker_id": "unknown", "speaker": "",
               "speaker_text": "", "cue": "", "speaker_start_char": None,
               "speaker_end_char": None}  # fmt: skip
    put("quotes/date=2024-03-04/actor=unknown", "part-q2.parquet", [unknown],
        OLD_QUOTES)  # fmt: skip
    put("actors", "actors.parquet", [
        {"actor_id": "sergei-lavrov", "name": "Sergei Lavrov", "type": "person",
         "country": "russia", "aliases": ["Lavrov"], "mention_count": 2,
         "first_seen": DAY, "last_seen": DAY},
    ], OLD_ACTORS)  # fmt: skip


def test_an_output_of_release_01_is_refused_then_converted(tmp_path, capsys):
    output = tmp_path / "old"
    write_release_01(output)
    with pytest.raises(paths.LayoutError, match="newsbeam 0.1"):
        directory.ensure_layout(str(output), None)  # what ingest does first
    assert main(["query", str(output), "SELECT 1"]) == 2
    assert main(["compact", str(output)]) == 2
    assert "--convert" in capsys.readouterr().err

    assert main(["compact", str(output), "--convert"]) == 0
    assert "mentions" in capsys.readouterr().out
    assert directory.ensure_layout(str(output), None) == DATE
    assert not list(output.rglob("actor=*"))
    con = connect(str(output))
    mentions = con.sql(
        "SELECT mention_id, actor_id, actor_country, date FROM mentions ORDER BY 1"
    ).fetchall()
    assert [m[:3] for m in mentions] == [
        ("m0", "sergei-lavrov", "russia"),
        ("m1", "david-cameron", "united-kingdom"),
        ("m2", "sergei-lavrov", "russia"),
    ]
    assert "actor" not in con.sql("SELECT * FROM mentions").columns
    quotes = con.sql(
        "SELECT quote_id, speaker_id, speaker_name, speaker_text, cue, segments "
        "FROM quotes ORDER BY 1"
    ).fetchall()
    assert quotes == [
        ("q1", "sergei-lavrov", "Sergei Lavrov", "Lavrov", "say", None),
        ("q2", None, None, None, None, None),
    ]
    assert con.sql("SELECT DISTINCT outlet, guid FROM articles").fetchall() == [
        ("World Desk", None)
    ]
    assert con.sql(
        "SELECT actor_id, actor_name, actor_type, actor_country FROM actors"
    ).fetchall() == [("sergei-lavrov", "Sergei Lavrov", "person", "russia")]
    # Every file is now in this release's schema, exactly.
    for name, spec in DATASETS.items():
        for path in (output / name).rglob("*.parquet"):
            assert pq.read_schema(path).remove_metadata() == spec.schema, path
    assert main(["compact", str(output), "--convert"]) == 0  # idempotent


def test_ingest_refuses_a_directory_with_the_other_layout(tmp_path, capsys):
    output = make(tmp_path / "out", DATE_ACTOR, days=1)
    assert directory.ensure_layout(str(output), None) == DATE_ACTOR
    assert directory.ensure_layout(str(output), DATE_ACTOR) == DATE_ACTOR
    with pytest.raises(paths.LayoutError, match="holds the 'date-actor' layout"):
        directory.ensure_layout(str(output), DATE)
    feed = REPO / "examples" / "feeds" / "world-rss2.xml"
    code = main(["ingest", "--feeds", str(feed), "--output", str(output),
                 "--layout", "date", "--fetch-articles", "never"])  # fmt: skip
    error = capsys.readouterr().err.strip()
    assert code == 2 and error.count("\n") == 0
    assert "holds the 'date-actor' layout, not 'date'" in error
