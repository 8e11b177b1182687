"""Feed sources: sniffing in any encoding, the four list formats, outlets, and which
problems stop a run (top-level sources) or fail one feed (entries of a list)."""

from __future__ import annotations

import codecs
import gzip
import os
import zlib
from pathlib import Path

import pytest
from conftest import EXAMPLE_FEEDS
from newsbeam.transforms.feeds import (
    FeedListError,
    FeedSource,
    encodings,
    expand_sources,
    sniff,
)
from newsbeam.transforms.feeds.outlets import (
    OutletError,
    country_code,
    country_of_site,
)
from newsbeam.transforms.feeds.sources import SourceKind, read_local

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Example News</title>
<link>https://news.example/</link>
<item><title>One</title><link>https://news.example/1</link></item>
</channel></rss>
"""
OPML = (
    '<?xml version="1.0"?><opml version="2.0"><body>'
    '<outline text="group"><outline text="A" xmlUrl="https://a.example/rss"/>'
    '<outline text="B" xmlUrl="https://b.example/atom"/></outline>'
    '<outline text="no feed"/></body></opml>'
)


def _wide(text: str, encoding: str, bom: bool) -> bytes:
    marks = {
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE,
        "utf-32-be": codecs.BOM_UTF32_BE,
    }
    return (marks[encoding] if bom else b"") + text.encode(encoding)


# ------------------------------------------------------------------ sniffing


def test_sniff_by_content_not_name():
    assert sniff(b'<?xml version="1.0"?>\n<!-- c -->\n<opml version="2.0"/>') == "opml"
    assert sniff(b"\xef\xbb\xbf<rss/>") == "feed"
    assert sniff(b'<?xml version="1.0"?><rdf:RDF/>') == "feed"
    assert sniff(b'{"version": "https://jsonfeed.org/version/1"}') == "feed"
    assert sniff(b"# my feeds\nhttps://a.example/rss\n") == "list"
    assert sniff(b"url,outlet,country\nhttps://a.example/rss,A,GB\n") == "csv"
    assert sniff(b'[[feed]]\nurl = "https://a.example/rss"\n') == "toml"
    assert sniff(bytes(range(256)) * 4) == SourceKind.BINARY
    assert sniff(b"junk before the root <rss version='2.0'>") == "feed"


@pytest.mark.parametrize(
    "encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"]
)
@pytest.mark.parametrize("bom", [True, False])
def test_wide_encodings_are_sniffed_as_what_they_hold(encoding, bom):
    """The bug of issue 17: a UTF-16 feed read as a list of NUL-studded paths."""
    feed = RSS.decode().replace('encoding="utf-8"', f'encoding="{encoding[:6]}"')
    assert sniff(_wide(feed, encoding, bom)) == "feed"
    assert sniff(_wide(OPML, encoding, bom)) == "opml"
    listing = "# feeds\nhttps://a.example/rss\n"
    assert sniff(_wide(listing, encoding, bom)) == "list"
    assert encodings.decode(_wide(listing, encoding, bom)) == listing


def test_declared_and_undeclared_eight_bit_encodings():
    latin = '<?xml version="1.0" encoding="iso-8859-1"?><rss><title>Zürich'
    assert encodings.detect(latin.encode("latin-1")) == ("iso8859-1", 0)
    assert encodings.detect("<rss>Zürich".encode("cp1252")) == ("cp1252", 0)
    lie = b'<?xml version="1.0" encoding="utf-16"?><rss/>'  # 8-bit bytes
    assert encodings.detect(lie) == ("utf-8", 0)
    assert encodings.detect(b"\x4c\x6f\xa7\x94") == ("cp037", 0)


def test_read_local_inflates_gzip_and_zlib_files(tmp_path):
    (tmp_path / "a.gz").write_bytes(gzip.compress(RSS))
    (tmp_path / "a.z").write_bytes(zlib.compress(RSS))
    assert read_local(tmp_path / "a.gz", 1 << 20) == RSS
    assert read_local(tmp_path / "a.z", 1 << 20) == RSS


# ------------------------------------------------------------------ expansion


def test_expand_list_opml_and_feed_files(tmp_path):
    (tmp_path / "sub").mkdir()
    feed = tmp_path / "sub" / "local.txt"  # a feed, whatever the extension says
    feed.write_bytes(RSS)
    (tmp_path / "sub" / "export.xml").write_text(OPML)
    listing = tmp_path / "feeds.list"
    listing.write_text(
        "# news feeds\n\n"
        "https://a.example/rss\n"
        "   sub/local.txt   # relative to this list\n"
        "sub/export.xml\n"
        "https://c.example/feed\n"
    )
    gz = tmp_path / "packed.xml"
    gz.write_bytes(gzip.compress(RSS))
    got = expand_sources([str(listing), "https://c.example/feed", str(gz)])
    assert [s.feed for s in got] == [
        "https://a.example/rss",
        str(feed),
        "https://b.example/atom",
        "https://c.example/feed",
        str(gz),
    ]
    assert not any(s.error for s in got)


def test_feeds_are_keyed_by_resolved_path_whatever_the_folder(tmp_path, monkeypatch):
    (tmp_path / "a.rss").write_bytes(RSS)
    (tmp_path / "link.rss").symlink_to(tmp_path / "a.rss")
    monkeypatch.chdir(tmp_path)
    here = expand_sources(["a.rss", "./link.rss", f"file://{tmp_path}/a.rss"])
    monkeypatch.chdir("/")
    there = expand_sources([str(tmp_path / "a.rss")])
    assert here == there == [FeedSource(os.path.realpath(tmp_path / "a.rss"))]


def test_unusable_top_level_sources_are_one_line_errors(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(FeedListError) as caught:
        expand_sources([str(missing)])
    assert str(caught.value) == (
        f"feed source not readable: {missing} (No such file or directory)"
    )
    with pytest.raises(FeedListError, match="unsupported feed source"):
        expand_sources(["ftp://example.org/feed.xml"])
    with pytest.raises(FeedListError, match="Is a directory"):
        expand_sources([str(tmp_path)])


def test_a_binary_file_is_named_never_echoed(tmp_path):
    """The bug of issue 17: the error printed the file's raw bytes."""
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 8)
    with pytest.raises(FeedListError) as caught:
        expand_sources([str(junk)])
    message = str(caught.value)
    assert message.startswith(f"not a feed, feed list or OPML file: {junk}")
    assert "\n" not in message and "JFIF" not in message and message.isprintable()
    listing = tmp_path / "feeds.txt"
    listing.write_text("photo.jpg\n")  # inside a list: the parser judges it
    assert expand_sources([str(listing)]) == [FeedSource(str(junk))]


