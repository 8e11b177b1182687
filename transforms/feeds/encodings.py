"""Which encoding a local file's bytes are in, before anyone knows what it holds.

A feed list, an OPML export and a feed file are told apart by their first
characters, and characters need an encoding first: a UTF-16 feed (a Windows tool's
default) has a NUL after every ASCII byte, so reading its bytes as text would find no
``<`` and take it for a list of paths. The rules are the XML specification's own
(appendix F, "Autodetection of Character Encodings"): a byte-order mark, else the
pattern of zero bytes around the first ASCII character, else the encoding the XML
declaration names, else UTF-8, else windows-1252.
"""

from __future__ import annotations

import codecs
import re

# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC
XML_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:\-]+)""")
HEAD_BYTES = 65536


def codec(name: str) -> str:
    """Python's canonical name for an encoding name, or '' if Python has none.

    A name from a damaged declaration may hold a NUL, which ``codecs.lookup``
    refuses with a ValueError, not a LookupError (found by the fuzz tests).
    """
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return ""


def bom_encoding(data: bytes) -> tuple[str, int]:
    """The encoding a byte-order mark announces and the mark's length, or ('', 0)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    return "", 0


def wide_encoding(data: bytes) -> str:
    """UTF-16 or UTF-32 without a mark, from where the zero bytes stand.

    A text that starts with an ASCII character (``<``, ``{``, ``#``, a letter or
    whitespace) has that character's byte next to one or three zero bytes.
    """
    head = data[:4]
    if len(head) < 4 or 0 not in head:
        return ""
    zeros = tuple(b == 0 for b in head)
    return {
        (True, True, True, False): "utf-32-be",
        (False, True, True, True): "utf-32-le",
        (True, False, True, False): "utf-16-be",
        (False, True, False, True): "utf-16-le",
    }.get(zeros, "")


def declared_encoding(data: bytes) -> str:
    """The encoding an ASCII-compatible XML declaration names, if Python knows it."""
    match = XML_ENCODING.match(data[:1024])
    if match is None:
        return ""
    return codec(match.group(1).decode("ascii"))


def detect(data: bytes) -> tuple[str, int]:
    """The encoding to read ``data`` with, and how many leading bytes to skip."""
    name, skip = bom_encoding(data)
    if name:
        return name, skip
    wide = wide_encoding(data)
    if wide:
        return wide, 0
    if data.startswith(_EBCDIC_XML):
        return "cp037", 0
    declared = declared_encoding(data)
    # A declaration of a wide encoding over 8-bit bytes is a lie (no NUL pattern).
    if declared and not declared.startswith(("utf-16", "utf-32")):
        return declared, 0
    try:
        data[:HEAD_BYTES].decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < HEAD_BYTES - 4:  # not just a character cut at the edge
            return "cp1252", 0
    return "utf-8", 0


def decode(data: bytes, limit: int | None = None) -> str:
    """``data`` (or its first ``limit`` bytes) as text; undecodable bytes become
    U+FFFD, so the caller can judge the text without a decoding error."""
    name, skip = detect(data)
    chunk = data[skip:] if limit is None else data[skip : skip + limit]
    if name.startswith(("utf-16", "utf-32")):  # never cut a code unit in half
        unit = 2 if name.startswith("utf-16") else 4
        chunk = chunk[: len(chunk) - len(chunk) % unit]
    return chunk.decode(name, "replace")
