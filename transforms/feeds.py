"""Stage 1: feed sources -> feed items.

An operator names feeds as URLs, local feed files, text lists of feeds or OPML
exports; ``expand_sources`` turns all of that into one ordered list of feeds before
the pipeline starts, so a typo fails the run at once with a one-line message.
``ReadFeeds`` then fetches and parses every feed in parallel. One feed that is down
or is not a feed becomes one dead-letter row; the rest go on.

Parsing uses feedparser for RSS 0.9x/1.0/2.0 and Atom, and a small reader of our own
for JSON Feed, which feedparser does not know. feedparser spends its time in Python
SAX handlers, so a well-formed UTF-8 RSS 2.0/0.9x, RSS 1.0 or Atom 1.0 feed first
takes a fast path: lxml parses it in C and a walk over the tree fills the same dicts
feedparser would, giving the same items to the last field. The fast path declines,
and feedparser reads the feed as before, whenever it cannot promise that: a DOCTYPE
or entity declaration, an encoding other than UTF-8, xml:base, XHTML or base64
content, markup inside a text element, an element whose feedparser handler it does
not repeat, or any lxml error or warning. tests/test_feed_fastpath.py holds the two
paths equal on real feeds. HTML is neither sanitised nor rewritten here: a later
stage cleans it, and doing it twice is slow.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import html
import io
import json
import os
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

import apache_beam as beam
import feedparser
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp
from feedparser.api import StrictFeedParser
from feedparser.datetimes import _parse_date
from feedparser.encodings import RE_XML_PI_ENCODING, parse_content_type
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict
from lxml import etree
from newsbeam.schemas import DeadLetter, FeedItem
from newsbeam.schemas.layout import feed_state_path
from newsbeam.transforms.common import (
    DEAD_LETTERS,
    dead_letter,
    one_line,
    read_bytes,
    utc_now,
    write_atomically,
)
from newsbeam.transforms.http import FetchError, FetchOptions, decompress, fetch
from newsbeam.transforms.text import valid_unicode

STAGE = "feeds"
ITEM_STAGE = "items"  # an item-level failure: one item lost, counted per feed
FEEDS = "feeds"  # tag of the per-feed status output
FETCH_THREADS = 8  # feeds fetched at once by one worker (host limits still apply)
FETCH_BATCH = 16  # feeds handed to one DoFn call
LIST_MAX_BYTES = 10 * 1024 * 1024
_MAX_LIST_DEPTH = 8

_JSON_FEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/1(\.\d+)?/?$")
# The first element name of an XML document, past declarations, comments, doctype.
_PROLOG = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>)", re.S)
_ELEMENT = re.compile(rb"\s*<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
# A numeric character reference; feedparser's fallback parser crashes on one that
# names a code point XML forbids (a surrogate such as &#xD800;, or NUL).
_XML_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:\-]+)""")
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
# "&#" not followed by a reference that is surely allowed (short, no leading zero,
# clear of control characters, surrogates and U+FFFE/F): only these can need repair.
_UNSURE_CHARREF = re.compile(
    rb"&#(?!(?:3[2-9]|[4-9][0-9]|[1-9][0-9]{2,3}|[1-4][0-9]{4}|5[0-4][0-9]{3}"
    rb"|[xX](?:[2-9a-fA-F][0-9a-fA-F]|[1-9a-fA-F][0-9a-fA-F]{2}"
    rb"|[1-9a-cA-C][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}|[eE][0-9a-fA-F]{3}"
    rb"|[1-9a-fA-F][0-9a-fA-F]{4}|10[0-9a-fA-F]{4}));)"
)
# Encodings trusted from a statistical guess when a body is not UTF-8 and declares
# nothing: scripts where feedparser's windows-1252 fallback can only give mojibake.
_NON_LATIN_GUESSES = frozenset(
    "cp1251 cp866 koi8_r koi8_u iso8859_5 mac_cyrillic cp1253 iso8859_7 cp1255 "
    "iso8859_8 cp1256 iso8859_6 gb2312 gbk gb18030 big5 big5hkscs shift_jis cp932 "
    "euc_jp iso2022_jp euc_kr cp949 johab tis_620 cp874".split()
)


class FeedListError(ValueError):
    """A feed source the operator gave cannot be used; the message is one line."""


class FeedParseError(Exception):
    """A body that is not a feed at all (an HTML page, an error document, junk)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ParsedFeed(NamedTuple):
    """A parsed feed: its title, its items, and entries that could not be read."""

    source: str
    items: list[FeedItem]
    failures: list[DeadLetter]


# ------------------------------------------------------------------ sources


def is_url(source: str) -> bool:
    return urlsplit(source.strip()).scheme.lower() in ("http", "https")


def read_local(path: str | os.PathLike, max_bytes: int) -> bytes:
    """A local file's bytes, gunzipped when it is gzip, refusing files over the cap."""
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FetchError("too_large", f"{path} is over {max_bytes} bytes")
    return decompress(data, None, max_bytes)


def sniff(data: bytes) -> str:
    """What a local file holds: ``opml``, ``feed`` (XML or JSON) or ``list``.

    Decided by content, because feed lists and feeds are named anything.
    """
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return "feed"
    if not head.startswith(b"<"):
        return "list"
    position = 0
    while prolog := _PROLOG.match(head, position):
        position = prolog.end()
    element = _ELEMENT.match(head, position)
    if element and element.group(2).lower() == b"opml":
        return "opml"
    return "feed"  # any other XML is handed to the parser, which judges it


def expand_sources(sources: Iterable[str]) -> list[str]:
    """Every feed named by the sources, in order, each once.

    A source is a feed URL, a local feed file, a text file with one URL or path per
    line (``#`` comments; paths relative to the list), or an OPML export.
    """
    feeds: dict[str, None] = {}
    for source in sources:
        for feed in _expand(source.strip(), depth=0, seen=set()):
            feeds.setdefault(feed, None)
    if not feeds:
        raise FeedListError("no feeds given: name a feed URL, feed file or feed list")
    return list(feeds)


def _expand(source: str, *, depth: int, seen: set[str]) -> Iterator[str]:
    if is_url(source):
        yield source
        return
    path = _local_path(source)
    if path in seen:
        raise FeedListError(f"feed list includes itself: {path}")
    if depth > _MAX_LIST_DEPTH:
        raise FeedListError(f"feed lists nested too deep at: {path}")
    try:
        data = read_local(path, LIST_MAX_BYTES)
    except OSError as e:
        raise FeedListError(f"feed list not readable: {path} ({e.strerror})") from e
    except FetchError as e:
        raise FeedListError(f"feed list not readable: {path} ({e.detail})") from e
    kind = sniff(data)
    if kind == "feed":
        yield path
        return
    entries = _opml_entries(data, path) if kind == "opml" else _list_entries(data)
    found = 0
    for entry in entries:
        entry = _list_entry(entry, path)
        for feed in _expand(entry, depth=depth + 1, seen=seen | {path}):
            found += 1
            yield feed
    if not found:
        raise FeedListError(f"feed list has no feeds: {path}")


