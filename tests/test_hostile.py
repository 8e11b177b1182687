"""Hostile feeds, failing servers and reruns: nothing crashes, nothing is lost.

Three levels, as everywhere: pure functions on hand-written hostile inputs; the item
DoFn under TestPipeline; and whole runs through the CLI against feed files written in
``tmp_path`` and a fault-injecting server on 127.0.0.1, checked through the run record
(``items_seen == articles_written + duplicates + dead_letters_items``, every feed
once) and by reading the Parquet back.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import random
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import apache_beam as beam
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from conftest import TEST_RUNNER
from newsbeam.pipeline.cli import main
from newsbeam.schemas import FeedItem, pyarrow_partitioning
from newsbeam.transforms.actors import slugify
from newsbeam.transforms.common import DEAD_LETTERS
from newsbeam.transforms.feeds import FeedParseError, parse_feed
from newsbeam.transforms.http import FetchOptions, fetch
from newsbeam.transforms.sinks import partition_value
from newsbeam.transforms.text import (
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    EmptyItemError,
    ItemToArticleFn,
    cap_text,
    convert_item,
    item_to_article,
    valid_unicode,
)
from servers import Route, gzipped, redirect, serve, unaccepting_port

FETCHED = datetime(2025, 11, 2, 12, 0, tzinfo=UTC)
FEED_URL = "https://hostile.example/rss"
SAFE_PARTITION = re.compile(
    r"^(date=\d{4}-\d{2}-\d{2}|(actor|speaker)_id=([a-z0-9][a-z0-9\-]*|__HIVE_DEFAULT_PARTITION__))$"
)

PARAGRAPHS = [
    "British Foreign Secretary David Cameron met Russian Foreign Minister Sergei "
    "Lavrov in Moscow on Monday.",
    '"We will not be intimidated," Cameron said after the meeting.',
    "The Kremlin said that the talks had been useful.",
]


def rss_item(
    title: str = "",
    link: str = "",
    body: str = "",
    *,
    guid: str = "",
    date: str = "",
) -> str:
    parts = []
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    if link:
        parts.append(f"<link>{escape(link)}</link>")
    if guid:
        parts.append(f"<guid isPermaLink='false'>{escape(guid)}</guid>")
    if date:
        parts.append(f"<pubDate>{escape(date)}</pubDate>")
    if body:
        parts.append(f"<description>{escape(body)}</description>")
    return f"<item>{''.join(parts)}</item>"


def rss(
    items: list[str] | str,
    *,
    declaration: str = '<?xml version="1.0" encoding="utf-8"?>',
    doctype: str = "",
    title: str = "Hostile",
) -> str:
    body = items if isinstance(items, str) else "".join(items)
    return (
        f'{declaration}{doctype}<rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://hostile.example/</link><description>d</description>"
        f"{body}</channel></rss>"
    )


def story(n: int, when: datetime | None = None, host="hostile.example") -> str:
    """An English item the model can analyse, with its own link."""
    when = when or datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    html = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return rss_item(
        f"Ministers meet in Moscow, part {n}",
        f"https://{host}/story/{n}",
        html,
        date=format_datetime(when),
    )


def parse(body: bytes, content_type: str | None = None):
    return parse_feed(body, FEED_URL, FETCHED, content_type=content_type)


def item(**overrides) -> FeedItem:
    values = dict(
        feed_url=FEED_URL,
        source="Hostile",
        link="https://hostile.example/a",
        guid="",
        title="A title",
        published=None,
        updated=None,
        fetched_at=FETCHED,
        html="<p>Some text.</p>",
    )
    values.update(overrides)
    return FeedItem(**values)


BILLION_LAUGHS = "".join(
    [
        '<!DOCTYPE rss [<!ENTITY lol "lol">',
        *(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
            for i in range(1, 10)
        ),
        "]>",
    ]
)


def xxe_doctype(secret: Path) -> str:
    return (
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">'
        f'<!ENTITY % remote SYSTEM "file://{secret}"> %remote;]>'
    )


# ------------------------------------------------------------ malformed XML


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            rss([rss_item("Caf&eacute; &nbsp; &bogus; talks", "https://h.example/1")]),
            id="undefined-entities",
        ),
        pytest.param(
            rss([rss_item("Kept", "https://h.example/1")])
            + "<item><title>Broken</b></title></item>",
            id="mismatched-tags",
        ),
        pytest.param(
            rss([rss_item("Kept", "https://h.example/1"), rss_item("Cut", "x")])[:-60],
            id="truncated",
        ),
    ],
)
def test_bozo_feeds_still_give_their_readable_items(body):
    _, items, failures = parse(body.encode())
    assert items and not failures
    assert items[0].link == "https://h.example/1"


def test_forbidden_character_references_do_not_crash_the_parser():
    # &#xD800; used to crash feedparser's loose parser with UnicodeEncodeError.
    refs = "&#xD800; &#0; &#99999999999; &#x1F600;"
    body = rss([f"<item><title>Odd {refs}</title><link>https://h/1</link></item>"])
    [entry] = parse(body.encode()).items
    assert "\ufffd" in entry.title and "\U0001f600" in entry.title
    item_to_article(entry).text.encode("utf-8")  # strict: a surrogate would raise
    # the same references escaped once more reach the HTML cleaner as references
    [escaped] = parse(
        rss([rss_item(f"Odd {refs}", "https://h/1", refs)]).encode()
    ).items
    article = item_to_article(escaped)
    (article.title + article.text).encode("utf-8")


# ------------------------------------------------------------ encodings

CYRILLIC = "Министр иностранных дел России встретился с коллегой в Женеве сегодня"
LATIN = "Ação política em São Paulo: ministra critica reforma econômica"


@pytest.mark.parametrize(
    ("text", "declaration", "encoding", "content_type"),
    [
        pytest.param(
            LATIN,
            '<?xml version="1.0" encoding="utf-16"?>',
            "utf-8",
            None,
            id="utf16-declared-over-utf8",
        ),
        pytest.param(
            CYRILLIC,
            '<?xml version="1.0" encoding="windows-1251"?>',
            "cp1251",
            None,
            id="windows-1251-declared",
        ),
        pytest.param(
            CYRILLIC,
            '<?xml version="1.0"?>',
            "cp1251",
            None,
            id="windows-1251-undeclared",
        ),
        pytest.param(
            CYRILLIC,
            '<?xml version="1.0" encoding="utf-8"?>',
            "cp1251",
            None,
            id="windows-1251-declared-as-utf8",
        ),
        pytest.param(
            "北京新闻 外交部长今天在日内瓦会见了俄罗斯外长",
            '<?xml version="1.0" encoding="gb2312"?>',
            "gb2312",
            None,
            id="gb2312",
        ),
        pytest.param(
            LATIN, '<?xml version="1.0"?>', "latin-1", None, id="undeclared-latin1"
        ),
        pytest.param(LATIN, "", "latin-1", None, id="no-declaration-latin1"),
        pytest.param(
            LATIN,
            '<?xml version="1.0"?>',
            "latin-1",
            "text/xml; charset=klingon",
            id="unknown-charset-header",
        ),
        pytest.param(
            CYRILLIC,
            '<?xml version="1.0" encoding="utf-16"?>',
            "utf-16",
            None,
            id="real-utf16",
        ),
    ],
)
def test_wrong_or_missing_encoding_declarations(
    text, declaration, encoding, content_type
):
    body = rss(
        [rss_item(text, "https://h.example/1", f"{text}. {text}.")],
        declaration=declaration,
    ).encode(encoding)
    [entry] = parse(body, content_type).items
    assert entry.title == text


def test_utf16_declared_over_8_bit_bytes_whatever_the_byte_count():
    # Read as UTF-16, an even number of bytes decodes to junk, an odd one fails.
    for pad in range(4):
        title = LATIN + "!" * pad
        body = rss(
            [rss_item(title, "https://h.example/1")],
            declaration='<?xml version="1.0" encoding="utf-16"?>',
        ).encode("utf-8")
        assert [i.title for i in parse(body).items] == [title]


def test_gzip_body_without_header_is_read(tmp_path):
    from newsbeam.transforms.feeds import read_local

    path = tmp_path / "feed.xml"
    path.write_bytes(gzip.compress(rss([story(1)]).encode()))
    assert len(parse(read_local(path, 10_000_000)).items) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><body><p>Welcome</p></body></html>", "not_a_feed"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not_a_feed"),
        (b"[" * 100_000 + b"]" * 100_000, "not_a_feed"),
        (b"{" + b'"a":[' * 100_000, "bad_json"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": 7}', "not_a_feed"),
    ],
    ids=["html-page", "image", "deep-json-array", "deep-json-object", "json-no-items"],
)
def test_bodies_that_are_no_feed_are_refused_cleanly(body, reason):
    with pytest.raises(FeedParseError) as caught:
        parse(body)
    assert caught.value.reason == reason


def test_json_feed_with_lone_surrogates_gives_encodable_strings():
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "J\ud800",
            "items": [{"id": "1", "title": "Bad \udfff", "content_text": "x\ud800"}],
        }
    ).encode()
    source, [entry], _ = parse(body)
    for value in (source, entry.title, entry.html):
        value.encode("utf-8")


@pytest.mark.parametrize(
    "body",
    [
        rss([]),
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>'
        "x</title></feed>",
        '{"version": "https://jsonfeed.org/version/1", "items": []}',
    ],
    ids=["rss", "atom", "json"],
)
def test_empty_feeds_have_no_items_and_no_failures(body):
    _, items, failures = parse(body.encode())
    assert (items, failures) == ([], [])


def test_random_damage_never_raises_anything_but_a_parse_error():
    """Cut and corrupt a real feed many ways: every outcome is items or a refusal."""
    base = Path(__file__).resolve().parents[1] / "examples" / "feeds"
    bodies = [p.read_bytes() for p in sorted(base.glob("*.xml"))]
    rng = random.Random(20251102)
    outcomes = {"items": 0, "refused": 0}
    for body in bodies:
        for _ in range(40):
            damaged = bytearray(body[: rng.randrange(len(body))])
            for _ in range(rng.randrange(0, 20)):
                if damaged:
                    damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            try:
                _, items, _ = parse(bytes(damaged))
            except FeedParseError:
                outcomes["refused"] += 1
                continue
            outcomes["items"] += 1
            for entry in items:
                with contextlib.suppress(EmptyItemError):
                    item_to_article(entry).text.encode("utf-8")
    assert outcomes["items"] > 0


# ------------------------------------------------------------ entity attacks


def test_billion_laughs_is_not_expanded():
    body = rss(
        [rss_item("Boom", "https://h.example/b", "before &lol9; after")],
        doctype=BILLION_LAUGHS,
    )
    started = time.monotonic()
    _, items, _ = parse(body.encode())
    assert time.monotonic() - started < 2
    assert all(len(i.html) < 1000 and "lol" * 100 not in i.html for i in items)


def test_external_entities_are_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("NEWSBEAM-SECRET-4242")
    body = rss(
        [rss_item("Leak &xxe;", "https://h.example/x", "body &xxe; end")],
        doctype=xxe_doctype(secret),
    )
    source, items, failures = parse(body.encode())
    assert "NEWSBEAM-SECRET" not in repr((source, items, failures))


# ------------------------------------------------------------ items


def test_items_without_link_guid_title_or_date_still_get_distinct_stable_ids():
    only_guid = item(link="", guid="g-1", title="")
    only_title = item(link="", title="Just a headline", html="")
    only_text = item(link="", title="", html="<p>Only some text here.</p>")
    articles = [item_to_article(i) for i in (only_guid, only_title, only_text)]
    assert len({a.article_id for a in articles}) == 3
    assert [a.article_id for a in articles] == [
        item_to_article(i).article_id for i in (only_guid, only_title, only_text)
    ]
    assert all(a.date_source == "fetched" for a in articles)
    with pytest.raises(EmptyItemError):
        item_to_article(item(title="", html="<script>x()</script>"))


def test_future_and_unparseable_dates_fall_back_to_the_fetch_time():
    body = rss(
        [
            rss_item(
                "Future",
                "https://h.example/f",
                "x",
                date="Sat, 01 Jan 2099 00:00:00 GMT",
            ),
            rss_item("Garbage", "https://h.example/g", "x", date="yesterday-ish"),
        ]
    )
    future, garbage = parse(body.encode()).items
    assert item_to_article(future).published_at == FETCHED
    assert item_to_article(garbage).published_at == FETCHED
    assert "unparseable" in garbage.date_error


def test_cap_text_prefers_paragraph_then_sentence_then_space():
    paragraphs = "\n\n".join(["word " * 30 + "end."] * 10)
    capped = cap_text(paragraphs, 500)
    assert len(capped) <= 500 and capped.endswith("end.")
    assert paragraphs.startswith(capped)
    sentences = "One sentence here. " * 50
    assert cap_text(sentences, 300).endswith("here.")
    assert cap_text("x" * 1000, 100) == "x" * 100
    assert cap_text("short", 100) == "short"


def test_enormous_item_is_cut_at_a_paragraph_and_noted():
    paragraph = "<p>" + ("The minister spoke for a long time. " * 30) + "</p>"
    huge = paragraph * (5_000_000 // len(paragraph))  # about 5 MB
    article, notes = convert_item(item(html=huge, title="T" * 5000))
    assert len(article.text) <= MAX_TEXT_CHARS
    assert article.text.endswith("long time.")  # a whole paragraph, not a cut word
    assert len(article.title) <= MAX_TITLE_CHARS
    assert len(notes) == 2 and all("cut" in n for n in notes)
    assert convert_item(item())[1] == []


def test_item_fn_routes_cut_text_as_a_note_not_a_lost_item():
    big = item(html="<p>" + "word " * 40_000 + "</p>", link="https://h.example/big")
    empty = item(title="", html="", link="https://h.example/empty")
    with TestPipeline(runner=TEST_RUNNER) as p:
        out = (
            p
            | beam.Create([big, empty])
            | beam.ParDo(ItemToArticleFn()).with_outputs(DEAD_LETTERS, main="articles")
        )
        assert_that(
            out.articles | "Lengths" >> beam.Map(lambda a: len(a.text) <= 100_000),
            equal_to([True]),
            label="OneArticle",
        )
        assert_that(
            out[DEAD_LETTERS] | beam.Map(lambda d: (d.stage, d.error)),
            equal_to([("notes", "truncated"), ("items", "empty_item")]),
            label="NoteAndLoss",
        )


def test_valid_unicode():
    assert valid_unicode("a\ud800b\udfff") == "a\ufffdb\ufffd"
    assert valid_unicode("ok \U0001f600") == "ok \U0001f600"


# ------------------------------------------------------------ partitions


@pytest.mark.parametrize(
    "name",
    [
        "../../etc",
        "..",
        "/etc/passwd",
        "..\\..\\windows",
        "%2e%2e%2f",
        "a/../../b",
        "\x00",
        "",
        "Ωμέγα",
        "CON",
        "-leading",
    ],
)
def test_any_actor_name_becomes_a_safe_partition(name):
    slug = slugify(name)
    assert partition_value(slug) == slug
    assert "/" not in slug and ".." not in slug and "\\" not in slug


# ------------------------------------------------------------ politeness


def test_requests_in_flight_to_one_host_are_limited():
    in_flight = []
    peak = []
    lock = threading.Lock()

    def slow(request):
        with lock:
            in_flight.append(1)
            peak.append(len(in_flight))
        time.sleep(0.2)
        with lock:
            in_flight.pop()
        return Route(body=b"ok")

    def run(limit: int) -> int:
        options = FetchOptions(host_concurrency=limit, deadline=10.0)
        peak.clear()
        with serve({"/": slow}) as server:
            threads = [
                threading.Thread(
                    target=fetch,
                    args=(server.url("/"), options),
                    kwargs={"trusted": True},
                )
                for _ in range(6)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        return max(peak)

    assert run(1) == 1
    assert run(2) == 2
    assert run(0) > 2  # no limit: the test would notice if the limit did nothing


def test_waiting_for_a_host_slot_is_bounded():
    """A host that is slow for everyone fails the requests queued behind it after
    ``host_wait`` instead of holding them forever."""
    from newsbeam.transforms.http import FetchError

    options = FetchOptions(host_concurrency=1, deadline=0.5, host_wait=0.3, retries=0)
    gate = Route(body=b"late", delay=1.5)
    errors = []

    def attempt():
        try:
            fetch(server.url("/"), options, trusted=True)
        except FetchError as e:
            errors.append(e.reason)

    with serve({"/": gate}) as server:
        threads = [threading.Thread(target=attempt) for _ in range(2)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == ["timeout", "timeout"]
    assert time.monotonic() - started < 1.5


# ============================================================ end to end


def ingest(output: Path, feeds: list[str], *extra: str) -> dict:
    argv = ["ingest", "--output", str(output), "--fetch-articles", "never", *extra]
    for feed in feeds:
        argv += ["--feeds", feed]
    before = set((output / "_runs").glob("*.json")) if output.exists() else set()
    assert main(argv) == 0
    [record] = set((output / "_runs").glob("*.json")) - before
    return json.loads(record.read_text())


def assert_accounted(record: dict, feeds: list[str]) -> None:
    counts = record["counts"]
    assert counts["items_seen"] == (
        counts["articles_written"] + counts["duplicates"] + counts["dead_letters_items"]
    )
    assert sorted(f["feed"] for f in record["feeds"]) == sorted(feeds)
    for feed in record["feeds"]:
        assert feed["items_seen"] == (
            feed["articles_written"] + feed["duplicates"] + feed["dead_letters"]
        ), feed
        assert feed["status"] in {"ok", "failed", "not_modified"}, feed
        if feed["status"] == "failed":
            assert feed["error"], feed


def read(output: Path, name: str) -> list[dict]:
    if not (output / name).exists():
        return []
    dataset = ds.dataset(
        output / name, format="parquet", partitioning=pyarrow_partitioning(name)
    )
    return dataset.to_table().to_pylist()


def assert_output_contained(output: Path) -> None:
    """Every path under the output is inside it, and every partition folder is safe."""
    root = output.resolve()
    for path in output.rglob("*"):
        assert path.resolve().is_relative_to(root), path
        if path.is_dir() and "=" in path.name:
            assert SAFE_PARTITION.match(path.name), path


@pytest.mark.model
@pytest.mark.slow
def test_hostile_feed_files_ingest_with_full_accounting(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("NEWSBEAM-SECRET-4242")
    future = format_datetime(datetime.now(UTC) + timedelta(days=3650))
    huge = "".join(f"<p>{' '.join(PARAGRAPHS)}</p>" for _ in range(20_000))  # ~5 MB
    feeds_dir = tmp_path / "feeds"
    feeds_dir.mkdir()
    files = {
        "bozo.xml": (
            rss(
                [story(1), rss_item("Caf&eacute; &bogus;", "https://h/2", "Text.")]
            ).replace("</channel></rss>", "<item><title>cut")
        ).encode(),
        "cp1251.xml": rss(
            [rss_item(CYRILLIC, "https://h/ru", CYRILLIC)],
            declaration='<?xml version="1.0"?>',
        ).encode("cp1251"),
        "gb2312.xml": rss(
            [
                rss_item(
                    "北京新闻", "https://h/cn", "外交部长今天在日内瓦会见了俄罗斯外长"
                )
            ],
            declaration='<?xml version="1.0" encoding="gb2312"?>',
        ).encode("gb2312"),
        "utf16-lie.xml": rss(
            [rss_item(LATIN, "https://h/pt", LATIN)],
            declaration='<?xml version="1.0" encoding="utf-16"?>',
        ).encode("utf-8"),
        "gzip-no-header.xml": gzip.compress(rss([story(3)]).encode()),
        "page.html": b"<!DOCTYPE html><html><body><p>Not a feed</p></body></html>",
        "empty.xml": rss([]).encode(),
        "json.json": json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "J\ud800",
                "items": [
                    {"id": "j1", "title": "JSON \udfff item", "content_text": "Hi."},
                    "not an item",
                    {"id": "j2"},
                ],
            }
        ).encode(),
        "bare.xml": rss(
            [
                "<item></item>",
                rss_item(body="Only a body, no link, guid, title or date."),
                rss_item("Only a title"),
                rss_item(guid="only-a-guid", body="And text."),
                rss_item("Future", "https://h/future", "Text.", date=future),
                rss_item("Garbage date", "https://h/garbage", "Text.", date="soon"),
            ]
        ).encode(),
        "huge.xml": rss([rss_item("Huge", "https://h/huge", huge)]).encode(),
        "attacks.xml": rss(
            [rss_item("Leak &xxe;", "https://h/xxe", "body &xxe; &lol9; end")],
            doctype=BILLION_LAUGHS.replace("]>", "")
            + xxe_doctype(secret).removeprefix("<!DOCTYPE rss ["),
        ).encode(),
        "surrogates.xml": rss(
            [rss_item("Odd &#xD800; title", "https://h/odd", "x &#xDFFF; y")]
        ).encode(),
    }
    for name, data in files.items():
        (feeds_dir / name).write_bytes(data)
    feeds = [str(feeds_dir / name) for name in files]
    output = tmp_path / "out"

    record = ingest(output, feeds)

    assert_accounted(record, feeds)
    status = {Path(f["feed"]).name: f for f in record["feeds"]}
    assert status["page.html"]["status"] == "failed"
    assert {n for n, f in status.items() if f["status"] == "failed"} == {"page.html"}
    assert status["empty.xml"]["items_seen"] == 0
    assert status["json.json"]["items_seen"] == 3
    assert status["json.json"]["dead_letters"] == 2  # a string and an empty item
    assert status["bare.xml"]["items_seen"] == 6
    assert status["bare.xml"]["dead_letters"] == 1  # the wholly empty item
    articles = {
        a["url"] or a["guid"] or a["title"]: a for a in read(output, "articles")
    }
    assert len(read(output, "articles")) == record["counts"]["articles_written"]
    assert CYRILLIC in articles["https://h/ru"]["title"]
    assert len(articles["https://h/huge"]["text"]) <= MAX_TEXT_CHARS
    assert articles["https://h/future"]["date_source"] == "fetched"
    letters = read(output, "dead_letters")
    assert ("notes", "truncated") in {(d["stage"], d["error"]) for d in letters}
    assert ("dates", "bad_date") in {(d["stage"], d["error"]) for d in letters}
    for parquet in output.rglob("*.parquet"):
        assert b"NEWSBEAM-SECRET" not in parquet.read_bytes()
        table = pq.read_table(parquet)
        assert "NEWSBEAM-SECRET" not in json.dumps(table.to_pylist(), default=str)
    assert_output_contained(output)


@pytest.mark.model
@pytest.mark.slow
def test_every_http_fault_at_once_finishes_in_bounded_time(tmp_path):
    good = rss([story(1)]).encode()
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))
    routes = {
        "/ok.xml": Route(body=good, headers={"Content-Type": "application/rss+xml"}),
        "/gzip-no-header.xml": Route(body=gzipped(rss([story(2)]))),
        "/as-text-plain.xml": Route(
            body=rss([story(3)]), headers={"Content-Type": "text/plain"}
        ),
        "/busy-then-ok.xml": [
            Route(status=429, headers={"Retry-After": "1"}),
            Route(body=rss([story(4)])),
        ],
        "/404.xml": Route(status=404, body="gone"),
        "/410.xml": Route(status=410),
        "/429.xml": Route(status=429, headers={"Retry-After": "1"}),
        "/503.xml": Route(status=503, headers={"Retry-After": "1"}),
        "/500.xml": Route(status=500),
        "/502.xml": Route(status=502),
        "/loop-a.xml": redirect("/loop-b.xml"),
        "/loop-b.xml": redirect("/loop-a.xml"),
        "/silent.xml": Route(body=good, delay=120),
        "/drip.xml": Route(body=good * 10, drip=0.5, chunk_size=1),
        "/reset.xml": Route(body=good, reset=True),
        "/image.png": Route(
            body=b"\x89PNG\r\n\x1a\n" + bytes(200),
            headers={"Content-Type": "image/png"},
        ),
        "/html.xml": Route(
            body="<html><body>Home</body></html>", headers={"Content-Type": "text/html"}
        ),
        "/huge.xml": Route(
            body=b"<rss>" + b"x" * (11 * 1024 * 1024), content_length=False
        ),
        "/bomb.xml": Route(body=bomb, headers={"Content-Encoding": "gzip"}),
    }
    expected = {
        "/ok.xml": "ok",
        "/gzip-no-header.xml": "ok",
        "/as-text-plain.xml": "ok",
        "/busy-then-ok.xml": "ok",
        "/404.xml": "http_404",
        "/410.xml": "http_410",
        "/429.xml": "http_429",
        "/503.xml": "http_503",
        "/500.xml": "http_500",
        "/502.xml": "http_502",
        "/loop-a.xml": "redirect_loop",
        "/silent.xml": "timeout",
        "/drip.xml": "timeout",
        "/reset.xml": "connection_error",
        "/image.png": "not_a_feed",
        "/html.xml": "not_a_feed",
        "/huge.xml": "too_large",
        "/bomb.xml": "too_large",
    }
    output = tmp_path / "out"
    with serve(routes) as server, unaccepting_port() as hanging:
        refused = f"http://127.0.0.1:{_closed_port()}/feed.xml"
        connect_hangs = f"http://127.0.0.1:{hanging}/feed.xml"
        feeds = [server.url(p) for p in expected] + [refused, connect_hangs]
        started = time.monotonic()
        record = ingest(output, feeds, "--http-timeout", "1")
        elapsed = time.monotonic() - started
        assert server.hits("/500.xml") == 3  # bounded retries: 1 + 2
        assert server.hits("/404.xml") == 1  # a 404 is final
    assert elapsed < 150, elapsed
    assert_accounted(record, feeds)
    outcome = {
        f["feed"]: f["status"] if f["status"] == "ok" else f["error"]
        for f in record["feeds"]
    }
    for path, want in expected.items():
        assert outcome[server.url(path)] == want, path
    assert outcome[refused] == "connection_error"
    assert outcome[connect_hangs] == "timeout"
    http = {f["feed"]: f["http_status"] for f in record["feeds"]}
    assert http[server.url("/404.xml")] == 404
    assert http[server.url("/503.xml")] == 503
    assert record["counts"]["articles_written"] == 4
    assert record["counts"]["dead_letters_feeds"] == len(feeds) - 4


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed when the with block ends


@pytest.mark.model
@pytest.mark.slow
def test_conditional_get_and_unchanged_body_cost_no_parsing(tmp_path):
    validators = {"ETag": '"v1"', "Last-Modified": "Sat, 01 Nov 2025 10:00:00 GMT"}
    body = rss([story(1), story(2)]).encode()

    def conditional(request):
        if request.headers.get("if-none-match") == '"v1"':
            return Route(status=304)
        return Route(body=body, headers=validators)

    routes = {
        "/conditional.xml": conditional,
        "/no-validators.xml": Route(body=rss([story(3)])),  # same bytes every time
    }
    output = tmp_path / "out"
    with serve(routes) as server:
        feeds = [server.url(p) for p in routes]
        first = ingest(output, feeds)
        second = ingest(output, feeds)
        sent = [r.headers for r in server.requests if r.path == "/conditional.xml"]
    assert first["counts"]["articles_written"] == 3
    assert "if-none-match" not in sent[0]
    assert sent[1]["if-none-match"] == '"v1"'
    assert sent[1]["if-modified-since"] == validators["Last-Modified"]
    status = {f["feed"].rsplit("/", 1)[1]: f for f in second["feeds"]}
    assert status["conditional.xml"]["status"] == "not_modified"
    assert status["conditional.xml"]["http_status"] == 304
    assert status["no-validators.xml"]["status"] == "not_modified"
    assert status["no-validators.xml"]["http_status"] == 200
    for feed in second["feeds"]:
        assert feed["items_seen"] == 0 and feed["articles_written"] == 0
    assert second["counts"]["items_seen"] == 0
    assert second["counts"]["mentions"] == 0 and second["counts"]["quotes"] == 0
    assert second["pipeline_started"] is False  # checked before any Beam start-up
    assert len(sent) == 2  # and with one request per feed, as the pipeline would
    assert_accounted(second, feeds)


@pytest.mark.model
@pytest.mark.slow
def test_article_links_to_private_addresses_are_never_fetched(tmp_path):
    """The feed is trusted; links inside it are not, in any spelling of loopback."""
    spellings = ["127.0.0.1", "localhost", "127.1", "2130706433", "[::ffff:127.0.0.1]"]
    page = Route(
        body="<html><body><article>"
        + "".join(f"<p>{p} More words to make it longer.</p>" for p in PARAGRAPHS * 20)
        + "</article></body></html>",
        headers={"Content-Type": "text/html"},
    )
    with serve({}) as server:
        items = [
            rss_item(
                f"Teaser {i}", f"http://{host}:{server.port}/page/{i}", "Short teaser."
            )
            for i, host in enumerate(spellings)
        ]
        server.route("/feed.xml", Route(body=rss(items)))
        for i in range(len(spellings)):
            server.route(f"/page/{i}", page)
        feed = server.url("/feed.xml")
        argv = [
            "ingest",
            "--feeds",
            feed,
            "--output",
            str(tmp_path / "out"),
            "--fetch-articles",
            "always",
            "--http-timeout",
            "2",
        ]
        assert main(argv) == 0
        refused_hits = sum(server.hits(f"/page/{i}") for i in range(len(spellings)))
        allowed = [
            "ingest",
            "--feeds",
            feed,
            "--output",
            str(tmp_path / "open"),
            "--fetch-articles",
            "always",
            "--http-timeout",
            "2",
            "--allow-private-network",
        ]
        assert main(allowed) == 0
        allowed_hits = server.hits("/page/0")
    assert refused_hits == 0
    assert allowed_hits == 1  # the guard, not some other failure, stopped the first
    texts = {a["url"]: a["text_source"] for a in read(tmp_path / "out", "articles")}
    assert set(texts.values()) == {"feed"}


@pytest.mark.model
@pytest.mark.slow
def test_adversarial_actor_names_stay_inside_the_output(tmp_path):
    aliases = tmp_path / "aliases.json"
    aliases.write_text(
        json.dumps(
            {
                "Kremlin": {"name": "../../etc", "type": "organisation"},
                "Moscow": {"name": "..\\..\\windows\\system32", "type": "place"},
                "Sergei Lavrov": {"name": "/etc/passwd", "type": "person"},
                "Lavrov": {"name": "/etc/passwd", "type": "person"},
            }
        )
    )
    feed = tmp_path / "feed.xml"
    feed.write_text(rss([story(1)]), encoding="utf-8")
    output = tmp_path / "deep" / "out"
    record = ingest(output, [str(feed)], "--actor-aliases", str(aliases))
    assert record["counts"]["mentions"] > 0
    actors = {m["actor_id"] for m in read(output, "mentions")}
    assert {"etc", "etc-passwd"} & actors, actors
    assert_output_contained(output)
    assert not (tmp_path / "etc").exists() and not (tmp_path / "deep" / "etc").exists()


@pytest.mark.model
@pytest.mark.slow
def test_overlapping_feeds_over_two_runs_store_every_article_once(tmp_path):
    day = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    stories = [story(n, day + timedelta(hours=n)) for n in range(6)]
    # the same story under a tracking parameter is the same article
    tracked = stories[2].replace("/story/2<", "/story/2?utm_source=b<")
    first_feed, second_feed = tmp_path / "a.xml", tmp_path / "b.xml"
    first_feed.write_text(rss(stories[:4]), encoding="utf-8")
    second_feed.write_text(rss([tracked, *stories[3:]]), encoding="utf-8")
    output = tmp_path / "out"

    one = ingest(output, [str(first_feed)])
    two = ingest(output, [str(first_feed), str(second_feed)])  # a is unchanged
    three = ingest(output, [str(second_feed)], "--run-id", "again")  # b unchanged

    assert one["counts"]["articles_written"] == 4
    assert two["counts"]["articles_written"] == 2
    assert two["counts"]["duplicates"] == 2  # stories 2 and 3 were already stored
    assert three["counts"]["items_seen"] == 0
    for record, feeds in ((one, [first_feed]), (two, [first_feed, second_feed])):
        assert_accounted(record, [str(f) for f in feeds])
    (output / "_state" / "feeds.json").unlink()  # forget what was read: parse again
    four = ingest(output, [str(first_feed), str(second_feed)])
    assert four["counts"]["articles_written"] == 0
    assert four["counts"]["duplicates"] == 8
    articles = [a["article_id"] for a in read(output, "articles")]
    assert len(articles) == len(set(articles)) == 6
    mentions = [m["mention_id"] for m in read(output, "mentions")]
    assert mentions and len(mentions) == len(set(mentions))
