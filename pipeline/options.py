"""newsbeam's pipeline options: one ``PipelineOptions`` subclass, a help on each."""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions
from newsbeam.schemas.layout import LAYOUTS
from newsbeam.transforms.nlp import DEFAULT_MODEL, PIPE_BATCH_SIZE

MIB = 1024 * 1024


class NewsbeamOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--feeds",
            action="append",
            default=[],
            help="A feed URL, a local feed file, a text file listing feeds (one per "
            "line, # comments) or an OPML file. Repeat for several.",
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
            type=float,
            default=10.0,
            help="Seconds to connect and between bytes read, per request (default 10).",
        )
        parser.add_argument(
            "--http-deadline",
            "--http_deadline",
            dest="http_deadline",
            type=float,
            default=30.0,
            help="Seconds one request may take in all, slow bodies, redirects and "
            "retries included (default 30).",
        )
        parser.add_argument(
            "--http-retries",
            "--http_retries",
            dest="http_retries",
            type=int,
            default=2,
            help="Retries after a 429, a 5xx or a dropped connection (default 2).",
        )
        parser.add_argument(
            "--host-concurrency",
            "--host_concurrency",
            dest="host_concurrency",
            type=int,
            default=2,
            help="Most requests in flight to one host, per worker (default 2; 0: no "
            "limit).",
        )
        parser.add_argument(
            "--host-delay",
            "--host_delay",
            dest="host_delay",
            type=float,
            default=0.0,
            help="Least seconds between two requests to one host, per worker "
            "(default 0).",
        )
        parser.add_argument(
            "--max-feed-bytes",
            "--max_feed_bytes",
            dest="max_feed_bytes",
            type=int,
            default=10 * MIB,
            help="Largest body accepted, after decompression (default 10 MiB).",
        )
        parser.add_argument(
            "--nlp-batch-size",
            "--nlp_batch_size",
            dest="nlp_batch_size",
            type=int,
            default=PIPE_BATCH_SIZE,
            help=f"Texts per nlp.pipe batch (default {PIPE_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--poll-interval",
            "--poll_interval",
            dest="poll_interval",
            type=float,
            default=300.0,
            help="With --streaming: seconds between polls of every feed (default 300).",
        )
        parser.add_argument(
            "--max-polls",
            "--max_polls",
            dest="max_polls",
            type=int,
            default=None,
            help="With --streaming: stop after this many polls (default: never).",
        )
        parser.add_argument(
            "--duration",
            dest="duration",
            type=float,
            default=None,
            help="With --streaming: stop after this many seconds (default: never).",
        )
        parser.add_argument(
            "--window-seconds",
            "--window_seconds",
            dest="window_seconds",
            type=float,
            default=60.0,
            help="With --streaming: rows are committed to Parquet once per window of "
            "this many seconds (default 60).",
        )
        parser.add_argument(
            "--dedup-retention-hours",
            "--dedup_retention_hours",
            dest="dedup_retention_hours",
            type=float,
            default=14 * 24.0,
            help="With --streaming: how long an article id is remembered to drop "
            "repeats across polls (default 336 h = 14 days).",
        )
        parser.add_argument(
            "--run-id",
            "--run_id",
            dest="run_id",
            default=None,
            help="Name of this run's record under OUTPUT/_runs/ (default: UTC time "
            "plus a random suffix).",
        )
