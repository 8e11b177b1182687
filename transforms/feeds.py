"""Stage 1: feed sources -> feed items.

An operator names feeds as URLs, local feed files, text lists of feeds or OPML
exports; ``expand_sources`` turns all of that into one ordered list of feeds before
the pipeline starts, so a typo fails the run at once with a one-line message.
``ReadFeeds`` then fetches and parses every feed in parallel. One feed that is down
or is not a feed becomes one dead-letter row; the rest go on.

Parsing uses feedparser for RSS 0.9x/1.0/2.0 and Atom, and a small reader of our own
for JSON Feed, which feedparser does not know. HTML is neither sanitised nor
rewritten here: a later stage cleans it, and doing it twice is slow.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import io
import json
import os
import re
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

from schemas import DeadLetter, FeedItem
from transforms.common import (
    DEAD_LETTERS,
    dead_letter,
    one_line,
    read_bytes,
    utc_now,
    write_atomically,
)
from transforms.http import FetchError, FetchOptions, decompress, fetch
from transforms.text import valid_unicode

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
    """
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return _parse_json_feed(body, feed_url, fetched_at)
    headers = {}
    if content_type and "charset=" in content_type.lower():
        headers["content-type"] = content_type
    if is_url(feed_url):
        headers["content-location"] = feed_url  # base for relative entry links
    body = safe_charrefs(_without_wide_lie(body))
    parsed = _feedparser(body, headers)
    if "content-type" not in headers and _fell_back_to_latin(parsed, body):
        guess = guess_non_latin_encoding(body)
        if guess is not None:
            headers["content-type"] = "application/xml; charset=utf-8"
            body = body.decode(guess, "replace").encode("utf-8")
            parsed = _feedparser(body, headers)
    if not parsed.get("entries") and not parsed.get("version"):
        problem = parsed.get("bozo_exception") or "no feed elements found"
        raise FeedParseError("not_a_feed", str(problem))
    channel = parsed.get("feed", {})
    source = _source_title(channel.get("title", ""), feed_url)
    # Links still relative here had no base; a local feed file's own site is one.
    home = str(channel.get("link") or "")
    base = home if is_url(home) else feed_url if is_url(feed_url) else ""
    items = [
        _feedparser_item(entry, feed_url, source, fetched_at, base)
        for entry in parsed.get("entries", [])
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
    """The body with references to code points XML forbids replaced by U+FFFD."""

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
        http_status: int | None = None
        body = b""
        previous = self._state.get(feed, {})
        etag = modified = None
        try:
            if is_url(feed):
                result = fetch(
                    feed,
                    self._options,
                    trusted=True,
                    etag=previous.get("etag"),
                    last_modified=previous.get("last_modified"),
                )
                http_status = result.status
                etag, modified = result.etag, result.last_modified
                if result.not_modified:
                    yield from self._unchanged(feed, 304, previous)
                    return
                body, content_type = result.body, result.content_type
            else:
                body, content_type = read_local(feed, self._options.max_bytes), None
            digest = hashlib.sha256(body).hexdigest()
            if digest == previous.get("body_sha256"):
                yield from self._unchanged(feed, http_status, previous, etag, modified)
                return
            parsed = parse_feed(body, feed, fetched_at, content_type=content_type)
        except FetchError as e:
            yield from self._failure(feed, e.reason, e.detail, body, e.http_status)
            return
        except FeedParseError as e:
            yield from self._failure(feed, e.reason, e.detail, body, http_status)
            return
        except OSError as e:
            yield from self._failure(feed, "file_error", f"{feed}: {e.strerror}", b"")
            return
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

    def _unchanged(
        self,
        feed: str,
        http_status: int | None,
        previous: Mapping[str, Any],
        etag: str | None = None,
        modified: str | None = None,
    ) -> Iterator[Any]:
        """A 304, or the same bytes as last time: no parsing, no analysis."""
        yield beam.pvalue.TaggedOutput(
            FEEDS,
            feed_status(
                feed,
                "not_modified",
                http_status=http_status,
                etag=etag or previous.get("etag"),
                last_modified=modified or previous.get("last_modified"),
                body_sha256=previous.get("body_sha256"),
            ),
        )

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
    return f"{output.rstrip('/')}/_state/feeds.json"


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