def _list_entry(entry: str, list_path: str) -> str:
    """An entry of a feed list as a URL or a path; paths are relative to the list."""
    parts = urlsplit(entry)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return entry
    if scheme == "file":
        return unquote(parts.path)
    if len(scheme) > 1:  # c:\ is a drive, not a scheme
        raise FeedListError(
            f"unsupported feed source in {list_path}: {entry} (use http or https)"
        )
    return os.path.join(os.path.dirname(list_path), entry)  # absolute stays absolute


def _local_path(source: str) -> str:
    parts = urlsplit(source)
    if parts.scheme.lower() == "file":
        return os.path.normpath(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:  # c:\ is a drive, not a scheme
        raise FeedListError(f"unsupported feed source: {source} (use http or https)")
    return os.path.normpath(source)


def _list_entries(data: bytes) -> Iterator[str]:
    for line in data.decode("utf-8-sig", "replace").splitlines():
        entry = re.split(r"\s+#", line, maxsplit=1)[0].strip()
        if entry and not entry.startswith("#"):
            yield entry


def _opml_entries(data: bytes, path: str) -> list[str]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise FeedListError(f"feed list is not valid OPML: {path} ({e})") from e
    return [
        outline.attrib["xmlUrl"].strip()
        for outline in root.iter("outline")
        if outline.attrib.get("xmlUrl", "").strip()
    ]


# ------------------------------------------------------------------ parsing


def parse_feed(
    body: bytes,
    feed_url: str,
    fetched_at: datetime,
    *,
    content_type: str | None = None,
) -> ParsedFeed:
    """The feed's title and items; raises ``FeedParseError`` if the body is no feed.

    A feed with XML errors that still yields entries is accepted (feedparser's
    bozo flag): real feeds are often slightly broken and their items still good.
    Well-formed UTF-8 RSS and Atom take the lxml fast path, which gives exactly what
    feedparser gives; every other body, and any feed the fast path is not sure
    about, goes to feedparser.
    """
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return _parse_json_feed(body, feed_url, fetched_at)
    body, headers = prepare_xml(body, feed_url, content_type)
    fast = _fast_parse(body, feed_url, fetched_at, headers)
    if fast is not None:
        return fast
    return _feedparser_parse(body, feed_url, fetched_at, headers)


def prepare_xml(
    body: bytes, feed_url: str, content_type: str | None
) -> tuple[bytes, dict[str, str]]:
    """The repaired body and the headers both XML paths parse with.

    ``_fast_parse`` and ``_feedparser_parse`` take what this returns; the tests
    call each on it to hold the fast path to feedparser's result.
    """
    return safe_charrefs(_without_wide_lie(body)), _feedparser_headers(
        feed_url, content_type
    )


def _feedparser_headers(feed_url: str, content_type: str | None) -> dict[str, str]:
    """The response headers feedparser is given: they choose charset and base URL."""
    headers = {}
    if content_type and "charset=" in content_type.lower():
        headers["content-type"] = content_type
    if is_url(feed_url):
        headers["content-location"] = feed_url  # base for relative entry links
    return headers


def _feedparser_parse(
    body: bytes, feed_url: str, fetched_at: datetime, headers: dict[str, str]
) -> ParsedFeed:
    parsed = _feedparser(body, headers)
    if "content-type" not in headers and _fell_back_to_latin(parsed, body):
        guess = guess_non_latin_encoding(body)
        if guess is not None:
            headers = {**headers, "content-type": "application/xml; charset=utf-8"}
            body = body.decode(guess, "replace").encode("utf-8")
            parsed = _feedparser(body, headers)
    if not parsed.get("entries") and not parsed.get("version"):
        problem = parsed.get("bozo_exception") or "no feed elements found"
        raise FeedParseError("not_a_feed", str(problem))
    return _parsed_feed(
        parsed.get("feed", {}), parsed.get("entries", []), feed_url, fetched_at
    )


def _parsed_feed(
    channel: Mapping[str, Any],
    entries: Iterable[Mapping[str, Any]],
    feed_url: str,
    fetched_at: datetime,
) -> ParsedFeed:
    """Feed title and items from feedparser's dicts (or the fast path's copies)."""
    source = _source_title(channel.get("title", ""), feed_url)
    # Links still relative here had no base; a local feed file's own site is one.
    home = str(channel.get("link") or "")
    base = home if is_url(home) else feed_url if is_url(feed_url) else ""
    items = [
        _feedparser_item(entry, feed_url, source, fetched_at, base) for entry in entries
    ]
    return ParsedFeed(source, items, [])


def _feedparser(body: bytes, headers: Mapping[str, str]) -> Any:
    try:
        return feedparser.parse(
            io.BytesIO(body),
            response_headers=dict(headers),
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as e:  # noqa: BLE001 - its loose parser has crashed on odd input
        raise FeedParseError("parser_error", f"{type(e).__name__}: {e}") from e


def safe_charrefs(body: bytes) -> bytes:
    """The body with references to code points XML forbids replaced by U+FFFD.

    Most feeds hold only common references (&#39;, &#8217;): one scan in C finds
    whether any other is there before a Python call per reference is spent.
    """
    if _UNSURE_CHARREF.search(body) is None:
        return body
    return _replace_forbidden_charrefs(body)


def _replace_forbidden_charrefs(body: bytes) -> bytes:
    """Every reference checked, one Python call each: the reference for the scan."""

    def replace(match: re.Match[bytes]) -> bytes:
        digits = match.group(1) or match.group(2)
        if len(digits) > 8:
            return b"&#xFFFD;"
        code = int(digits, 16 if match.group(1) else 10)
        allowed = (
            code in (0x9, 0xA, 0xD)
            or 0x20 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF
        )
        return match.group(0) if allowed else b"&#xFFFD;"

    return _CHARREF.sub(replace, body)


def _without_wide_lie(body: bytes) -> bytes:
    """The body with a UTF-16/32 declaration made UTF-8 when its bytes are 8-bit.

    ``<?xml`` in single bytes cannot be UTF-16 (which needs a byte-order mark);
    believing the declaration turns the whole feed into junk, or, depending on
    whether the byte count is even, into a parse error.
    """
    declared = _XML_ENCODING.match(body[:256])
    if declared is None or not _codec(declared.group(1).decode("ascii")).startswith(
        ("utf-16", "utf-32")
    ):
        return body
    if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml"):
        return body
    start, end = declared.span(1)
    return body[:start] + b"utf-8" + body[end:]


def _fell_back_to_latin(parsed: Any, body: bytes) -> bool:
    """feedparser read the body as Latin-1 or windows-1252 without being told to.

    That is its last resort when nothing is declared, or when the declared
    encoding cannot decode the bytes.
    """
    used = _codec(str(parsed.get("encoding") or ""))
    if used not in ("iso8859-1", "cp1252"):
        return False
    declared = _XML_ENCODING.match(body[:256])
    return declared is None or _codec(declared.group(1).decode("ascii")) != used


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return ""


def guess_non_latin_encoding(body: bytes) -> str | None:
    """The encoding of an undeclared (or wrongly declared) non-Latin body, if clear.

    Only non-Latin scripts are guessed: for Latin text windows-1252 is already the
    best guess, and a statistical detector often mistakes Latin-1 for Latin-2.
    """
    import charset_normalizer

    best = charset_normalizer.from_bytes(body[:262144]).best()
    if best is None or best.encoding not in _NON_LATIN_GUESSES:
        return None
    return best.encoding


def _source_title(title: Any, feed_url: str) -> str:
    title = one_line(str(title or ""), limit=300)
    return title or urlsplit(feed_url).hostname or os.path.basename(feed_url)


def _feedparser_item(
    entry: Mapping[str, Any],
    feed_url: str,
    source: str,
    fetched_at: datetime,
    base: str,
) -> FeedItem:
    published, published_error = _entry_date(entry, "published")
    updated, updated_error = _entry_date(entry, "updated")
    link = str(entry.get("link") or "").strip()
    if link and base and not urlsplit(link).scheme:
        link = urljoin(base, link)
    return FeedItem(
        feed_url=feed_url,
        source=source,
        link=link,
        guid=str(entry.get("id") or "").strip(),
        title=str(entry.get("title") or "").strip(),
        published=published,
        updated=updated,
        fetched_at=fetched_at,
        html=_entry_html(entry),
        date_error="; ".join(e for e in (published_error, updated_error) if e),
    )


def _entry_date(entry: Mapping[str, Any], name: str) -> tuple[datetime | None, str]:
    """A date feedparser parsed (already UTC), or why a date that was there is not."""
    raw = entry.get(name)
    parsed: time.struct_time | None = entry.get(f"{name}_parsed")
    if parsed is not None:
        try:
            return datetime(*parsed[:5], min(parsed[5], 59), tzinfo=UTC), ""
        except (ValueError, OverflowError):
            pass
    if raw and str(raw).strip():
        return None, f"unparseable {name} date: {one_line(str(raw), limit=100)!r}"
    return None, ""


def _entry_html(entry: Mapping[str, Any]) -> str:
    """The fullest body the entry offers: content (content:encoded) over summary."""
    candidates = list(entry.get("content") or [])
    if entry.get("summary"):
        candidates.append(entry.get("summary_detail") or {"value": entry["summary"]})
    best = ""
    for candidate in candidates:
        value = str(candidate.get("value") or "")
        kind = str(candidate.get("type") or "text/html").lower()
        if value and not any(t in kind for t in _HTML_TYPES):
            value = html.escape(value)  # plain text: keep it literal through cleaning
        if len(value.strip()) > len(best.strip()):
            best = value
    return best


# ------------------------------------------------------------------ fast path
#
# feedparser spends a feed's time in its Python SAX handlers. For well-formed UTF-8
# RSS 2.0/0.9x, RSS 1.0 and Atom 1.0, lxml builds the tree in C and one walk over
# it fills the same dicts feedparser would: element by element, the walk repeats
# what feedparser's handlers store in the fields a FeedItem reads, and it reuses
# feedparser's own pieces (dict type, date parser, URL join, HTML sniffing) so the
# two paths cannot drift apart there. Anything the walk has not been audited for
# makes it decline: ``_fast_parse`` returns None and feedparser parses the feed.


class _Decline(Exception):
    """The fast path cannot promise feedparser's result for this body."""


_LXML = threading.local()  # one parser per thread: a parser is not to be shared
_MIXIN = _FeedParserMixin
# Namespace -> feedparser's prefix: as written (a remapped prefix), and lowercased
# (an element in the namespace).
_NAMESPACE_PREFIXES = {uri.lower(): prefix for uri, prefix in _MIXIN.namespaces.items()}
_KNOWN_NAMESPACES = {uri: prefix.lower() for uri, prefix in _NAMESPACE_PREFIXES.items()}
_USERLAND = "backend.userland.com/rss"  # any such namespace is RSS to feedparser
_ATOM_NS = "http://www.w3.org/2005/Atom"
_RSS10_NS = "http://purl.org/rss/1.0/"
_RSS090_NS = "http://my.netscape.com/rdf/simple/0.9/"
# Element names as feedparser's handlers see them (prefix_localname, lowercased).
_HANDLED = frozenset(
    name.split("_", 2)[2]
    for name in dir(StrictFeedParser)
    if name.startswith(("_start_", "_end_"))
)
_TITLES = frozenset({"title", "dc_title", "media_title"})
_IDS = frozenset({"guid", "id"})
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
_UPDATED = frozenset(
    {"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"}
)
_DESCRIPTIONS = frozenset({"description", "dc_description", "media_description"})
_SUMMARIES = frozenset({"summary", "itunes_summary"})
_CONTENTS = frozenset({"content", "content_encoded", "fullitem"})
_ENTRIES = frozenset({"item", "entry"})
# Handled elements whose handlers store nothing a FeedItem or the feed's title and
# link come from, and change no state that the handled ones read. Leaves only:
# some of them take text as markup when it has child elements.
_INERT_LEAVES = frozenset(
    """category keywords dc_subject media_category tags cloud cc_license enclosure
    generator width height email name uri url homepage language dc_language rights
    copyright dc_rights subtitle tagline itunes_subtitle info
    feedburner_browserfriendly itunes_block itunes_explicit itunes_image
    itunes_link itunes_keywords itunes_name itunes_email media_keywords
    media_license media_player media_rating media_restriction media_thumbnail
    media_credit webmaster dc_publisher newlocation georss_point georss_line
    georss_polygon georss_box author contributor dc_author
    dc_creator dc_contributor itunes_author managingeditor itunes_owner
    itunes_category media_content media_group""".split()
)
# Of those, the ones whose children are read as elements (which must be inert too).
_INERT_CONTAINERS = frozenset(
    """author contributor dc_author dc_creator dc_contributor itunes_author
    managingeditor itunes_owner itunes_category media_content media_group""".split()
)
# What the fast path reads; an element without a handler must not be stored there.
_READ_KEYS = frozenset(
    """title link id published published_parsed updated updated_parsed summary
    summary_detail content""".split()
)
_RESERVED = _READ_KEYS | {
    key
    for key, target in FeedParserDict.keymap.items()
    if _READ_KEYS & set(target if isinstance(target, list) else [target])
}
_IMAGE_CHILDREN = frozenset({"title", "link", "url", "width", "height", "description"})
_TEXTINPUT_CHILDREN = frozenset({"title", "link", "description", "name"})
_COPIED_TO_SUMMARY = frozenset({"text/plain"}) | _MIXIN.html_types
_ENTITY_NAME = re.compile("&([A-Za-z0-9_]+);")  # feedparser's fix for a=1&b;=2
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_C1_CHARREF = re.compile(
    rb"&#(?:0*(?:12[89]|1[34][0-9]|15[0-9])|[xX]0*[89][0-9a-fA-F]);"
)
_C1_BYTES = re.compile(rb"\xc2[\x80-\x9f]")
_XML_BASE = re.compile(rb"base\s*=")  # xml:base, or a base attribute
_NON_ASCII_PI = re.compile(rb"<\?[^\s?]*[\x80-\xff]")  # a PI target with one
_WIDE_DECLARATIONS = frozenset(
    """u16 utf-16 utf16 utf_16 u32 utf-32 utf32 utf_32 iso-10646-ucs-2
    iso-10646-ucs-4 csucs4 csunicode ucs-2 ucs-4""".split()
)
_XML_MEDIA_TYPES = (
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
)


def _fast_parse(
    body: bytes, feed_url: str, fetched_at: datetime, headers: Mapping[str, str]
) -> ParsedFeed | None:
    """The feed as feedparser would give it, read with lxml; None to decline.

    Declines before parsing when the body has a DOCTYPE or entity declarations
    (left to feedparser's path, which strips them, so nothing is ever expanded
    here), an xml:base (feedparser's base tracking is not repeated), or when
    feedparser would not read it as UTF-8. Declines after parsing on any lxml error
    or warning, a root that is not RSS, RSS 1.0 or Atom 1.0, or any element the walk
    does not know.
    """
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body or _XML_BASE.search(body):
        return None
    if not _read_as_utf8(body, headers):
        return None
    parser = getattr(_LXML, "parser", None)
    if parser is None:
        parser = _LXML.parser = etree.XMLParser(
            encoding="utf-8",  # what feedparser decodes with, whatever is declared
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            recover=False,
            remove_comments=True,
            remove_pis=True,
        )
    try:
        root = etree.fromstring(body, parser)
    except (etree.LxmlError, ValueError):
        return None
    if len(parser.error_log):  # warnings too: expat might have refused the body
        return None
    try:
        walk = _FastWalk(root, body, headers.get("content-location", ""))
        walk.run()
    except _Decline:
        return None
    except Exception:  # noqa: BLE001 - a surprise here is a decline, not a lost feed
        return None
    return _parsed_feed(walk.feed, walk.entries, feed_url, fetched_at)


def _read_as_utf8(body: bytes, headers: Mapping[str, str]) -> bool:
    """feedparser would decode the body as UTF-8 (its first choice, RFC 3023).

    lxml is then told UTF-8 too, so both read the same text whatever the XML
    declaration says. A UTF-16/32 or EBCDIC body, or any other choice, declines.
    """
    data = body
    bom = ""
    if data[:3] == codecs.BOM_UTF8:
        data, bom = data[3:], "utf-8"
    elif data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or data[:4] in (
        b"\x4c\x6f\xa7\x94",
        b"\x00\x3c\x00\x3f",
        b"\x3c\x00\x3f\x00",
        b"\x00\x00\x00\x3c",
        b"\x3c\x00\x00\x00",
    ):
        return False
    declared = ""
    match = RE_XML_PI_ENCODING.match(data)
    if match:
        try:
            declared = match.group(1).decode("utf-8").lower()
        except UnicodeDecodeError:  # feedparser fails on this one
            return False
        if bom and declared in _WIDE_DECLARATIONS:
            declared = bom
    mime, charset = parse_content_type(headers.get("content-type") or "")
    if mime in _XML_MEDIA_TYPES or (
        mime.startswith("application/") and mime.endswith("+xml")
    ):
        chosen = charset or declared or "utf-8"
    elif mime.startswith("text/"):
        chosen = charset or "us-ascii"
    elif headers and "content-type" not in headers:
        chosen = declared or "iso-8859-1"
    else:
        chosen = declared or "utf-8"
    return _codec(chosen) == "utf-8"


def _has_c1(body: bytes) -> bool:
    """The body can give a text U+0080..U+009F: as UTF-8 bytes or as a reference.

    Most bodies have few U+0080..U+00BF characters (lead byte C2), so looking at
    each is quicker than a regular expression over the whole body.
    """
    if b"&#" in body and _C1_CHARREF.search(body):
        return True
    position = body.find(b"\xc2")
    for _ in range(100):
        if position < 0:
            return False
        if b"\x80" <= body[position + 1 : position + 2] <= b"\x9f":
            return True
        position = body.find(b"\xc2", position + 1)
    return _C1_BYTES.search(body, position) is not None


class _FastWalk:
    """One walk over a parsed feed, holding the state feedparser's handlers hold.

    ``feed`` and ``entries`` end as the ``FeedParserDict``s feedparser would build,
    as far as the keys ``_parsed_feed`` reads. ``title_depth`` and ``has_content``
    are feedparser's own cross-element state: the first non-empty title at a depth
    wins, and a second summary-like element becomes content until an item ends.
    """

    def __init__(self, root: Any, body: bytes, content_location: str) -> None:
        self.root = root
        self.feed = FeedParserDict()
        self.entries: list[FeedParserDict] = []
        self.title_depth = -1
        self.has_content = False
        self.atom = False
        self.document = body
        self.names: dict[str, str] = {}
        self.unknown: dict[str, str] = {}
        self.namespacemap: dict[str, str] = {}
        # Declarations below the root are surveyed only if the walk goes through.
        self.late = body.count(b"xmlns") != len(root.nsmap)
        self._namespaces(set(root.nsmap.items()))
        self.base = self._base(content_location)
        self.c1 = _has_c1(body)  # else no text holds a windows-1252 control point

    # -------------------------------------------------------------- the tree

    def run(self) -> None:
        """Walks the document from its root; the root decides the format."""
        root, name = self.root, self.name(self.root)
        declared = {uri.lower() for uri in root.nsmap.values()}
        if name == "rss":
            channels = [child for child in root if self.name(child) == "channel"]
            if len(channels) != 1:
                raise _Decline
            for child in root:
                if child is channels[0]:
                    self.channel(child, 2)
                else:
                    self.inert(child)
        elif root.tag == f"{{{_ATOM_NS}}}feed":
            if declared & {_RSS10_NS, _RSS090_NS}:  # feedparser: version not atom10
                raise _Decline
            self.atom = True  # feedparser's version is atom10: no HTML sniffing
            self.channel(root, 1)
        elif name == "rdf_rdf":
            # The first RSS 1.0, RSS 0.90 (default) or Atom namespace sets the version.
            rss090 = root.nsmap.get(None, "").lower() == _RSS090_NS
            if _ATOM_NS.lower() in declared or not (_RSS10_NS in declared or rss090):
                raise _Decline
            self.rdf(root)
        else:
            raise _Decline
        self._check_names()

    def _check_names(self) -> None:
        """What is only worth checking once the whole walk has gone through."""
        if self.late:  # every declaration now, and every name again with them all
            self._namespaces(
                {pair for node in self.root.iter() for pair in node.nsmap.items()}
            )
            for tag, name in self.names.items():
                if self.tag_name(tag) != name:
                    raise _Decline
            self.remapped("rdf")  # the prefix of rdf:about
        if not self.document.isascii():
            self._ascii_names(self.root, self.document)

    def rdf(self, root: Any) -> None:
        """RSS 1.0: channel, items, image and textinput are siblings."""
        channels = 0
        for child in root:
            name = self.name(child)
            if name == "channel":
                channels += 1
                self.channel(child, 2)
            elif name == "item":
                self.entry(child, 2)
            elif name in ("image", "textinput"):
                self.aside(child, 2)  # outside the channel: stored nowhere
            else:
                self.inert(child)
        if channels != 1:
            raise _Decline

    def channel(self, element: Any, depth: int) -> None:
        """An RSS channel or an Atom feed: its title, link and items."""
        feed = self.feed
        if not self.atom and self.attributes(element).keys() & {"lastmod", "href"}:
            raise _Decline  # feedparser's CDF attributes
        depth += 1
        for child in element:
            name = self.name(child)
            if name in _ENTRIES:
                self.entry(child, depth)
            elif name in ("image", "textinput"):
                self.aside(child, depth)
            elif len(child):
                self.inert(child)
            else:
                self.element(feed, child, name, depth, in_entry=False)

    def aside(self, element: Any, depth: int) -> None:
        """A channel image or text input: their titles and links are their own.

        Only the children feedparser keeps in the image or text input context
        are allowed (any other resets that context, sending what follows to the
        feed). What is left for the feed is the title depth they leave behind.
        """
        image = self.name(element) == "image"
        allowed = _IMAGE_CHILDREN if image else _TEXTINPUT_CHILDREN
        self.title_depth = -1
        for child in element:
            name = self.name(child)
            if name not in allowed or len(child):
                raise _Decline
            if name == "title":
                self.content_type(self.attributes(child), "text/plain")
                if self.popped(child.text):
                    self.title_depth = depth + 1

    def entry(self, element: Any, depth: int) -> None:
        """An item or entry, as feedparser's ``_start_item`` .. ``_end_item``."""
        attributes = self.attributes(element)
        if attributes.keys() & {"lastmod", "href"}:
            raise _Decline
        entry = FeedParserDict()
        self.entries.append(entry)
        self.title_depth = -1
        about = attributes.get(f"{self.remapped('rdf')}:about")
        if about:
            entry["id"] = about
        depth += 1
        for child in element:
            name = self.name(child)
            if len(child):
                self.inert(child)
            elif name in ("image", "source"):
                self.title_depth = -1
            else:
                self.element(entry, child, name, depth, in_entry=True)
        self.has_content = False

    def element(
        self,
        context: FeedParserDict,
        element: Any,
        name: str,
        depth: int,
        *,
        in_entry: bool,
    ) -> None:
        """One leaf child of a channel or an item, stored as feedparser stores it."""
        if name in _TITLES:
            self.title(context, element, depth, media=name == "media_title")
        elif name == "link":
            self.link(context, element, in_entry=in_entry)
        elif name in _IDS:
            self.identifier(context, element)
        elif name in _PUBLISHED:
            self.date(context, element, "published")
        elif name in _UPDATED:
            self.date(context, element, "updated")
        elif name in _DESCRIPTIONS or name in _SUMMARIES or name in _CONTENTS:
            self.body(context, element, name, in_entry=in_entry)
        elif name not in _INERT_LEAVES and not self.generic(name):
            raise _Decline

    def inert(self, element: Any) -> None:
        """An element (and subtree) whose handlers store nothing that is read here."""
        for node in element.iter():
            name = self.name(node)
            if name in _INERT_CONTAINERS or self.generic(name):
                continue
            if name in _INERT_LEAVES and not len(node):
                continue
            raise _Decline

    def generic(self, name: str) -> bool:
        """feedparser has no handler: it stores the text under the element's name."""
        return name not in _HANDLED and name not in _RESERVED

    # -------------------------------------------------------------- handlers

    def title(
        self, context: FeedParserDict, element: Any, depth: int, *, media: bool
    ) -> None:
        """Kept unless a non-empty title was met at this depth or above."""
        self.content_type(self.attributes(element), "text/plain")
        value = self.popped(element.text)
        if not -1 < self.title_depth <= depth:
            context["title"] = value
        if value and not media:  # media:title leaves the depth as it was
            self.title_depth = depth

    def link(self, context: FeedParserDict, element: Any, *, in_entry: bool) -> None:
        """An HTML alternate href (the last wins), or the element's text as a URL."""
        attributes = self.attributes(element)
        attributes.setdefault("rel", "alternate")
        if attributes["rel"] == "self":
            attributes.setdefault("type", "application/atom+xml")
        else:
            attributes.setdefault("type", "text/html")
        href = attributes.get("url", attributes.get("uri", attributes.get("href")))
        if href:
            attributes["href"] = href
        if "href" in attributes:
            href = _urljoin(self.base, attributes["href"])
            kind = _MIXIN.map_content_type(attributes["type"])
            if attributes["rel"] == "alternate" and kind in _MIXIN.html_types:
                context["link"] = href
            return
        value = self.popped(element.text, relative=True)
        if in_entry:
            value = value.replace("&amp;", "&")
        context["link"] = _ENTITY_NAME.sub(r"&\g<1>", value)

    def identifier(self, context: FeedParserDict, element: Any) -> None:
        """A guid or Atom id; unless isPermaLink="false" it is a URL, and a link."""
        is_link = self.attributes(element).get("ispermalink", "true") == "true"
        value = self.popped(element.text, relative=is_link)
        context["id"] = value
        if is_link:
            context.setdefault("link", value)

    def date(self, context: FeedParserDict, element: Any, key: str) -> None:
        """Raw and parsed by feedparser's own date parser (the last one wins)."""
        value = self.popped(element.text)
        context[key] = value
        try:
            context[f"{key}_parsed"] = _parse_date(value)
        except Exception as e:  # noqa: BLE001 - feedparser's parse would fail here
            raise _Decline from e

    def body(
        self, context: FeedParserDict, element: Any, name: str, *, in_entry: bool
    ) -> None:
        """Description, summary or content, by feedparser's summary rules.

        A description or summary met where there is a summary and no content yet
        is read as content; content of a plain or HTML type is also the summary
        where there is none.
        """
        attributes = self.attributes(element)
        encoded = name in ("content_encoded", "fullitem")
        if name in _CONTENTS or ("summary" in context and not self.has_content):
            self.has_content = True
            kind = self.content_type(
                attributes, "text/html" if encoded else "text/plain"
            )
            copied = kind in _COPIED_TO_SUMMARY  # decided before the type sniffing
            value, kind = self.popped_content(element.text, kind)
            if in_entry:
                detail = FeedParserDict(type=kind, value=value)
                if not encoded and attributes.get("src"):
                    detail["src"] = attributes["src"]
                context.setdefault("content", []).append(detail)
            else:
                context["content"] = value
            if copied:
                context.setdefault("summary", value)
            return
        default = "text/html" if name in _DESCRIPTIONS else "text/plain"
        kind = self.content_type(attributes, default)
        value, kind = self.popped_content(element.text, kind)
        if in_entry:
            context["summary"] = value
            context["summary_detail"] = FeedParserDict(type=kind, value=value)
        elif name in _SUMMARIES:  # a feed's description is its subtitle
            context["summary"] = value

    # -------------------------------------------------------------- values

    def popped(self, text: str | None, *, relative: bool = False) -> str:
        """An element's text as feedparser's ``pop`` leaves it.

        Stripped, resolved against the base when it is a link, then repaired.
        """
        value = (text or "").strip()
        if relative and value:
            value = _urljoin(self.base, value)
        return self.repaired(value)

    def repaired(self, value: str) -> str:
        """The end of ``pop``: the Latin-1 undo and the windows-1252 mapping."""
        if value.isascii():
            return value
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            value = value.encode("iso-8859-1").decode("utf-8")
        if self.c1 and _C1_CONTROLS.search(value):  # undoing Latin-1 adds none
            value = value.translate(_cp1252)
        return value

    def popped_content(self, text: str | None, kind: str) -> tuple[str, str]:
        """Text and type of a description, summary or content element.

        Outside Atom, feedparser takes plain text that looks like HTML for HTML.
        """
        value = (text or "").strip()
        if not self.atom and kind == "text/plain" and _MIXIN.looks_like_html(value):
            kind = "text/html"
        return self.repaired(value), kind

    def content_type(self, attributes: Mapping[str, str], default: str) -> str:
        """The type feedparser gives a text element; base64 and XHTML decline."""
        kind = _MIXIN.map_content_type(attributes.get("type", default))
        if attributes.get("mode", "") == "base64" or kind == "application/xhtml+xml":
            raise _Decline
        if not kind.startswith("text/") and not kind.endswith(("+xml", "/xml")):
            raise _Decline  # feedparser would decode it as base64
        return kind

    def attributes(self, element: Any) -> dict[str, str]:
        """Attributes keyed as feedparser's strict parser keys them.

        A namespaced attribute goes in under the namespace's usual prefix (none
        for an unknown namespace), then under the document's own ``prefix:name``;
        keys are lowercase, and so are the values of ``rel`` and ``type``.
        """
        items = element.items()
        if not items:
            return {}
        attributes: dict[str, str] = {}
        qualified = []
        for key, value in items:
            if key[0] == "{":
                uri, _, local = key[1:].partition("}")
                prefix = _KNOWN_NAMESPACES.get(uri.lower(), "")
                attributes[f"{prefix}:{local}".lower() if prefix else local.lower()] = (
                    value
                )
                qualified.append(
                    (f"{self.attribute_prefix(element, uri)}:{local}", value)
                )
            else:
                qualified.append((key, value))
        for key, value in qualified:
            attributes[key.lower()] = value
        for key in ("rel", "type"):
            if key in attributes:
                attributes[key] = attributes[key].lower()
        return attributes

    @staticmethod
    def attribute_prefix(element: Any, uri: str) -> str:
        """The prefix a namespaced attribute was written with (expat reports it)."""
        if uri == "http://www.w3.org/XML/1998/namespace":
            return "xml"
        prefixes = [p for p, u in element.nsmap.items() if u == uri and p is not None]
        if len(prefixes) != 1:
            raise _Decline
        return prefixes[0]

    def name(self, element: Any) -> str:
        """The element's name as feedparser's handlers are named: prefix_local."""
        tag = element.tag
        name = self.names.get(tag)
        if name is None:
            name = self.names[tag] = self.tag_name(tag, element)
        return name

    def tag_name(self, tag: Any, element: Any = None) -> str:
        """The name from the tag and the declarations known so far."""
        if not isinstance(tag, str):
            raise _Decline
        if not tag.rpartition("}")[2].isascii():
            raise _Decline  # see _ascii_names
        if tag[0] != "{":
            name = tag.lower()
        else:
            uri, _, local = tag[1:].partition("}")
            lowered = uri.lower()
            prefix = "" if _USERLAND in lowered else _KNOWN_NAMESPACES.get(lowered)
            if prefix is None:
                prefix = self.unknown.get(uri)
            if prefix is None:  # declared below the root: checked in _check_names
                if element is None or not self.late:
                    raise _Decline
                prefix = (element.prefix or "").lower()
            if prefix:
                prefix = self.remapped(prefix)
            name = f"{prefix}_{local.lower()}" if prefix else local.lower()
        return name

    def remapped(self, prefix: str) -> str:
        """The prefix, unless the document bound it to another known namespace.

        feedparser would then use that namespace's usual prefix in handler names
        but keep the written one in its other checks; that is not repeated here.
        """
        if self.namespacemap.get(prefix, prefix) != prefix:
            raise _Decline
        return prefix

    # -------------------------------------------------------------- set-up

    def _namespaces(self, declared: set[tuple[str | None, str]]) -> None:
        """What feedparser makes of the document's namespace declarations.

        An element of a namespace feedparser does not know is named by the prefix
        the document bound to it, or by its bare name under a default namespace.
        Ambiguous bindings (a prefix bound to two namespaces, an unknown namespace
        under two prefixes or under a known namespace's usual prefix) decline.
        """
        self.namespacemap, self.unknown = {}, {}
        bound: dict[str, set[str]] = {}
        unknown: dict[str, set[str | None]] = {}
        usual = set()  # the usual prefixes of the known namespaces declared
        for prefix, uri in declared:
            lowered = uri.lower()
            if prefix is not None:
                if not prefix.isascii():
                    raise _Decline  # see _ascii_names
                bound.setdefault(prefix.lower(), set()).add(uri)
            if _USERLAND in lowered:
                known = ""
            elif lowered in _NAMESPACE_PREFIXES:
                known = _NAMESPACE_PREFIXES[lowered]
            else:
                unknown.setdefault(uri, set()).add(prefix)
                continue
            usual.add(known)
            if prefix is not None:
                self.namespacemap[prefix] = known
        if any(len(uris) > 1 for uris in bound.values()):
            raise _Decline
        for uri, prefixes in unknown.items():
            # feedparser finds the prefix in a table keyed by prefix, where a known
            # namespace's usual prefix would overwrite the document's.
            if len(prefixes) > 1 or prefixes & usual:
                raise _Decline
            (prefix,) = prefixes
            self.unknown[uri] = prefix.lower() if prefix else ""

    @staticmethod
    def _ascii_names(root: Any, body: bytes) -> None:
        """Declines names with non-ASCII letters in attributes or PI targets.

        libxml2 allows the name letters of XML 1.0 fifth edition, expat only those
        of the fourth, and where expat fails feedparser reads the feed with its
        loose parser instead. (Element names are checked as they are named.)
        """
        if _NON_ASCII_PI.search(body):
            raise _Decline
        for node in root.iter():
            for key in node.attrib:
                if not key.isascii():
                    raise _Decline

    @staticmethod
    def _base(content_location: str) -> str:
        """The base feedparser resolves links against below the root element.

        Each start tag resolves the base against itself; past the root it must
        have settled, or the fast path would have to track it depth by depth.
        """
        base = content_location
        if not base:
            return ""
        base = make_safe_absolute_uri(base, base) or base
        if (make_safe_absolute_uri(base, base) or base) != base:
            raise _Decline
        return base


def _parse_json_feed(body: bytes, feed_url: str, fetched_at: datetime) -> ParsedFeed:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FeedParseError("bad_json", str(e)) from e
    except RecursionError as e:  # [[[[... nested deeper than the interpreter goes
        raise FeedParseError("bad_json", "JSON nested too deeply") from e
    if not isinstance(document, dict) or not _JSON_FEED_VERSION.match(
        str(document.get("version", ""))
    ):
        raise FeedParseError("not_a_feed", "JSON document is not a JSON Feed")
    entries = document.get("items")
    if not isinstance(entries, list):
        raise FeedParseError("not_a_feed", "JSON Feed without an items list")
    source = _source_title(_text(document.get("title")), feed_url)
    items: list[FeedItem] = []
    failures: list[DeadLetter] = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            failures.append(
                dead_letter(
                    ITEM_STAGE,
                    feed_url,
                    "bad_item",
                    f"JSON Feed item {position} is a {type(entry).__name__}",
                    payload=json.dumps(entry)[:2000],
                )
            )
            continue
        items.append(_json_feed_item(entry, feed_url, source, fetched_at))
    return ParsedFeed(source, items, failures)


def _text(value: Any) -> str:
    """A JSON value that should be a string; numbers are accepted (ids often are).

    JSON may escape lone surrogates (\\ud800), which no Parquet writer can encode.
    """
    if isinstance(value, str):
        return valid_unicode(value).strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _json_feed_item(
    entry: dict[str, Any], feed_url: str, source: str, fetched_at: datetime
) -> FeedItem:
    published, published_error = _iso_date(entry.get("date_published"), "published")
    updated, updated_error = _iso_date(entry.get("date_modified"), "updated")
    body = _text(entry.get("content_html"))
    if not body:
        plain = _text(entry.get("content_text")) or _text(entry.get("summary"))
        body = html.escape(plain)
    return FeedItem(
        feed_url=feed_url,
        source=source,
        link=_text(entry.get("url")) or _text(entry.get("external_url")),
        guid=_text(entry.get("id")),
        title=_text(entry.get("title")),
        published=published,
        updated=updated,
        fetched_at=fetched_at,
        html=body,
        date_error="; ".join(e for e in (published_error, updated_error) if e),
    )


def _iso_date(value: Any, name: str) -> tuple[datetime | None, str]:
    """An RFC 3339 date as aware UTC; a date without an offset is taken as UTC."""
    text = _text(value)
    if not text:
        return None, ""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None, f"unparseable {name} date: {one_line(text, limit=100)!r}"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC), ""


# ------------------------------------------------------------------ Beam


def feed_status(
    feed: str,
    status: str,
    *,
    http_status: int | None = None,
    items_seen: int = 0,
    error: str = "",
    etag: str | None = None,
    last_modified: str | None = None,
    body_sha256: str | None = None,
) -> dict[str, Any]:
    """One row of the per-feed report: what happened to each feed of the run.

    ``etag``, ``last_modified`` and ``body_sha256`` are what the next run needs to
    skip this feed when it has not changed; they are committed to ``_state/`` only
    after the run's datasets are written.
    """
    return {
        "feed": feed,
        "status": status,
        "http_status": http_status,
        "items_seen": items_seen,
        "error": error,
        "etag": etag,
        "last_modified": last_modified,
        "body_sha256": body_sha256,
        "checked_at": utc_now().isoformat(),  # orders the polls of a streaming run
    }


class FeedBytes(NamedTuple):
    """A feed's body as read, and whether it is what the last run committed."""

    body: bytes = b""
    content_type: str | None = None
    status: int | None = None  # HTTP status; None for a local file
    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None
    unchanged: bool = False  # a 304, or the same bytes as last time


def read_feed(
    feed: str, options: FetchOptions, previous: Mapping[str, Any]
) -> FeedBytes:
    """Fetch (conditionally) or read a feed; raises ``FetchError`` or ``OSError``.

    ``previous`` is what the last run committed for the feed (validators, digest).
    """
    if not is_url(feed):
        body = read_local(feed, options.max_bytes)
        digest = hashlib.sha256(body).hexdigest()
        return FeedBytes(
            body, body_sha256=digest, unchanged=digest == previous.get("body_sha256")
        )
    result = fetch(
        feed,
        options,
        trusted=True,
        etag=previous.get("etag"),
        last_modified=previous.get("last_modified"),
    )
    etag = result.etag or previous.get("etag")
    modified = result.last_modified or previous.get("last_modified")
    if result.not_modified:
        return FeedBytes(
            status=304,
            etag=etag,
            last_modified=modified,
            body_sha256=previous.get("body_sha256"),
            unchanged=True,
        )
    digest = hashlib.sha256(result.body).hexdigest()
    if digest == previous.get("body_sha256"):  # changed validators, same bytes
        return FeedBytes(
            result.body,
            result.content_type,
            result.status,
            etag,
            modified,
            digest,
            unchanged=True,
        )
    return FeedBytes(
        result.body,
        result.content_type,
        result.status,
        result.etag,
        result.last_modified,
        digest,
    )


def unchanged_status(feed: str, read: FeedBytes) -> dict[str, Any]:
    """The report of a feed that did not change: nothing to parse or analyse."""
    return feed_status(
        feed,
        "not_modified",
        http_status=read.status,
        etag=read.etag,
        last_modified=read.last_modified,
        body_sha256=read.body_sha256,
    )


def unchanged_feeds(
    feeds: Iterable[str],
    state: Mapping[str, Mapping[str, Any]],
    options: FetchOptions,
    limit: int = 16,
) -> list[dict[str, Any]] | None:
    """Statuses of every feed if none changed since the last run, else None.

    A scheduled run usually finds nothing new; checking the feeds one by one before
    a pipeline starts saves the whole start-up then. The check stops at the first
    feed that changed, failed or was never read (the pipeline reads it, and records
    why), so a run with news pays one extra request at most; with more than
    ``limit`` feeds it is left to the pipeline, which reads them in parallel.
    """
    feeds = list(feeds)
    if len(feeds) > limit or any(feed not in state for feed in feeds):
        return None
    statuses = []
    for feed in feeds:
        try:
            read = read_feed(feed, options, state[feed])
        except (FetchError, OSError):
            return None
        if not read.unchanged:
            return None
        statuses.append(unchanged_status(feed, read))
    return statuses


class FetchFeedFn(beam.DoFn):
    """Fetch (or read) one feed and parse it; failures leave as dead letters.

    Emits items on the main output, one status dict per feed on ``FEEDS`` and
    dead letters on ``DEAD_LETTERS``.
    """

    def __init__(
        self,
        options: FetchOptions,
        state: Mapping[str, Mapping[str, Any]] | None = None,
    ):
        self._options = options
        self._state = {feed: dict(value) for feed, value in (state or {}).items()}
        self._read = Metrics.counter(STAGE, "feeds_read")
        self._failed = Metrics.counter(STAGE, "feeds_failed")
        self._not_modified = Metrics.counter(STAGE, "feeds_not_modified")
        self._items = Metrics.counter(STAGE, "items_seen")

    def process(self, feeds: list[str]) -> Iterator[Any]:
        """Reads a batch of feeds on a few threads: fetching is waiting, not work.

        The per-host limits of ``FetchOptions`` still apply across the threads.
        Counters are kept here, in the DoFn's own thread, where Beam records them.
        """
        if len(feeds) == 1:
            results = [list(self._read_one(feeds[0]))]
        else:
            threads = min(len(feeds), FETCH_THREADS)
            with ThreadPoolExecutor(threads, thread_name_prefix="feed") as pool:
                results = list(pool.map(lambda f: list(self._read_one(f)), feeds))
        # Batching stamped the feeds with the end of the window; what was read is
        # stamped with when it was read, so streaming windows see the poll's time.
        when = Timestamp.now()
        for outputs in results:
            for output in outputs:
                if isinstance(output, beam.pvalue.TaggedOutput):
                    if output.tag == FEEDS:
                        self._count(output.value)
                    yield beam.pvalue.TaggedOutput(
                        output.tag, TimestampedValue(output.value, when)
                    )
                else:
                    yield TimestampedValue(output, when)

    def _count(self, status: Mapping[str, Any]) -> None:
        if status["status"] == "ok":
            self._read.inc()
            self._items.inc(status["items_seen"])
        elif status["status"] == "not_modified":
            self._not_modified.inc()
        else:
            self._failed.inc()
            Metrics.counter(STAGE, f"failed_{status['error']}").inc()

    def _read_one(self, feed: str) -> Iterator[Any]:
        fetched_at = utc_now()
        read = FeedBytes()
        previous = self._state.get(feed, {})
        try:
            read = read_feed(feed, self._options, previous)
            if read.unchanged:
                yield beam.pvalue.TaggedOutput(FEEDS, unchanged_status(feed, read))
                return
            parsed = parse_feed(
                read.body, feed, fetched_at, content_type=read.content_type
            )
        except FetchError as e:
            yield from self._failure(feed, e.reason, e.detail, b"", e.http_status)
            return
        except FeedParseError as e:
            yield from self._failure(feed, e.reason, e.detail, read.body, read.status)
            return
        except OSError as e:
            yield from self._failure(feed, "file_error", f"{feed}: {e.strerror}", b"")
            return
        http_status, etag, modified = read.status, read.etag, read.last_modified
        digest = read.body_sha256
        seen = len(parsed.items) + len(parsed.failures)
        yield from parsed.items
        for failure in parsed.failures:
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, failure)
        yield beam.pvalue.TaggedOutput(
            FEEDS,
            self._remember(
                feed_status(
                    feed,
                    "ok",
                    http_status=http_status,
                    items_seen=seen,
                    etag=etag,
                    last_modified=modified,
                    body_sha256=digest,
                )
            ),
        )

    def _remember(self, status: dict[str, Any]) -> dict[str, Any]:
        """Keep validators and digest for the next poll of a streaming run."""
        self._state[status["feed"]] = {
            "etag": status.get("etag"),
            "last_modified": status.get("last_modified"),
            "body_sha256": status.get("body_sha256"),
        }
        return status

    def _failure(
        self,
        feed: str,
        reason: str,
        detail: str,
        body: bytes,
        http_status: int | None = None,
    ) -> Iterator[Any]:
        yield beam.pvalue.TaggedOutput(
            DEAD_LETTERS, dead_letter(STAGE, feed, reason, detail, payload=body)
        )
        yield beam.pvalue.TaggedOutput(
            FEEDS, feed_status(feed, "failed", http_status=http_status, error=reason)
        )


