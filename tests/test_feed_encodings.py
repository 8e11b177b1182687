"""Every encoding feedparser reads is read as a feed, from a file or a list.

The cases of feedparser's own ``tests/encoding`` corpus, generated from real feeds
(the bundled examples and ../shared's fixtures) instead of downloaded: UTF-16 and
UTF-32, little- and big-endian, with and without a byte-order mark, declared
generically, specifically or not at all; and 8-bit encodings declared in the XML
declaration. Each variant must sniff as a feed, expand as a feed when a list names
it, and give the same items as the UTF-8 original.
"""

from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import EXAMPLE_FEEDS, SHARED_FIXTURES
from newsbeam.transforms.feeds import (
    FeedSource,
    expand_sources,
    parse_feed,
    read_local,
    sniff,
)

FETCHED = datetime(2025, 11, 2, 12, 0, tzinfo=UTC)
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")
_BOMS = {
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}
# feedparser's names for what a document declares, generic and specific.
_DECLARED = {
    "utf-16-le": ("utf-16", "utf-16le"),
    "utf-16-be": ("utf-16", "utf-16be"),
    "utf-32-le": ("utf-32", "utf-32le"),
    "utf-32-be": ("utf-32", "utf-32be"),
}


def _seed_feeds() -> list[Path]:
    """UTF-8 XML feeds to re-encode: the examples, and ../shared's when present."""
    seeds = sorted(EXAMPLE_FEEDS.glob("*.xml"))
    shared = SHARED_FIXTURES / "feeds"
    for name in (
        "rss-parser/guardian.rss",
        "rss-parser/heise.atom",
        "node-feedparser/rss2sample.xml",
        "rss-parser/rss-1.rss",
    ):
        if (shared / name).is_file():
            seeds.append(shared / name)
    return seeds


def _items(body: bytes, url: str):
    parsed = parse_feed(body, url, FETCHED)
    return parsed.source, [(i.title, i.link, i.guid, i.html) for i in parsed.items]


def _reencoded(body: bytes, encoding: str, declared: str | None, bom: bool) -> bytes:
    """The feed's text in ``encoding``, with its declaration naming ``declared``."""
    text = body.decode("utf-8")
    rest = _DECLARATION.sub(b"", body).decode("utf-8").lstrip()
    declaration = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""
    text = declaration + rest
    return (_BOMS[encoding] if bom else b"") + text.encode(encoding)


def _wide_cases():
    for encoding, names in _DECLARED.items():
        for bom in (True, False):
            for declared in (*names, None):
                if declared is None and not bom:
                    continue  # no mark and no declaration: XML leaves that to UTF-8
                yield encoding, declared, bom


@pytest.mark.parametrize("seed", _seed_feeds(), ids=lambda p: p.name)
def test_wide_encodings_with_and_without_marks_read_as_the_original(seed, tmp_path):
    original = read_local(seed, 10 << 20)
    url = f"https://feeds.example/{seed.name}"
    expected = _items(original, url)
    assert expected[1], "a seed feed must have items"
    listing = tmp_path / "feeds.txt"
    names = []
    for n, (encoding, declared, bom) in enumerate(_wide_cases()):
        body = _reencoded(original, encoding, declared, bom)
        case = f"{encoding} declared={declared} bom={bom}"
        assert sniff(body) == "feed", case
        assert _items(body, url) == expected, case
        path = tmp_path / f"{n}.xml"
        path.write_bytes(body)
        names.append(path.name)
    listing.write_text("\n".join(names) + "\n", encoding="utf-16")  # a list too
    assert expand_sources([str(listing)]) == [
        FeedSource(str(tmp_path / name)) for name in names
    ]


def _fits(seed: Path, encoding: str) -> bool:
    try:
        read_local(seed, 10 << 20).decode("utf-8").encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


# Each 8-bit encoding with the seeds it can hold whole (the examples' dashes and
# quotes fit windows-1252; Latin-1 needs ../shared's plainer feeds).
EIGHT_BIT_CASES = [
    (seed, encoding)
    for encoding in ("windows-1252", "iso-8859-1", "iso-8859-15")
    for seed in _seed_feeds()
    if _fits(seed, encoding)
]


@pytest.mark.parametrize(
    ("seed", "encoding"),
    EIGHT_BIT_CASES,
    ids=[f"{seed.name}-{encoding}" for seed, encoding in EIGHT_BIT_CASES],
)
def test_declared_eight_bit_encodings_read_as_the_original(seed, encoding):
    original = read_local(seed, 10 << 20)
    url = f"https://feeds.example/{seed.name}"
    body = _DECLARATION.sub(b"", original).decode("utf-8").lstrip()
    body = f'<?xml version="1.0" encoding="{encoding}"?>\n{body}'.encode(encoding)
    assert sniff(body) == "feed"
    assert _items(body, url) == _items(original, url)


# References are not read inside CDATA, so only seeds without it can travel so.
WITHOUT_CDATA = [
    seed for seed in _seed_feeds() if b"<![CDATA[" not in read_local(seed, 10 << 20)
]


@pytest.mark.parametrize("seed", WITHOUT_CDATA, ids=lambda p: p.name)
def test_characters_an_eight_bit_encoding_lacks_travel_as_references(seed):
    """Re-encoded as a publisher with a Latin-1 database would (numeric references
    for what Latin-1 lacks): still the same text once parsed."""
    original = read_local(seed, 10 << 20)
    url = f"https://feeds.example/{seed.name}"
    rest = _DECLARATION.sub(b"", original).decode("utf-8").lstrip()
    body = f'<?xml version="1.0" encoding="iso-8859-1"?>\n{rest}'
    body = body.encode("iso-8859-1", "xmlcharrefreplace")
    assert _items(body, url) == _items(original, url)
