"""newsbeam's pipeline options: one ``PipelineOptions`` subclass, a help on each."""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions

from transforms.nlp import DEFAULT_MODEL, PIPE_BATCH_SIZE

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
            "--run-id",
            "--run_id",
            dest="run_id",
            default=None,
            help="Name of this run's record under OUTPUT/_runs/ (default: UTC time "
            "plus a random suffix).",
        )