class ReadFeeds(beam.PTransform):
    """Feed sources (URLs or local paths, already expanded) -> items.

    Returns ``{"items", "dead_letters", "feeds"}``; ``feeds`` holds exactly one
    status dict per input feed, for the run report. ``state`` maps a feed URL
    to what a previous run committed (``etag``, ``last_modified``, ``body_sha256``)
    so that an unchanged feed costs one conditional request and nothing more.
    """

    def __init__(
        self,
        options: FetchOptions | None = None,
        state: Mapping[str, Mapping[str, Any]] | None = None,
        label: str | None = None,
        spread: bool = True,
    ):
        super().__init__(label)
        self._options = options or FetchOptions()
        self._state = state
        self._spread = spread  # a shuffle would hold a streaming job until the end

    def expand(self, sources: beam.PCollection) -> dict[str, beam.PCollection]:
        if self._spread:
            sources = sources | "SpreadFeeds" >> beam.Reshuffle()
        results = (
            sources
            | "BatchFeeds"
            >> beam.BatchElements(
                min_batch_size=FETCH_BATCH, max_batch_size=FETCH_BATCH
            )
            | "FetchFeeds"
            >> beam.ParDo(FetchFeedFn(self._options, self._state)).with_outputs(
                DEAD_LETTERS, FEEDS, main="items"
            )
        )
        return {
            "items": results.items,
            "dead_letters": results[DEAD_LETTERS],
            "feeds": results[FEEDS],
        }


