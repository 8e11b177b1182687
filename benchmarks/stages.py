"""Stage costs, measured by timing newsbeam's pure functions in one process.

Run by ``bench.py`` in a fresh interpreter: ``stages.py CORPUS_DIR OUT_JSON``. Every
stage runs the same functions the pipeline's DoFns call, on the same corpus, so the
numbers say where an end-to-end second goes:

* feeds: ``read_local`` + digest + ``feeds.parse_feed`` per feed (what ``FetchFeedFn``
  does for a local feed), against plain ``feedparser.parse`` with its defaults;
* cleaning: ``text.item_to_article`` (HTML to text, ids, language, word count);
* NLP: ``nlp.pipe`` with the pipeline's batch size, model load timed apart;
* extraction: ``extract.analyse_doc`` (``entities.extract_mentions`` +
  ``quotes.extract_quotes`` + rows), also split into its two extractors;
* writing: ``sinks.write_file`` for every file of articles, mentions, quotes.

It also writes the analysed texts to ``texts.json`` beside the corpus for the ceiling.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

logging.disable(logging.WARNING)  # Beam's import-time chatter

import feedparser  # noqa: E402
from newsbeam.schemas import DATASETS  # noqa: E402
from newsbeam.schemas.layout import DEFAULT_LAYOUT  # noqa: E402
from newsbeam.transforms import extract, feeds, sinks, text  # noqa: E402
from newsbeam.transforms import nlp as nlp_stage  # noqa: E402
from newsbeam.transforms.actors import ActorRegistry  # noqa: E402
from newsbeam.transforms.common import utc_now  # noqa: E402
from newsbeam.transforms.entities import extract_mentions  # noqa: E402
from newsbeam.transforms.quotes import extract_quotes  # noqa: E402

REPEATS = 5  # cheap stages are timed this many times; the median is kept


def median_time(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def feed_stage(paths: list[str]) -> tuple[dict, list]:
    fetched_at = utc_now()
    max_bytes = 10 * 1024 * 1024

    def ours(path: str):
        body = feeds.read_local(path, max_bytes)
        hashlib.sha256(body).hexdigest()
        return feeds.parse_feed(body, path, fetched_at)

    per_feed = []
    for path in paths:
        newsbeam = median_time(lambda p=path: ours(p))
        plain = median_time(lambda p=path: feedparser.parse(p))
        per_feed.append(
            {
                "feed": Path(path).name,
                "bytes": Path(path).stat().st_size,
                "newsbeam_s": newsbeam,
                "feedparser_defaults_s": plain,
            }
        )
    items = [item for path in paths for item in ours(path).items]
    total_ours = sum(f["newsbeam_s"] for f in per_feed)
    total_plain = sum(f["feedparser_defaults_s"] for f in per_feed)
    return {
        "feeds": len(paths),
        "items": len(items),
        "newsbeam_s": total_ours,
        "newsbeam_per_feed_ms": 1000 * total_ours / len(paths),
        "feedparser_defaults_s": total_plain,
        "feedparser_defaults_per_feed_ms": 1000 * total_plain / len(paths),
        "speedup": total_plain / total_ours,
        "per_feed": per_feed,
    }, items


def cleaning_stage(items: list) -> tuple[dict, list]:
    articles = [text.item_to_article(item) for item in items]  # warms py3langid
    seconds = median_time(lambda: [text.item_to_article(i) for i in items], 3)
    return {
        "items": len(items),
        "seconds": seconds,
        "articles_per_s": len(items) / seconds,
        "ms_per_article": 1000 * seconds / len(items),
    }, articles


def nlp_stage_costs(articles: list, model: str, batch_size: int) -> tuple[dict, dict]:
    started = time.perf_counter()
    nlp = nlp_stage.load_model(model)
    registry = ActorRegistry.load(None)
    load_s = time.perf_counter() - started
    parse_s = analyse_s = mentions_s = quotes_s = 0.0
    parses = 0
    rows: dict[str, list] = {"articles": articles, "mentions": [], "quotes": []}
    texts = (a.text for a in articles)
    mark = time.perf_counter()
    for article, doc in zip(
        articles, nlp.pipe(texts, batch_size=batch_size), strict=True
    ):
        now = time.perf_counter()
        parse_s += now - mark
        parses += 1
        mentions, quotes = extract.analyse_doc(doc, article, registry)
        after = time.perf_counter()
        analyse_s += after - now
        extract_mentions(doc, registry)
        middle = time.perf_counter()
        extract_quotes(doc)
        end = time.perf_counter()
        mentions_s += middle - after
        quotes_s += end - middle
        rows["mentions"].extend(mentions)
        rows["quotes"].extend(quotes)
        mark = time.perf_counter()
    words = sum(a.word_count for a in articles)
    return {
        "model": model,
        "pipe_names": list(nlp.pipe_names),
        "batch_size": batch_size,
        "model_load_s": load_s,
        "parse_s": parse_s,
        "words": words,
        "words_per_s": words / parse_s,
        "articles_per_s": len(articles) / parse_s,
        "parses": parses,
        "articles": len(articles),
        "extraction_s": analyse_s,
        "extraction_share": analyse_s / parse_s,
        "mentions_s": mentions_s,
        "quotes_s": quotes_s,
        "mentions": len(rows["mentions"]),
        "quotes": len(rows["quotes"]),
    }, rows


def writing_stage(rows: dict[str, list]) -> dict:
    """``write_file`` for every file of the default layout, as the pipeline writes
    them (one per date and write shard)."""
    return _write_all(rows)


def _write_all(rows: dict[str, list]) -> dict:
    files = 0
    count = 0
    seconds = 0.0
    per_dataset = {}
    with tempfile.TemporaryDirectory(prefix="newsbeam-bench-write-") as output:
        for name, dataset_rows in rows.items():
            spec = DATASETS[name]
            groups = sinks.group_by_file(spec, dataset_rows, DEFAULT_LAYOUT)
            started = time.perf_counter()
            written = sum(
                len(sinks.write_file(output, spec, partition, part))
                for (partition, _shard), part in groups.items()
            )
            elapsed = time.perf_counter() - started
            per_dataset[name] = {
                "rows": len(dataset_rows),
                "files": written,
                "s": elapsed,
            }
            files += written
            count += len(dataset_rows)
            seconds += elapsed
    return {
        "rows": count,
        "files": files,
        "seconds": seconds,
        "rows_per_s": count / seconds,
        "files_per_s": files / seconds,
        "per_dataset": per_dataset,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default=nlp_stage.DEFAULT_MODEL)
    parser.add_argument("--batch-size", type=int, default=nlp_stage.PIPE_BATCH_SIZE)
    args = parser.parse_args(argv)
    paths = [s.feed for s in feeds.expand_sources([str(args.corpus / "feeds.txt")])]
    result: dict = {}
    result["feeds"], items = feed_stage(paths)
    result["cleaning"], articles = cleaning_stage(items)
    texts = [a.text for a in articles if a.language in nlp_stage.ANALYSED_LANGUAGES]
    (args.corpus / "texts.json").write_text(json.dumps(texts))
    analysed = [a for a in articles if a.language in nlp_stage.ANALYSED_LANGUAGES]
    result["nlp"], rows = nlp_stage_costs(analysed, args.model, args.batch_size)
    result["writing"] = writing_stage(rows)
    result["peak_rss_mb"] = peak_rss_mb()
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
