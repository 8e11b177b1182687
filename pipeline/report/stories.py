"""Stories: which articles a report is about, named once in a TOML file.

A story is a set of actor ids that must all be mentioned in an article (``match =
"all"``, the default) or any one of them (``match = "any"``), optionally narrowed to
articles that contain at least one of its keywords. Its *sides* are the countries whose
voices and press the report compares (UK voices vs Russian voices for ``uk-russia``);
by default they are the countries of the story's own actors, found in the data.

The file is a table per story::

    [uk-russia]
    title = "The United Kingdom and Russia"
    actors = ["united-kingdom", "russia"]
    match = "all"                       # or "any"
    keywords = []                       # any of them, case-insensitive, whole words
    sides = ["united-kingdom", "russia"]

Everything wrong with a file or a story is a ``ReportError`` with one line that says
what to change, because a person wrote the file by hand.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

MATCHES = ("all", "any")
# Looked for in this order when --stories is not given: a project's own file first.
DEFAULT_STORY_FILES = ("stories.toml", "examples/stories.toml")
_KEYS = {"title", "description", "actors", "match", "keywords", "sides"}


class ReportError(ValueError):
    """A mistake in what the user asked for: printed as one line, exit code 2."""


@dataclass(frozen=True)
class Story:
    """What a report is about: plain values, so queries and tests need no file."""

    name: str
    actors: tuple[str, ...]
    match: str = "all"
    keywords: tuple[str, ...] = ()
    title: str = ""
    description: str = ""
    sides: tuple[str, ...] = field(default=())  # country actor ids; () = from actors

    def __post_init__(self) -> None:
        if not self.actors:
            raise ReportError(f"story {self.name!r} names no actors")
        if self.match not in MATCHES:
            raise ReportError(
                f"story {self.name!r}: match must be 'all' or 'any', not {self.match!r}"
            )

    @property
    def label(self) -> str:
        return self.title or self.name


def split_list(value: str | None) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")``: the comma lists of the command line."""
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def find_story_file(explicit: str | None, cwd: Path | None = None) -> Path:
    """The stories file to read: ``--stories`` when given, else the first default."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ReportError(f"stories file not found: {explicit}")
        return path
    base = cwd or Path.cwd()
    for name in DEFAULT_STORY_FILES:
        if (base / name).is_file():
            return base / name
    raise ReportError(
        "no stories file: pass --stories FILE (looked for "
        + " and ".join(DEFAULT_STORY_FILES)
        + ")"
    )


def load_stories(path: Path) -> dict[str, Story]:
    """Every story in a TOML file, checked: unknown keys and wrong types are errors."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ReportError(f"{path}: not valid TOML: {error}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: cannot read it: {error}") from error
    stories = {}
    for name, table in document.items():
        if not isinstance(table, dict):
            raise ReportError(
                f"{path}: {name!r} is not a story table; write [{name}] above its keys"
            )
        stories[name] = _story(path, name, table)
    return stories


def _story(path: Path, name: str, table: dict) -> Story:
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ReportError(
            f"{path}: story {name!r} has unknown key {unknown[0]!r} "
            f"(known: {', '.join(sorted(_KEYS))})"
        )

    def strings(key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ReportError(
                f"{path}: story {name!r}: {key} must be a list of strings"
            )
        return tuple(v.strip() for v in value if v.strip())

    def text(key: str) -> str:
        value = table.get(key, "")
        if not isinstance(value, str):
            raise ReportError(f"{path}: story {name!r}: {key} must be a string")
        return value

    return Story(
        name=name,
        actors=strings("actors"),
        match=text("match") or "all",
        keywords=strings("keywords"),
        title=text("title"),
        description=text("description"),
        sides=strings("sides"),
    )


def pick_story(stories: dict[str, Story], name: str, path: Path) -> Story:
    if name in stories:
        return stories[name]
    close = difflib.get_close_matches(name, list(stories), n=3, cutoff=0.4)
    hint = (
        f"did you mean {', '.join(close)}?"
        if close
        else "known: " + ", ".join(sorted(stories))
    )
    raise ReportError(f"no story {name!r} in {path}: {hint}")


def keyword_pattern(keywords: Iterable[str]) -> str | None:
    """One case-insensitive RE2 pattern matching any keyword as a whole word.

    Whole words, so ``oil`` does not select every article about "turmoil"; the
    keywords are escaped, so ``U.K.`` means the letters, not any character. The
    boundaries are non-word characters rather than ``\\b``, which would refuse a
    keyword that ends in punctuation ("U.K." before a space).
    """
    words = [re.escape(word) for word in keywords if word]
    if not words:
        return None
    return r"(?i)(?:^|\W)(?:" + "|".join(words) + r")(?:\W|$)"


def suggest(unknown: str, known: dict[str, str], n: int = 3) -> list[str]:
    """The ids closest to an unknown one, by id and by name (``known``: id -> name).

    A person types "uk" or "Russia" as often as the id itself, so names count too:
    "Russia" finds ``russia`` through its name, "putin" finds ``vladimir-putin``
    because one word of the id matches.
    """
    key = unknown.lower().strip()
    by_name: dict[str, str] = {}
    for actor_id, name in known.items():
        by_name.setdefault((name or "").lower(), actor_id)
    found: list[str] = []

    def add(ids: Iterable[str]) -> None:
        for actor_id in ids:
            if actor_id not in found:
                found.append(actor_id)

    add(by_name[n] for n in difflib.get_close_matches(key, list(by_name), n, 0.7))
    add(difflib.get_close_matches(key, list(known), n, 0.7))
    words = {w for w in re.split(r"[\s\-.]+", key) if len(w) > 2}
    if words:
        add(sorted(i for i in known if words & set(i.split("-")))[:n])
    return found[:n]
