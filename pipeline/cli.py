"""The ``newsbeam`` command: ``ingest`` runs the pipeline, ``query`` reads its output.

A thin layer: argument errors become one line on stderr and exit code 2; a job that ran
exits 0 even when some feeds or items failed, because those are dead letters in the
output, counted in the summary.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time

EXIT_USAGE = 2
EXIT_JOB_FAILED = 1

USAGE = """\
usage: newsbeam ingest --feeds SRC [--feeds SRC ...] --output DIR
                       [--fetch-articles auto|always|never] [--spacy-model NAME]
                       [--actor-aliases FILE] [any Beam pipeline option]
       newsbeam query DIR "SQL" [--format table|csv|json]
       newsbeam compact DIR [--dataset NAME] [--until DATE] [--target-file-size BYTES]

Run 'newsbeam COMMAND --help' for the options of each command."""


def _quiet_beam() -> None:
    """Beam's import-time chatter is not for the person running newsbeam."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for name in ("apache_beam", "absl", "root"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("newsbeam").setLevel(logging.INFO)


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"newsbeam: error: {message}", file=sys.stderr)
    return code


def format_summary(record: dict, output: str, record_path: str) -> str:
    counts = record["counts"]
    if record.get("pipeline_started", True):
        headline = f"newsbeam ingest: run {record['run_id']} on {record['runner']}"
    else:
        headline = (
            f"newsbeam ingest: run {record['run_id']}: no feed changed since the "
            "last run, so no pipeline was started"
        )
    lines = [
        headline,
        f"  feeds read          {counts['feeds']} ({counts['feeds_failed']} failed)",
        f"  items seen          {counts['items_seen']}",
        f"  articles written    {counts['articles_written']}",
        f"  duplicates dropped  {counts['duplicates']}",
        f"  mentions            {counts['mentions']}",
        f"  quotes              {counts['quotes']}",
        f"  dead letters        {counts['dead_letters']} "
        f"(items {counts['dead_letters_items']}, feeds {counts['dead_letters_feeds']})",
        f"  files written       {counts['files_written']}",
        f"  elapsed             {record['elapsed_seconds']:.1f} s",
        f"  output              {output}",
        f"  run record          {record_path}",
    ]
    failed = [f for f in record["feeds"] if f["status"] == "failed"]
    for feed in failed[:10]:
        lines.append(f"  failed feed         {feed['feed']}: {feed['error']}")
    if len(failed) > 10:
        lines.append(f"  ... and {len(failed) - 10} more failed feeds (see run record)")
    return "\n".join(lines)


def ingest(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        from newsbeam.pipeline.options import NewsbeamOptions

        parser = argparse.ArgumentParser(
            prog="newsbeam ingest",
            description="Read feeds, extract mentions and quotes, write Parquet.",
            epilog="--streaming polls the feeds until stopped (see --poll-interval). "
            "Any Beam pipeline option is accepted too, e.g. --runner, "
            "--direct_num_workers, --direct_running_mode.",
        )
        NewsbeamOptions._add_argparse_args(parser)
        parser.print_help()
        return 0
    from apache_beam.options.pipeline_options import PipelineOptions
    from newsbeam.pipeline.runner import UsageError, run

    unknown = _unknown_flags(PipelineOptions, argv)
    if unknown:
        return _fail(f"unknown option {unknown[0]} (see 'newsbeam ingest --help')")
    started = time.monotonic()
    try:
        outcome = run(argv)
    except UsageError as error:
        return _fail(str(error))
    if outcome.record is None:
        return _fail(
            f"the job ended without a run record at {outcome.record_path}",
            EXIT_JOB_FAILED,
        )
    output = outcome.record_path.rsplit("/_runs/", 1)[0]
    print(format_summary(outcome.record, output, outcome.record_path))
    logging.getLogger("newsbeam").debug("wall time %.1f s", time.monotonic() - started)
    return 0


def _unknown_flags(options_class, argv: list[str]) -> list[str]:
    """Flags neither newsbeam nor Beam knows: a typo should not be silently ignored."""
    from apache_beam.options.pipeline_options import _BeamArgumentParser

    parser = _BeamArgumentParser(allow_abbrev=False)
    for cls in options_class.__subclasses__() + [options_class]:
        _add_all(parser, cls)
    _known, unknown = parser.parse_known_args(argv)
    return [u for u in unknown if u.startswith("-")]


def _add_all(parser, cls) -> None:
    for sub in cls.__subclasses__():
        _add_all(parser, sub)
    if "_add_argparse_args" in vars(cls):
        with contextlib.suppress(argparse.ArgumentError):  # defined by two classes
            cls._add_argparse_args(parser)


def query(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="newsbeam query",
        description="Run SQL (DuckDB) over a newsbeam output directory. Views: "
        "articles, mentions, quotes, dead_letters, actors (date DATE is the "
        "partition column, in either layout).",
    )
    parser.add_argument("output", help="The --output directory of newsbeam ingest.")
    parser.add_argument("sql", help='SQL, e.g. "SELECT count(*) FROM quotes".')
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
    args = parser.parse_args(argv)
    import duckdb
    from newsbeam.pipeline.query import run_query
    from newsbeam.schemas.layout import LayoutError

    try:
        print(run_query(args.output, args.sql, args.format))
    except (FileNotFoundError, LayoutError) as error:
        return _fail(str(error))
    except duckdb.Error as error:
        return _fail(f"query failed: {' '.join(str(error).split())}")
    return 0


def compact(argv: list[str]) -> int:
    """``newsbeam compact``: imported when used, since it loads Beam's filesystems."""
    from newsbeam.pipeline.compact import main as compact_main

    return compact_main(argv)


# Each subcommand takes its arguments (after the command name) and returns the exit
# code; a new one is a function here or in its own module, and one line below.
COMMANDS = {
    "ingest": ingest,
    "query": query,
    "compact": compact,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else EXIT_USAGE
    if argv[0] == "--version":
        from importlib.metadata import version

        print(f"newsbeam {version('newsbeam')}")
        return 0
    command, rest = argv[0], argv[1:]
    _quiet_beam()
    handler = COMMANDS.get(command)
    if handler is None:
        known = ", ".join(f"'{name}'" for name in COMMANDS)
        return _fail(f"unknown command {command!r}: use one of {known}")
    return handler(rest)


def console() -> None:
    """The ``newsbeam`` command: ``main``, then exit without tearing down.

    Everything is written and flushed when ``main`` returns; freeing a loaded spaCy
    model object by object would only add ~0.2 s before the process ends anyway.
    """
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