@pytest.mark.parametrize(
    "content",
    ["", "# only comments\n\n", '<opml version="2.0"><body/></opml>'],
)
def test_a_list_without_feeds_is_an_error(tmp_path, content):
    listing = tmp_path / "empty"
    listing.write_text(content)
    with pytest.raises(FeedListError, match="has no feeds"):
        expand_sources([str(listing)])


def test_unusable_entries_of_a_list_become_failed_feeds(tmp_path):
    """The run goes on; each bad entry is one failed feed with a reason."""
    (tmp_path / "ok.rss").write_bytes(RSS)
    (tmp_path / "bad.opml").write_text("<opml><body><outline xmlUrl='x'")
    (tmp_path / "empty.txt").write_text("# nothing yet\n")
    (tmp_path / "locked.txt").write_text("ok.rss\n")
    (tmp_path / "locked.txt").chmod(0)
    listing = tmp_path / "feeds.txt"
    listing.write_text(
        "ok.rss\n"
        "gone.xml\n"
        "feeds.txt\n"
        "ftp://example.org/feed.xml\n"
        "bad.opml\n"
        "empty.txt\n"
        "https://a.example/rss outlet=Name countyr=GB\n"
        'https://b.example/rss country="Narnia"\n'
        + ("locked.txt\n" if os.geteuid() != 0 else "")  # root reads anything
    )
    got = {
        s.feed.replace(str(tmp_path), "DIR"): s for s in expand_sources([str(listing)])
    }
    reasons = {feed: s.error for feed, s in got.items()}
    assert reasons == {
        "DIR/ok.rss": "",
        "DIR/gone.xml": "file_error",
        "DIR/feeds.txt": "list_cycle",
        "ftp://example.org/feed.xml": "bad_source",
        "DIR/bad.opml": "bad_list",
        "DIR/empty.txt": "empty_list",
        "DIR/feeds.txt#line7": "bad_list_entry",
        "DIR/feeds.txt#line8": "bad_list_entry",
        **({"DIR/locked.txt": "file_error"} if os.geteuid() != 0 else {}),
    }
    assert "unknown attribute 'countyr'" in got["DIR/feeds.txt#line7"].detail
    assert "'Narnia' is not an ISO 3166-1 code" in got["DIR/feeds.txt#line8"].detail
    assert all(s.detail.isprintable() for s in got.values())


def test_absolute_paths_and_file_urls_in_a_list(tmp_path):
    feed = tmp_path / "a.rss"
    feed.write_bytes(RSS)
    listing = tmp_path / "elsewhere" / "feeds.txt"
    listing.parent.mkdir()
    listing.write_text(f"{feed}\nfile://{feed}\n../a.rss\n")
    assert expand_sources([str(listing)]) == [FeedSource(str(feed))]


def test_nested_lists_deeper_than_the_limit_fail_one_feed(tmp_path):
    for n in range(12):
        (tmp_path / f"l{n}.txt").write_text(f"l{n + 1}.txt\n")
    (tmp_path / "l12.txt").write_bytes(RSS)
    [source] = expand_sources([str(tmp_path / "l0.txt")])
    assert source.error == "list_too_deep"


# ------------------------------------------------------------------ outlets


