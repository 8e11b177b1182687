"""Quote extraction alone, or the whole extraction (``--analyse``), on ``make
bench``'s corpus: its time, its profile and a hash of every row it emits.

``python benchmarks/profile_extract.py [--analyse] [--profile 25] [--cache DIR]``

The corpus is built as ``bench.py`` builds it (``corpus.py``: same seed, same bytes)
and read through the pipeline's own feed and cleaning code, so the articles are the
ones ``stages.py`` times. Parsing is the slow part (about 36 s on two cores) and is
not what is measured here, so the parsed ``Doc`` objects are kept as ``DocBin``
bytes under ``--cache`` (default: the system's temporary folder), keyed by the
corpus text and the model; a second run only decodes them.

The time is that of ``extract_quotes`` over every article, the median of
``--repeat`` passes, as wall-clock and as CPU time. The hash covers every quote row
(``extract.quotes_of``, every field, in order), so a change meant to be only faster
proves it emits the same rows: run before and after, compare the hash.

``--analyse`` measures what ``stages.py`` counts as the extraction share instead:
``extract.analyse_doc`` per article, and apart from it its two halves, mentions
(``extract.mentions_of``) and quotes (``extract_quotes``). Its hash covers every
row ``analyse_doc`` returns, mentions and quotes, so it also guards the mentions.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import logging
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

logging.disable(logging.WARNING)  # Beam's import-time chatter

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus as corpus_builder  # noqa: E402
from newsbeam.transforms import extract, feeds, text  # noqa: E402
from newsbeam.transforms import nlp as nlp_stage  # noqa: E402
from newsbeam.transforms.actors import ActorRegistry  # noqa: E402
from newsbeam.transforms.quotes import extract_quotes  # noqa: E402


def bench_articles(folder: Path, articles: int) -> list:
    """The analysed articles of the bench corpus, as ``stages.py`` makes them."""
    corpus = corpus_builder.build(folder, articles=articles)
    paths = [s.feed for s in feeds.expand_sources([str(corpus.feed_list)])]
    fetched_at = datetime(2024, 3, 18, tzinfo=UTC)  # fixed: the rows are hashed
    items = []
    for path in paths:
        body = feeds.read_local(path, 10 * 1024 * 1024)
        items.extend(feeds.parse_feed(body, path, fetched_at).items)
    found = [text.item_to_article(item) for item in items]
    return [a for a in found if a.language in nlp_stage.ANALYSED_LANGUAGES]


def parsed_docs(articles: list, model: str, cache: Path) -> list:
    """The articles' parses, from the cache when this corpus and model were parsed
    before."""
    from spacy.tokens import DocBin

    nlp = nlp_stage.load_model(model)
    key = hashlib.sha256(model.encode())
    for article in articles:
        key.update(article.text.encode())
    path = cache / f"newsbeam-bench-docs-{key.hexdigest()[:16]}.spacy"
    if path.exists():
        return list(DocBin().from_disk(path).get_docs(nlp.vocab))
    started = time.perf_counter()
    docs = list(
        nlp.pipe((a.text for a in articles), batch_size=nlp_stage.PIPE_BATCH_SIZE)
    )
    print(f"parsed {len(docs)} articles in {time.perf_counter() - started:.1f} s")
    path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=False).to_disk(path)
    return docs


def rows_digest(articles: list, docs: list) -> tuple[str, int]:
    """A hash of every quote row the extractor makes, and how many rows there are."""
    registry = ActorRegistry.load(None)
    digest = hashlib.sha256()
    count = 0
    for article, doc in zip(articles, docs, strict=True):
        entities = extract.article_entities(doc, article, registry)
        for row in extract.quotes_of(doc, article, entities):
            digest.update(repr(row).encode())
            count += 1
    return digest.hexdigest(), count


def analyse_digest(articles: list, docs: list) -> tuple[str, int, int]:
    """A hash of every mention and quote row ``analyse_doc`` returns, and how many
    of each there are."""
    registry = ActorRegistry.load(None)
    digest = hashlib.sha256()
    mention_count = quote_count = 0
    for article, doc in zip(articles, docs, strict=True):
        mentions, quotes = extract.analyse_doc(doc, article, registry)
        for row in (*mentions, *quotes):
            digest.update(repr(row).encode())
        mention_count += len(mentions)
        quote_count += len(quotes)
    return digest.hexdigest(), mention_count, quote_count


def cpu_seconds(fn, articles: list, docs: list) -> float:
    """CPU seconds of ``fn(article, doc)`` over the corpus."""
    started = time.process_time()
    for article, doc in zip(articles, docs, strict=True):
        fn(article, doc)
    return time.process_time() - started


def extraction_parts(registry: ActorRegistry) -> dict[str, Callable]:
    """The whole extraction and its two halves, each as ``fn(article, doc)``."""
    return {
        "analyse_doc": lambda a, d: extract.analyse_doc(d, a, registry),
        "mentions": lambda a, d: extract.mentions_of(d, a, registry),
        "quotes": lambda a, d: extract_quotes(d, a.text),
    }


def analyse_times(articles: list, docs: list, repeat: int) -> dict[str, list[float]]:
    """CPU seconds of each pass of the whole extraction and of its two halves."""
    parts = extraction_parts(ActorRegistry.load(None))
    times: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(repeat):
        for name, fn in parts.items():
            times[name].append(cpu_seconds(fn, articles, docs))
    return times


def extraction_times(
    articles: list, docs: list, repeat: int
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each pass. On a shared machine the CPU time
    is the steadier figure: it leaves out the time other processes had the core."""
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        for article, doc in zip(articles, docs, strict=True):
            extract_quotes(doc, article.text)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=corpus_builder.ARTICLES)
    parser.add_argument("--model", default=nlp_stage.DEFAULT_MODEL)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="folder for the parsed corpus (DocBin), reused when it matches",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed passes; the median is kept"
    )
    parser.add_argument(
        "--analyse",
        action="store_true",
        help="time and hash the whole analyse_doc (mentions and quotes)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also print the N most expensive functions of one profiled pass",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newsbeam-profile-") as scratch:
        articles = bench_articles(Path(scratch) / "corpus", args.articles)
    docs = parsed_docs(articles, args.model, args.cache)
    if args.analyse:
        digest, mention_count, quote_count = analyse_digest(articles, docs)
        print(
            f"articles {len(articles)}  mention rows {mention_count}  "
            f"quote rows {quote_count}  sha256 {digest}"
        )
        for name, cpu in analyse_times(articles, docs, args.repeat).items():
            print(
                f"{name}: {statistics.median(cpu):.3f} s CPU "
                f"(median of {args.repeat}; fastest {min(cpu):.3f} s)"
            )
        profiled = extraction_parts(ActorRegistry.load(None))["analyse_doc"]
    else:
        digest, count = rows_digest(articles, docs)
        wall, cpu = extraction_times(articles, docs, args.repeat)
        print(f"articles {len(articles)}  quote rows {count}  sha256 {digest}")
        print(
            f"extract_quotes: {statistics.median(wall):.3f} s wall, "
            f"{statistics.median(cpu):.3f} s CPU (medians of {args.repeat}; "
            f"fastest {min(wall):.3f} s wall)"
        )
        profiled = extraction_parts(ActorRegistry.load(None))["quotes"]
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for article, doc in zip(articles, docs, strict=True):
            profiled(article, doc)
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats("tottime")
        stats.print_stats(args.profile)
        stats.sort_stats("cumulative").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
