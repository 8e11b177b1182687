"""The lxml fast path: feedparser's result for well-formed UTF-8 RSS and Atom, in C.

feedparser spends a feed's time in its Python SAX handlers. For well-formed UTF-8
RSS 2.0/0.9x, RSS 1.0 and Atom 1.0, lxml builds the tree in C and one walk over it
fills the same dicts feedparser would: element by element, the walk repeats what
feedparser's handlers store in the fields a FeedItem reads, and it reuses
feedparser's own pieces (dict type, date parser, URL join, HTML sniffing) so the two
paths cannot drift apart there. Anything the walk has not been audited for makes it
decline: ``fast_parse`` returns None and feedparser parses the feed. It declines on a
DOCTYPE or entity declaration, an encoding other than UTF-8, xml:base, XHTML or
base64 content, markup inside a text element, an element whose feedparser handler it
does not repeat, or any lxml error or warning. tests/test_feed_fastpath.py holds the
two paths equal on real feeds; feedparser is pinned to 6.0.x for this reason.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from feedparser.api import StrictFeedParser
from feedparser.datetimes import _parse_date
from feedparser.encodings import RE_XML_PI_ENCODING, parse_content_type
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict
from lxml import etree
from newsbeam.transforms.feeds import encodings
from newsbeam.transforms.feeds.entries import ParsedFeed, parsed_feed


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


def fast_parse(
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
    return parsed_feed(walk.feed, walk.entries, feed_url, fetched_at)


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
    return encodings.codec(chosen) == "utf-8"


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
    as far as the keys ``parsed_feed`` reads. ``title_depth`` and ``has_content``
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
