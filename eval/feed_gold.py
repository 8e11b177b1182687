"""Actor identities annotated on real feed items (``eval/gold/actors/*.txt``).

The feeds are fixtures in ``../shared/fixtures/feeds`` (real items from the Guardian
and Talking Points Memo that nobody on this project wrote); they are read in place and
turned into article text exactly as the pipeline does (``parse_feed`` then
``convert_item``), so offsets are the offsets a run would write. Only the
annotations live in the repository. ``eval/gold/actors/README.md`` gives the format
and the annotation guidelines.

An annotation names a written form and the real-world actor it refers to; every
whole-word occurrence of the form in that article is a gold mention. Longer forms
claim their characters first ("West Virginia" before "Virginia"), and the identity
``-`` claims characters without making a mention ("Jimmy Kimmel Live" is a show, so
the "Jimmy Kimmel" inside it is not a mention of the man).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

GOLD_DIR = Path(__file__).resolve().parent / "gold" / "actors"
SKIP = "-"


class GoldFormatError(ValueError):
    """A gold file that does not parse, or no longer matches its fixture."""


@dataclass(frozen=True, slots=True)
class AnnotatedItem:
    fixture: str  # path under ../shared/fixtures, or the texts folder (``texts``)
    key: str  # the item's guid (or link)
    split: str  # dev | final
    forms: tuple[tuple[str, str], ...]  # (written form, identity), in file order


@dataclass(frozen=True, slots=True)
class FeedArticle:
    """One annotated feed item as the pipeline sees it, with its gold spans."""

    name: str  # fixture stem and item number, unique across sets
    split: str
    text: str
    spans: tuple[tuple[int, int, str], ...]  # start, end, identity


def read_gold_file(path: Path) -> list[AnnotatedItem]:
    """The annotated items of one gold file (see README.md beside it)."""
    fixture = ""
    items: list[AnnotatedItem] = []
    header: tuple[str, str] | None = None
    forms: list[tuple[str, str]] = []

    def close() -> None:
        if header is not None:
            items.append(AnnotatedItem(fixture, header[1], header[0], tuple(forms)))

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(("# fixture:", "# texts:")):
            fixture = line.split(":", 1)[1].split("(", 1)[0].strip()
        elif not line.strip() or line.startswith("# "):
            continue
        elif line.startswith("= "):
            close()
            parts = line[2:].split(None, 1)
            if len(parts) != 2 or parts[0] not in ("dev", "final"):
                raise GoldFormatError(f"{path}:{number}: expected '= dev|final KEY'")
            header, forms = (parts[0], parts[1].strip()), []
        else:
            form, sep, identity = line.partition("\t")
            if not sep or not form or not identity.strip() or header is None:
                raise GoldFormatError(f"{path}:{number}: expected 'FORM<TAB>IDENTITY'")
            forms.append((form, identity.strip()))
    close()
    if not fixture:
        raise GoldFormatError(f"{path}: no '# fixture:' or '# texts:' line")
    return items


def gold_spans(
    text: str, forms: Iterable[tuple[str, str]]
) -> list[tuple[int, int, str]]:
    """Every whole-word occurrence of each form, longest forms first, no overlaps.

    Raises ``GoldFormatError`` for a form that occurs nowhere: a typo, or a fixture
    that changed under the annotation.
    """
    claimed = bytearray(len(text))
    spans = []
    for form, identity in sorted(forms, key=lambda f: -len(f[0])):
        found = False
        start = text.find(form)
        while start >= 0:
            end = start + len(form)
            before = text[start - 1] if start else " "
            after = text[end] if end < len(text) else " "
            whole_word = not before.isalnum() and not after.isalnum()
            if whole_word and not any(claimed[start:end]):
                claimed[start:end] = b"\1" * (end - start)
                found = True
                if identity != SKIP:
                    spans.append((start, end, identity))
            start = text.find(form, start + 1)
        if not found:
            raise GoldFormatError(f"form {form!r} ({identity}) occurs nowhere")
    return sorted(spans)


def feed_articles(fixtures: Path, gold_dir: Path = GOLD_DIR) -> list[FeedArticle]:
    """All annotated feed items, their text as the pipeline makes it, and gold spans."""
    from newsbeam.transforms.feeds import parse_feed
    from newsbeam.transforms.text import convert_item

    articles = []
    for gold in sorted(gold_dir.glob("*.txt")):
        items = read_gold_file(gold)
        if not items:
            continue
        feed = fixtures / items[0].fixture
        parsed = parse_feed(
            feed.read_bytes(), str(feed), datetime(2024, 1, 1, tzinfo=UTC)
        )
        by_key = {}
        for number, item in enumerate(parsed.items):
            by_key[item.guid or item.link] = (number, item)
        for annotated in items:
            if annotated.key not in by_key:
                raise GoldFormatError(f"{gold}: no item {annotated.key!r} in {feed}")
            number, item = by_key[annotated.key]
            article, _notes = convert_item(item)
            try:
                spans = gold_spans(article.text, annotated.forms)
            except GoldFormatError as e:
                raise GoldFormatError(f"{gold}: item {annotated.key}: {e}") from e
            articles.append(
                FeedArticle(
                    name=f"{feed.stem}-{number:02d}",
                    split=annotated.split,
                    text=article.text,
                    spans=tuple(spans),
                )
            )
    return articles


def text_articles(gold: Path, root: Path = GOLD_DIR.parents[2]) -> list[FeedArticle]:
    """Annotated plain-text articles: a gold file whose ``# texts:`` line names a folder
    of the repository holding ``KEY.txt`` for each item (the Wikinews articles that the
    quotes evaluation stores). The text is read as it is, so offsets are the file's."""
    articles = []
    for annotated in read_gold_file(gold):
        text = (root / annotated.fixture / f"{annotated.key}.txt").read_text(
            encoding="utf-8"
        )
        try:
            spans = gold_spans(text, annotated.forms)
        except GoldFormatError as e:
            raise GoldFormatError(f"{gold}: item {annotated.key}: {e}") from e
        articles.append(FeedArticle(annotated.key, annotated.split, text, tuple(spans)))
    return articles


def fingerprint(articles: Iterable[FeedArticle]) -> str:
    """A short hash of the texts and spans, to tell whether two runs saw one set."""
    digest = hashlib.sha256()
    for a in articles:
        digest.update(f"{a.name}\0{a.text}\0{a.spans}\0".encode())
    return digest.hexdigest()[:12]