def test_text_list_outlets_and_countries(tmp_path):
    (tmp_path / "a b.rss").write_bytes(RSS)
    listing = tmp_path / "feeds.txt"
    listing.write_text(
        'https://bbc.example/rss   outlet="BBC News" country=gb  # the BBC\n'
        "https://tass.example/rss\tcountry=RUS outlet=TASS\n"
        'a b.rss outlet="A # B" country=UK\n'
        "https://plain.example/rss # just a comment\n"
    )
    assert expand_sources([str(listing)]) == [
        FeedSource("https://bbc.example/rss", "BBC News", "GB"),
        FeedSource("https://tass.example/rss", "TASS", "RU"),
        FeedSource(str(tmp_path / "a b.rss"), "A # B", "GB"),
        FeedSource("https://plain.example/rss"),
    ]


def test_csv_toml_and_opml_lists_carry_outlets(tmp_path):
    (tmp_path / "feeds.csv").write_text(
        "# comment\nURL,Outlet,Country,notes\n"
        'https://a.example/rss,"The A, Daily",GB,kept\n'
        "https://b.example/rss,,RU,\n"
        ",No URL,GB,\n"
    )
    (tmp_path / "feeds.toml").write_text(
        '[[feed]]\nurl = "https://c.example/rss"\noutlet = "C"\ncountry = "fr"\n'
        '[[feed]]\nurl = "https://d.example/rss"\n'
    )
    (tmp_path / "feeds.opml").write_text(
        '<opml version="2.0"><body>'
        '<outline text="E press" outlet="E Post" country="DE">'
        '<outline xmlUrl="https://e.example/1"/>'
        '<outline xmlUrl="https://e.example/2" outlet="E Sport"/></outline>'
        "</body></opml>"
    )
    got = expand_sources([str(tmp_path / n) for n in ("feeds.csv", "feeds.toml")])
    assert got[:2] == [
        FeedSource("https://a.example/rss", "The A, Daily", "GB"),
        FeedSource("https://b.example/rss", None, "RU"),
    ]
    assert got[2].error == "bad_list_entry" and "line 5" in got[2].detail
    assert got[3:] == [
        FeedSource("https://c.example/rss", "C", "FR"),
        FeedSource("https://d.example/rss"),
    ]
    assert expand_sources([str(tmp_path / "feeds.opml")]) == [
        FeedSource("https://e.example/1", "E Post", "DE"),
        FeedSource("https://e.example/2", "E Sport", "DE"),
    ]


def test_a_list_entry_lends_its_outlet_to_the_feeds_of_a_nested_list(tmp_path):
    (tmp_path / "bbc.txt").write_text(
        'https://bbc.example/world\nhttps://bbc.example/sport outlet="BBC Sport"\n'
    )
    (tmp_path / "all.txt").write_text('bbc.txt outlet="BBC News" country=GB\n')
    assert expand_sources([str(tmp_path / "all.txt")]) == [
        FeedSource("https://bbc.example/world", "BBC News", "GB"),
        FeedSource("https://bbc.example/sport", "BBC Sport", "GB"),
    ]


def test_the_bundled_lists_name_their_outlets():
    local = expand_sources([str(EXAMPLE_FEEDS / "local.txt")])
    opml = expand_sources([str(EXAMPLE_FEEDS / "feeds.opml")])
    assert local == opml
    assert {(s.outlet, s.outlet_country) for s in local} == {
        ("Example News", "GB"),
        ("Euroline", "DK"),
        ("Briefing Wire", "GB"),
    }
    world = expand_sources([str(EXAMPLE_FEEDS / "world-news.txt")])
    assert all(s.outlet and s.outlet_country for s in world)
    assert {"GB", "RU"} <= {s.outlet_country for s in world}


@pytest.mark.parametrize(
    "url, country",
    [
        ("http://feeds.bbci.co.uk/news/world/rss.xml", "GB"),
        ("https://www.bbc.co.uk/news", "GB"),
        ("https://ria.ru/export/rss2/index.xml", "RU"),
        ("https://www.theguardian.com/world/rss", None),
        ("https://rss.dw.com/rdf/rss-en-all", None),
        ("https://www.spiegel.de/schlagzeilen/index.rss", "DE"),
        ("https://news.ycombinator.io/rss", None),  # .io is sold to anyone
        ("https://example.tv/feed", None),
        ("https://europa.eu/rss", None),  # not a country
        ("http://127.0.0.1:8000/feed", None),
        ("https://localhost/feed", None),
        ("/srv/feeds/a.xml", None),
        ("https://news.test/feed", None),
    ],
)
def test_country_of_site(url, country):
    assert country_of_site(url) == country


def test_country_codes_as_people_write_them():
    assert country_code("gb") == "GB"
    assert country_code(" UK ") == "GB"
    assert country_code("RUS") == "RU"
    assert country_code("") is None
    for bad in ("XX", "Britain", "G1", "\x00\x01"):
        with pytest.raises(OutletError):
            country_code(bad)


def test_every_example_feed_file_is_a_feed():
    for path in Path(EXAMPLE_FEEDS).glob("*.xml"):
        assert sniff(path.read_bytes()) == "feed", path