# ------------------------------------------------------------------ feed state
#
# OUTPUT/_state/feeds.json remembers, per feed, the validators and the body digest of
# the last successful read. It is written only after a run's datasets are on disk, so
# a crash never marks a feed as done whose items were not written.


def state_path(output: str) -> str:
    return feed_state_path(output)


def load_feed_state(output: str) -> dict[str, dict[str, Any]]:
    """The committed per-feed state, or nothing for a new output directory."""
    from apache_beam.io.filesystems import FileSystems

    path = state_path(output)
    try:
        if not FileSystems.exists(path):
            return {}
        data = json.loads(read_bytes(path))
    except (OSError, ValueError, beam.io.filesystem.BeamIOError):
        return {}  # a damaged state only costs one full re-read of every feed
    feeds = data.get("feeds", {}) if isinstance(data, dict) else {}
    return {k: v for k, v in feeds.items() if isinstance(v, dict)}


def next_feed_state(
    previous: Mapping[str, Mapping[str, Any]],
    statuses: Iterable[Mapping[str, Any]],
    checked_at: datetime,
) -> dict[str, dict[str, Any]]:
    """Previous state updated by this run's statuses; failed feeds keep the old one."""
    state = {feed: dict(value) for feed, value in previous.items()}
    for status in sorted(statuses, key=lambda s: s.get("checked_at") or ""):
        if status.get("status") not in ("ok", "not_modified"):
            continue
        state[status["feed"]] = {
            "etag": status.get("etag"),
            "last_modified": status.get("last_modified"),
            "body_sha256": status.get("body_sha256"),
            "checked_at": checked_at.isoformat(),
        }
    return state


def save_feed_state(output: str, state: Mapping[str, Mapping[str, Any]]) -> None:
    payload = json.dumps({"version": 1, "feeds": state}, indent=1, sort_keys=True)
    write_atomically(state_path(output), payload.encode())
