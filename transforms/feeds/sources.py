"""Feed sources -> feeds: what ``--feeds`` names, expanded before the pipeline starts.

A source is a feed URL, a local feed file, a feed list or an OPML export; lists may
name lists. Four list formats, told apart by their content (files are named
anything), each able to say who publishes a feed and from which country:

* text, one feed per line, ``#`` comments, optional ``outlet="..."`` and
  ``country=XX`` after the URL or path;
* CSV with a header row naming a ``url`` column (``outlet``, ``country`` optional);
* TOML with one ``[[feed]]`` table per feed (``url``, ``outlet``, ``country``);
* OPML, ``xmlUrl`` on an outline, ``outlet``/``country`` on it or on a parent.

Paths in a list are relative to the list. Every feed is keyed by its URL or by its
resolved absolute path, so the same list run from another folder is the same feeds.

What goes wrong is split by who can fix it: a source named on the command line that
cannot be used is a ``FeedListError`` (one line, the run does not start); an entry
inside a list that cannot be used becomes a ``FeedSource`` with an ``error``, which
the feed stage records as a failed feed while the others are read. Messages name the
path and what was expected, never the file's raw bytes.
"""

from __future__ import annotations

import csv
import errno
import os
import re
import stat
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from newsbeam.transforms.feeds import encodings
from newsbeam.transforms.feeds.outlets import OutletError, country_code, outlet_name
from newsbeam.transforms.http import FetchError, decompress

LIST_MAX_BYTES = 10 * 1024 * 1024
MAX_LIST_DEPTH = 8
_SNIFF_CHARS = 65536

