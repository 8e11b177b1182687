"""Parsing: feed bytes -> feed items, by the fast path, feedparser or JSON Feed.

feedparser reads RSS 0.9x/1.0/2.0 and Atom; a small reader of our own reads JSON
Feed, which feedparser does not know (``jsonfeed``). A well-formed UTF-8 RSS or Atom
feed first takes the lxml fast path (``fastpath``), which gives feedparser's items to
the last field or declines. Before either XML path, the body is repaired where real
feeds are broken in ways that make parsers fail or read junk: references to code
points XML forbids, and a UTF-16 declaration over 8-bit bytes; after feedparser, a
non-Latin body it could only read as windows-1252 is decoded by a statistical guess.
HTML is neither sanitised nor rewritten here: a later stage cleans it, and doing it
twice is slow.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import feedparser
from newsbeam.transforms.feeds import encodings
from newsbeam.transforms.feeds.entries import (
    FeedParseError,
    ParsedFeed,
    parsed_feed,
    with_outlet,
)
from newsbeam.transforms.feeds.fastpath import fast_parse
from newsbeam.transforms.feeds.jsonfeed import parse_json_feed
from newsbeam.transforms.feeds.sources import is_url

_TEXT_ENCODING = re.compile(r"""\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:\-]+)""")
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


def parse_feed(
    body: bytes,
    feed_url: str,
    fetched_at: datetime,
    *,
    content_type: str | None = None,
    outlet: str | None = None,
    outlet_country: str | None = None,
) -> ParsedFeed:
    """The feed's title and items; raises ``FeedParseError`` if the body is no feed.

    A feed with XML errors that still yields entries is accepted (feedparser's
    bozo flag): real feeds are often slightly broken and their items still good.
    Well-formed UTF-8 RSS and Atom take the lxml fast path, which gives exactly what
    feedparser gives; every other body, and any feed the fast path is not sure
    about, goes to feedparser. ``outlet`` and ``outlet_country`` (from the feed
    list) override the feed's title and its domain's country on every item.
    """
    return with_outlet(
        _parse(body, feed_url, fetched_at, content_type), outlet, outlet_country
    )


def _parse(
    body: bytes, feed_url: str, fetched_at: datetime, content_type: str | None
) -> ParsedFeed:
    if encodings.decode(body, 256).lstrip("\ufeff \t\r\n").startswith("{"):
        return parse_json_feed(body, feed_url, fetched_at)
    body, headers = prepare_xml(body, feed_url, content_type)
    fast = fast_parse(body, feed_url, fetched_at, headers)
    if fast is not None:
        return fast
    return feedparser_parse(body, feed_url, fetched_at, headers)


def prepare_xml(
    body: bytes, feed_url: str, content_type: str | None
) -> tuple[bytes, dict[str, str]]:
    """The repaired body and the headers both XML paths parse with.

    ``fast_parse`` and ``feedparser_parse`` take what this returns; the tests
    call each on it to hold the fast path to feedparser's result.
    """
    headers = feedparser_headers(feed_url, content_type)
    transcoded = utf8_from_wide(body)
    if transcoded is not None:
        body = transcoded
        if "content-type" in headers:  # the mark or the bytes outrank a header
            headers["content-type"] = "application/xml; charset=utf-8"
    return safe_charrefs(without_wide_lie(body)), headers


def utf8_from_wide(body: bytes) -> bytes | None:
    """A UTF-16 or UTF-32 body as UTF-8, declared so; None for any other body.

    feedparser 6.0 trusts a byte-order mark only when an XML declaration names a
    wide encoding too, and spots a wide body without a mark only when it starts
    with ``<?xml``: a UTF-16 feed that starts with a comment, or has a mark but no
    declaration, it decodes as UTF-8 and refuses. The XML specification (appendix
    F) reads both, and so does this. A body whose bytes do not decode is left to
    feedparser, which reports it.
    """
    encoding, skip = encodings.bom_encoding(body)
    if not encoding:
        encoding = encodings.wide_encoding(body)
    if not encoding.startswith(("utf-16", "utf-32")):
        return None
    try:
        text = body[skip:].decode(encoding)
    except UnicodeDecodeError:
        return None
    declared = _TEXT_ENCODING.match(text)
    if declared:
        text = text[: declared.start(1)] + "utf-8" + text[declared.end(1) :]
    return text.encode("utf-8", "surrogatepass")


def feedparser_headers(feed_url: str, content_type: str | None) -> dict[str, str]:
    """The response headers feedparser is given: they choose charset and base URL."""
    headers = {}
    if content_type and "charset=" in content_type.lower():
        headers["content-type"] = content_type
    if is_url(feed_url):
        headers["content-location"] = feed_url  # base for relative entry links
    return headers


def feedparser_parse(
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
    return parsed_feed(
        parsed.get("feed", {}), parsed.get("entries", []), feed_url, fetched_at
    )


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
    return replace_forbidden_charrefs(body)


def replace_forbidden_charrefs(body: bytes) -> bytes:
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


def without_wide_lie(body: bytes) -> bytes:
    """The body with a UTF-16/32 declaration made UTF-8 when its bytes are 8-bit.

    ``<?xml`` in single bytes cannot be UTF-16 (which needs a byte-order mark);
    believing the declaration turns the whole feed into junk, or, depending on
    whether the byte count is even, into a parse error.
    """
    declared = encodings.XML_ENCODING.match(body[:256])
    if declared is None or not encodings.codec(
        declared.group(1).decode("ascii")
    ).startswith(("utf-16", "utf-32")):
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
    used = encodings.codec(str(parsed.get("encoding") or ""))
    if used not in ("iso8859-1", "cp1252"):
        return False
    declared = encodings.XML_ENCODING.match(body[:256])
    return (
        declared is None or encodings.codec(declared.group(1).decode("ascii")) != used
    )


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
