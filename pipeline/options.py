"""newsbeam's pipeline options: one ``PipelineOptions`` subclass, a help on each."""

from __future__ import annotations

import argparse
import math

from apache_beam.options.pipeline_options import PipelineOptions
from newsbeam.schemas.layout import LAYOUTS
from newsbeam.transforms.fetch import PAGE_CONCURRENCY
from newsbeam.transforms.nlp import DEFAULT_MODEL, PIPE_BATCH_SIZE

MIB = 1024 * 1024


# Value types: a bad value is one line naming the option and what it takes.
def _number(text: str, cast, minimum: float, strict: bool, expected: str):
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def seconds(text: str) -> float:
    return _number(text, float, 0, True, "a positive number (e.g. 10 or 2.5)")


def seconds_or_zero(text: str) -> float:
    return _number(text, float, 0, False, "a number of at least 0 (e.g. 0.5)")


def count(text: str) -> int:
    return _number(text, int, 0, False, "a whole number of at least 0")


def positive_int(text: str) -> int:
    return _number(text, int, 0, True, "a whole number of at least 1")


class NewsbeamOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--feeds",
            action="append",
            default=[],
            help="A feed URL, a local feed file, or a feed list: text (one feed per "
            'line, # comments, optional outlet="Name" country=XX), CSV (url,outlet,'
            "country), TOML ([[feed]] tables) or OPML. Repeat for several.",
        )
        parser.add_argument(
            "--output",
            help="Output directory: a local path or any filesystem Beam knows "
            "(gs://, s3://).",
        )
        parser.add_argument(
            "--layout",
            choices=list(LAYOUTS),
            default=None,
            help="How datasets are laid out under a new output: date (default: a "
            "folder per day, rows sorted by actor) or date-actor (also a folder per "
            "actor). An existing output keeps the layout recorded in it; asking for "
            "the other one is refused.",
        )
        parser.add_argument(
            "--fetch-articles",
            "--fetch_articles",
            dest="fetch_articles",
            choices=["auto", "always", "never"],
            default="auto",
            help="Fetch the linked page for its full text: auto = only when the feed "
            "gives fewer than ~150 words (default), always, or never.",
        )
        parser.add_argument(
            "--spacy-model",
            "--spacy_model",
            dest="spacy_model",
            default=DEFAULT_MODEL,
            help=f"Any installed spaCy pipeline (package name or path); default "
            f"{DEFAULT_MODEL}.",
        )
        parser.add_argument(
            "--actor-aliases",
            "--actor_aliases",
            dest="actor_aliases",
            default=None,
            help="A file of extra actor aliases (see README) merged over the "
            "built-in table.",
        )
        parser.add_argument(
            "--allow-private-network",
            "--allow_private_network",
            dest="allow_private_network",
            action="store_true",
            default=False,
            help="Let article links and redirects reach loopback and private "
            "addresses (refused by default).",
        )
        parser.add_argument(
            "--http-timeout",
            "--http_timeout",
            dest="http_timeout",
            type=seconds,
            default=10.0,
            help="Seconds to connect and between bytes read, per request (default 10).",
        )
        parser.add_argument(
            "--http-deadline",
            "--http_deadline",
            dest="http_deadline",
            type=seconds,
            default=30.0,
            help="Seconds one request may take in all, slow bodies, redirects and "
            "retries included (default 30).",
        )
        parser.add_argument(
            "--http-retries",
            "--http_retries",
            dest="http_retries",
            type=count,
            default=2,
            help="Retries after a 429, a 5xx or a dropped connection (default 2).",
        )
        parser.add_argument(
            "--host-concurrency",
            "--host_concurrency",
            dest="host_concurrency",
            type=count,
            default=2,
            help="Most requests in flight to one host, per worker (default 2; 0: no "
            "limit).",
        )
        parser.add_argument(
            "--host-delay",
            "--host_delay",
            dest="host_delay",
            type=seconds_or_zero,
            default=0.0,
            help="Least seconds between two requests to one host, per worker "
            "(default 0).",
        )
        parser.add_argument(
            "--page-concurrency",
            "--page_concurrency",
            dest="page_concurrency",
            type=int,
            default=PAGE_CONCURRENCY,
            help=f"Most article pages fetched at once, per worker (default "
            f"{PAGE_CONCURRENCY}); each host still gets at most --host-concurrency.",
        )
        parser.add_argument(
            "--contact-url",
            "--contact_url",
            dest="contact_url",
            default=None,
            help="A URL or mailto: address where site owners can reach whoever runs "
            "this crawl; sent in the User-Agent (newsbeam/VERSION (+URL)). Default: "
            "the newsbeam project page.",
        )
        parser.add_argument(
            "--ignore-robots",
            "--ignore_robots",
            dest="ignore_robots",
            action="store_true",
            default=False,
            help="Fetch article pages without reading robots.txt (nor its "
            "Crawl-delay). Only for sites whose owners have given you permission: "
            "by default newsbeam obeys robots.txt for every page it fetches.",
        )
        parser.add_argument(
            "--max-feed-bytes",
            "--max_feed_bytes",
            dest="max_feed_bytes",
            type=positive_int,
            default=10 * MIB,
            help="Largest body accepted, after decompression (default 10 MiB).",
        )
        parser.add_argument(
            "--nlp-batch-size",
            "--nlp_batch_size",
            dest="nlp_batch_size",
            type=positive_int,
            default=PIPE_BATCH_SIZE,
            help=f"Texts per nlp.pipe batch (default {PIPE_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--poll-interval",
            "--poll_interval",
            dest="poll_interval",
            type=seconds,
            default=300.0,
            help="With --streaming: seconds between polls of every feed (default 300).",
        )
        parser.add_argument(
            "--max-polls",
            "--max_polls",
            dest="max_polls",
            type=positive_int,
            default=None,
            help="With --streaming: stop after this many polls (default: never).",
        )
        parser.add_argument(
            "--duration",
            dest="duration",
            type=seconds,
            default=None,
            help="With --streaming: stop after this many seconds (default: never).",
        )
        parser.add_argument(
            "--window-seconds",
            "--window_seconds",
            dest="window_seconds",
            type=seconds,
            default=60.0,
            help="With --streaming: rows are committed to Parquet once per window of "
            "this many seconds (default 60).",
        )
        parser.add_argument(
            "--dedup-retention-hours",
            "--dedup_retention_hours",
            dest="dedup_retention_hours",
            type=seconds,
            default=14 * 24.0,
            help="With --streaming: how long an article id is remembered to drop "
            "repeats across polls (default 336 h = 14 days).",
        )
        parser.add_argument(
            "--fail-on-feed-errors",
            "--fail_on_feed_errors",
            dest="fail_on_feed_errors",
            nargs="?",
            const="all",
            choices=["all", "any", "never"],
            default="never",
            help="Exit with code 3 when every feed failed (all, the value when none "
            "is given) or when any feed failed (any), for schedulers; default never: "
            "failed feeds are dead letters and the run exits 0.",
        )
        parser.add_argument(
            "--quiet",
            dest="quiet",
            action="store_true",
            default=False,
            help="Print nothing but errors: no progress display, no summary (the run "
            "record still has it all).",
        )
        parser.add_argument(
            "--run-id",
            "--run_id",
            dest="run_id",
            default=None,
            help="Name of this run's record under OUTPUT/_runs/ (default: UTC time "
            "plus a random suffix).",
        )
        parser.add_argument(
            "--print-graph",
            "--print_graph",
            dest="print_graph",
            action="store_true",
            help="Print the pipeline graph these options would run (batch, or "
            "streaming with --streaming) as Graphviz DOT, and exit without running "
            "or writing anything. Render it with: dot -Tsvg -o graph.svg.",
        )