# The first element name of an XML document, past declarations, comments, doctype.
_PROLOG = re.compile(r"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>)", re.S)
_ELEMENT = re.compile(r"\s*<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
# A feed's root element anywhere in the head: junk before it is still a feed to judge.
_FEED_ROOT = re.compile(r"<(?:\w+:)?(?:rss|feed|RDF|channel)[\s>/]", re.I)
# Characters no text list holds; a few in a large file are tolerated (a stray byte).
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_TOML_TABLE = re.compile(r"^\s*\[\[\s*feeds?\s*\]\]", re.M)
_URL_COLUMNS = ("url", "feed", "xmlurl")
# ``key=value`` or ``key="a value"`` after an entry of a text list.
_ATTRIBUTE = re.compile(r'\s+([A-Za-z_]\w*)=(?:"([^"]*)"|(\S+))')
_ATTRIBUTE_KEYS = ("outlet", "country")
_PATH_ATTRIBUTE = re.compile(r'\s+(?:outlet|country)=(?:"[^"]*"|\S+)', re.I)


class FeedListError(ValueError):
    """A feed source the operator gave cannot be used; the message is one line."""


class SourceKind(StrEnum):
    FEED = "feed"  # XML or JSON: the parser judges it
    OPML = "opml"
    TEXT = "list"
    CSV = "csv"
    TOML = "toml"
    BINARY = "binary"  # none of the above, and not text


class FeedSource(NamedTuple):
    """One feed to read, who publishes it, or why it cannot be read.

    ``feed`` is the URL or the resolved absolute path: the key of the feed in the
    run record and the feed state. ``error`` (a stable reason) and ``detail`` are set
    for an entry of a list that could not be used; the feed stage reports it as a
    failed feed without reading anything.
    """

    feed: str
    outlet: str | None = None
    outlet_country: str | None = None
    error: str = ""
    detail: str = ""

    def with_defaults(self, outlet: str | None, country: str | None) -> FeedSource:
        """The entry's own outlet and country, else those of the entry naming it."""
        return self._replace(
            outlet=self.outlet or outlet,
            outlet_country=self.outlet_country or country,
        )


def as_source(value: str | FeedSource) -> FeedSource:
    return value if isinstance(value, FeedSource) else FeedSource(str(value))


def is_url(source: str) -> bool:
    try:
        return urlsplit(source.strip()).scheme.lower() in ("http", "https")
    except ValueError:  # an unbalanced [ in a netloc
        return False


def read_local(path: str | os.PathLike, max_bytes: int) -> bytes:
    """A local file's bytes, decompressed when gzip or zlib, refusing files over the
    cap (after decompression too).

    Only regular files: a FIFO or a terminal (``/dev/stdin``) would block the run
    until someone wrote to it, and a device has no end.
    """
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory")
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file")
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FetchError("too_large", f"{path} is over {max_bytes} bytes")
    if _zlib_header(data):  # deflate saved to a file has no magic but its header
        try:
            return decompress(data, "deflate", max_bytes)
        except FetchError as e:
            if e.reason == "too_large":
                raise
    return decompress(data, None, max_bytes)


def _zlib_header(data: bytes) -> bool:
    """RFC 1950: deflate method, a 32K window or smaller, and a header checksum."""
    return (
        len(data) > 2
        and data[0] & 0x0F == 8
        and data[0] >> 4 <= 7
        and (data[0] << 8 | data[1]) % 31 == 0
    )


def sniff(data: bytes) -> SourceKind:
    """What a local file holds, by its content in whatever encoding it is in."""
    text = encodings.decode(data, _SNIFF_CHARS)
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("{"):
        return SourceKind.FEED
    if head.startswith("<"):
        position = 0
        while prolog := _PROLOG.match(head, position):
            position = prolog.end()
        element = _ELEMENT.match(head, position)
        if element and element.group(2).lower() == "opml":
            return SourceKind.OPML
        return SourceKind.FEED  # any other XML is handed to the parser, which judges
    if _FEED_ROOT.search(head):
        return SourceKind.FEED
    if len(_CONTROLS.findall(head)) > max(2, len(head) // 1000) or "\x00" in head:
        return SourceKind.BINARY
    if _TOML_TABLE.search(head):
        return SourceKind.TOML
    if _csv_header(head) is not None:
        return SourceKind.CSV
    return SourceKind.TEXT


def expand_sources(sources: Iterable[str]) -> list[FeedSource]:
    """Every feed named by the sources, in order, each once (the first naming wins,
    completed by later ones' outlet and country)."""
    feeds: dict[str, FeedSource] = {}
    for source in sources:
        for feed in _expand(source.strip(), depth=0, seen=frozenset(), origin=""):
            first = feeds.get(feed.feed)
            if first is None:
                feeds[feed.feed] = feed
            elif not first.error:
                feeds[feed.feed] = first.with_defaults(feed.outlet, feed.outlet_country)
    if not feeds:
        raise FeedListError("no feeds given: name a feed URL, feed file or feed list")
    return list(feeds.values())


def shown(text: str, limit: int = 200) -> str:
    """Text safe to print: control characters escaped, length bounded."""
    safe = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(text))
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


class _Problem(Exception):
    """An unusable source: raised at the top level, a failed entry inside a list."""

    def __init__(self, key: str, reason: str, message: str):
        super().__init__(message)
        self.key = key
        self.reason = reason
        self.message = message


def _expand(
    source: str, *, depth: int, seen: frozenset[str], origin: str
) -> Iterator[FeedSource]:
    """The feeds of one source; ``origin`` names the list it came from ('' = argv)."""
    try:
        yield from _expand_checked(source, depth=depth, seen=seen, origin=origin)
    except _Problem as problem:
        if not origin:
            raise FeedListError(problem.message) from None
        yield FeedSource(problem.key, error=problem.reason, detail=problem.message)


def _expand_checked(
    source: str, *, depth: int, seen: frozenset[str], origin: str
) -> Iterator[FeedSource]:
    if is_url(source):
        yield FeedSource(source.strip())
        return
    path = _local_path(source, origin)
    where = f" (named in {shown(origin)})" if origin else ""
    if path in seen:
        raise _Problem(path, "list_cycle", f"feed list includes itself: {shown(path)}")
    if depth > MAX_LIST_DEPTH:
        raise _Problem(
            path, "list_too_deep", f"feed lists nested too deep at: {shown(path)}"
        )
    try:
        data = read_local(path, LIST_MAX_BYTES)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise _Problem(
            path,
            "file_error",
            f"feed source not readable: {shown(path)} ({reason}){where}",
        ) from e
    except FetchError:
        # Too large (or too broken) to be a list: a feed for the feed stage, which
        # applies --max-feed-bytes and reports what is wrong with it.
        yield FeedSource(path)
        return
    kind = sniff(data)
    if kind is SourceKind.FEED:
        yield FeedSource(path)
        return
    if kind is SourceKind.BINARY:
        if origin:  # one failed feed; its dead letter says not_a_feed
            yield FeedSource(path)
            return
        raise _Problem(
            path,
            "not_a_feed",
            f"not a feed, feed list or OPML file: {shown(path)} (binary data; "
            "expected RSS, Atom or JSON Feed, a text/CSV/TOML list of feeds, or OPML)",
        )
    entries = _LIST_READERS[kind](data, path)
    found = 0
    for entry in entries:
        if entry.error:
            found += 1
            yield entry
            continue
        for feed in _expand(
            entry.feed, depth=depth + 1, seen=seen | {path}, origin=path
        ):
            found += 1
            yield feed.with_defaults(entry.outlet, entry.outlet_country)
    if not found:
        raise _Problem(path, "empty_list", f"feed list has no feeds: {shown(path)}")


def _local_path(source: str, origin: str) -> str:
    """A source as an absolute, resolved path; relative to its list, if any."""
    try:
        parts = urlsplit(source)
    except ValueError:
        parts = urlsplit("")
    scheme = parts.scheme.lower()
    if scheme == "file":
        source = unquote(parts.path)
    elif len(scheme) > 1:  # c:\ is a drive, not a scheme
        named = f" in {shown(origin)}" if origin else ""
        raise _Problem(
            source,
            "bad_source",
            f"unsupported feed source{named}: {shown(source)} (use http or https)",
        )
    if "\x00" in source:
        raise _Problem(shown(source), "bad_source", "a path holds a NUL character")
    if origin:
        source = os.path.join(os.path.dirname(origin), source)  # absolute stays
    return os.path.realpath(source)


# ------------------------------------------------------------------ list formats


def _text_entries(data: bytes, path: str) -> Iterator[FeedSource]:
    """One feed per line: ``URL|PATH [outlet="Name"] [country=XX] [# comment]``."""
    for number, line in enumerate(encodings.decode(data).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entry, attributes = _text_entry(line)
        except OutletError as error:
            yield _bad_entry(path, number, line.strip(), str(error))
            continue
        if entry:
            yield _entry(path, number, entry, attributes)


def _text_entry(line: str) -> tuple[str, dict[str, str]]:
    """The entry and its attributes. After a URL (no spaces) everything is
    attributes; after a path only ``outlet=`` and ``country=`` are, since paths may
    hold spaces."""
    text = _without_comment(line).strip()
    if not text:
        return "", {}
    first, *more = text.split(maxsplit=1)
    if is_url(first):
        entry, rest = first, " " + "".join(more)
    else:
        match = _PATH_ATTRIBUTE.search(text)
        entry = text[: match.start()] if match else text
        rest = text[match.start() :] if match else ""
    attributes: dict[str, str] = {}
    position = 0
    while match := _ATTRIBUTE.match(rest, position):
        key = match.group(1).lower()
        if key not in _ATTRIBUTE_KEYS:
            raise OutletError(f"unknown attribute {key!r} (use outlet= and country=)")
        attributes[key] = match.group(2) if match.group(2) is not None else match[3]
        position = match.end()
    if rest[position:].strip():
        raise OutletError(
            f"cannot read {shown(rest[position:].strip(), 40)!r} after the feed "
            '(write outlet="Name" country=XX, then an optional # comment)'
        )
    return entry.strip(), attributes


def _without_comment(line: str) -> str:
    """The line up to a ``#`` that starts a comment: at the start or after a space,
    and not inside a quoted value."""
    quoted = False
    for position, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif (
            char == "#"
            and not quoted
            and (position == 0 or line[position - 1].isspace())
        ):
            return line[:position]
    return line


def _csv_header(text: str) -> list[str] | None:
    """The header of a CSV feed list: its first line names a ``url`` column."""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            fields = next(csv.reader([line]))
        except csv.Error:
            return None
        names = [f.strip().lower() for f in fields]
        return names if len(names) > 1 and set(names) & set(_URL_COLUMNS) else None
    return None


def _csv_entries(data: bytes, path: str) -> Iterator[FeedSource]:
    """Rows of a CSV list with a header (``url,outlet,country``; more columns are
    the operator's own and ignored); ``#`` lines are comments."""
    lines = [
        (number, line)
        for number, line in enumerate(encodings.decode(data).splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    header = _csv_header("\n".join(line for _, line in lines[:1])) or []
    column = next(name for name in _URL_COLUMNS if name in header)
    try:
        rows = list(csv.reader(line for _, line in lines[1:]))
    except csv.Error as error:
        raise _Problem(
            path, "bad_list", f"feed list is not valid CSV: {shown(path)} ({error})"
        ) from error
    for (number, _line), row in zip(lines[1:], rows, strict=True):
        values = dict(zip(header, (v.strip() for v in row), strict=False))
        entry = values.get(column, "")
        if not entry:
            yield _bad_entry(path, number, ",".join(row), f"no {column} in the row")
            continue
        yield _entry(path, number, entry, values)


def _toml_entries(data: bytes, path: str) -> Iterator[FeedSource]:
    """``[[feed]]`` tables: ``url`` (or ``path``), ``outlet``, ``country``."""
    try:
        document = tomllib.loads(encodings.decode(data))
    except tomllib.TOMLDecodeError as error:
        raise _Problem(
            path, "bad_list", f"feed list is not valid TOML: {shown(path)} ({error})"
        ) from error
    tables = document.get("feed", document.get("feeds", []))
    if not isinstance(tables, list):
        raise _Problem(
            path, "bad_list", f"feed list has no [[feed]] tables: {shown(path)}"
        )
    for number, table in enumerate(tables, 1):
        if not isinstance(table, dict):
            continue
        entry = table.get("url") or table.get("path")
        values = {k: table.get(k) for k in _ATTRIBUTE_KEYS}
        if not isinstance(entry, str) or not entry.strip():
            yield _bad_entry(path, number, str(table), "no url in the [[feed]] table")
            continue
        if not all(v is None or isinstance(v, str) for v in values.values()):
            yield _bad_entry(path, number, entry, "outlet and country must be text")
            continue
        yield _entry(path, number, entry.strip(), values, unit="feed")


def _opml_entries(data: bytes, path: str) -> Iterator[FeedSource]:
    """Outlines with ``xmlUrl``; ``outlet`` and ``country`` are inherited from the
    outlines they sit in, so a folder can name the outlet of all its feeds."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise _Problem(
            path, "bad_list", f"feed list is not valid OPML: {shown(path)} ({error})"
        ) from error
    number = 0

    def walk(element, inherited: dict[str, str]) -> Iterator[FeedSource]:
        nonlocal number
        for child in element:
            attributes = inherited
            if child.tag == "outline":
                attributes = {**inherited}
                for key in _ATTRIBUTE_KEYS:
                    if child.attrib.get(key, "").strip():
                        attributes[key] = child.attrib[key]
                url = child.attrib.get("xmlUrl", "").strip()
                if url:
                    number += 1
                    yield _entry(path, number, url, attributes, unit="outline")
            yield from walk(child, attributes)

    yield from walk(root, {})


def _entry(
    path: str,
    number: int,
    entry: str,
    values: Mapping[str, str | None],
    unit: str = "line",
) -> FeedSource:
    """A list entry with its outlet and country checked."""
    try:
        outlet = outlet_name(values.get("outlet"))
        country = country_code(values.get("country"))
    except OutletError as error:
        return _bad_entry(path, number, entry, str(error), unit)
    return FeedSource(entry, outlet, country)


def _bad_entry(
    path: str, number: int, entry: str, message: str, unit: str = "line"
) -> FeedSource:
    return FeedSource(
        f"{path}#{unit}{number}",
        error="bad_list_entry",
        detail=f"{shown(path)} {unit} {number}: {message}: {shown(entry, 120)}",
    )


_LIST_READERS = {
    SourceKind.TEXT: _text_entries,
    SourceKind.CSV: _csv_entries,
    SourceKind.TOML: _toml_entries,
    SourceKind.OPML: _opml_entries,
}
