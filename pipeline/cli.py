"""The ``newsbeam`` command: ``ingest`` runs the pipeline, ``query`` reads its output.

A thin layer: argument errors become one line on stderr and exit code 2; a job that ran
exits 0 even when some feeds or items failed, because those are dead letters in the
output, counted in the summary, unless ``--fail-on-feed-errors`` asks for exit code 3.

Exit codes: 0 the run finished (or the query answered); 1 the job failed without a
run record; 2 bad arguments, an unusable feed source, output or model (one line on
stderr, nothing was run); 3 feeds failed, as ``--fail-on-feed-errors`` asked to be
told; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import time

from newsbeam.pipeline.actor_list import actors
from newsbeam.pipeline.report.command import report

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_FEEDS_FAILED = 3
EXIT_INTERRUPTED = 130

USAGE = """\
usage: newsbeam ingest --feeds SRC [--feeds SRC ...] --output DIR
                       [--fetch-articles auto|always|never] [--spacy-model NAME]
                       [--actor-aliases FILE] [--fail-on-feed-errors [all|any]]
                       [--quiet] [any Beam pipeline option]
       newsbeam query DIR "SQL" [--format table|csv|json]
       newsbeam actors DIR [PATTERN] [--type TYPE] [--limit N] [--format ...]
       newsbeam report DIR (--story NAME | --actors ID,ID [--any]) [--by day|week|month]
                       [--from DATE] [--to DATE] [--format html|json|csv] [--out PATH]
       newsbeam compact DIR [--dataset NAME] [--until DATE] [--target-file-size BYTES]

Run 'newsbeam COMMAND --help' for the options of each command."""


def _quiet_beam() -> None:
    """Beam's import-time chatter is not for the person running newsbeam."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for name in ("apache_beam", "absl", "root"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("newsbeam").setLevel(logging.INFO)


# What a remote runner logs about the job it submitted, by runner: the Dataflow client
# logs "Created job with id: [ID]" (Airflow's Beam provider reads that line to cancel
# a timed-out job) and the console URL; the portable runners log the job's state
# changes. Local runners are absent: their INFO lines are noise to the user.
SUBMISSION_LOGGERS = {
    "DataflowRunner": ("apache_beam.runners.dataflow",),
    "TestDataflowRunner": ("apache_beam.runners.dataflow",),
    "PortableRunner": ("apache_beam.runners.portability.portable_runner",),
    "FlinkRunner": (
        "apache_beam.runners.portability.portable_runner",
        "apache_beam.runners.portability.flink_runner",
    ),
    "SparkRunner": ("apache_beam.runners.portability.portable_runner",),
}


def submission_loggers(runner: str | None) -> tuple[str, ...]:
    """The Beam loggers to show at INFO for ``--runner`` (by name or dotted path)."""
    return SUBMISSION_LOGGERS.get((runner or "").rsplit(".", 1)[-1], ())


def _show_job_submission(argv: list[str]) -> None:
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    runner = PipelineOptions(argv).view_as(StandardOptions).runner
    for name in submission_loggers(runner if isinstance(runner, str) else None):
        logging.getLogger(name).setLevel(logging.INFO)


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
            "--direct_num_workers, --direct_running_mode. Exit codes: 0 ran, 1 the "
            "job failed, 2 bad arguments, 3 feeds failed (--fail-on-feed-errors).",
        )
        NewsbeamOptions._add_argparse_args(parser)
        parser.print_help()
        return 0
    from apache_beam.options.pipeline_options import PipelineOptions
    from newsbeam.pipeline.options import NewsbeamOptions
    from newsbeam.pipeline.runner import UsageError, run

    problem = check_flags(PipelineOptions, argv)
    if problem:
        return _fail(problem)
    ours = PipelineOptions(argv).view_as(NewsbeamOptions)
    quiet = ours.quiet
    if quiet:
        logging.getLogger("newsbeam").setLevel(logging.WARNING)
    if ours.print_graph:
        from newsbeam.pipeline.runner import graph_dot

        try:
            print(graph_dot(argv), end="")
        except UsageError as error:
            return _fail(str(error))
        return EXIT_OK
    _show_job_submission(argv)
    started = time.monotonic()
    try:
        outcome = run(argv, show_progress=not quiet)
    except UsageError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return _fail("interrupted: no run record was written", EXIT_INTERRUPTED)
    if outcome.template_location:
        print(
            f"newsbeam ingest: pipeline staged as a Dataflow template at "
            f"{outcome.template_location}; the job writes its run record to "
            f"{outcome.record_path}"
        )
        return EXIT_OK
    if outcome.record is None:
        return _fail(
            f"the job ended without a run record at {outcome.record_path}",
            EXIT_JOB_FAILED,
        )
    output = outcome.record_path.rsplit("/_runs/", 1)[0]
    if not quiet:
        print(format_summary(outcome.record, output, outcome.record_path))
    logging.getLogger("newsbeam").debug("wall time %.1f s", time.monotonic() - started)
    failed = feeds_failed(outcome.record, ours.fail_on_feed_errors)
    if failed:
        return _fail(failed, EXIT_FEEDS_FAILED)
    return EXIT_OK


def feeds_failed(record: dict, policy: str) -> str:
    """Why the run should exit 3 under ``--fail-on-feed-errors``, or ''."""
    counts = record["counts"]
    failed, total = counts["feeds_failed"], counts["feeds"]
    if policy == "any" and failed:
        return f"{failed} of {total} feeds failed (see the run record)"
    if policy == "all" and total and failed == total:
        return f"every feed failed ({total}; see the run record)"
    return ""


def check_flags(options_class, argv: list[str]) -> str:
    """The first problem with the flags, as one line, or ''.

    Every option newsbeam and Beam know is checked (unknown flags, bad values,
    choices), so a typo is neither ignored nor answered with 140 lines of usage.
    """
    from apache_beam.options.pipeline_options import _BeamArgumentParser

    class Parser(_BeamArgumentParser):
        def error(self, message: str):
            raise _FlagError(message)

    parser = Parser(allow_abbrev=False, add_help=False)
    for cls in options_class.__subclasses__() + [options_class]:
        _add_all(parser, cls)
    try:
        _known, unknown = parser.parse_known_args(argv)
    except _FlagError as error:
        # argparse names every spelling ("argument --a-b/--a_b:"): one is enough.
        message = re.sub(r"^argument (-[\w-]+)(/-[\w-]+)*:", r"\1:", str(error))
        return f"{message} (see 'newsbeam ingest --help')"
    flags = [u for u in unknown if u.startswith("-")]
    if flags:
        return f"unknown option {flags[0]} (see 'newsbeam ingest --help')"
    return ""


class _FlagError(ValueError):
    pass


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
        "articles, mentions, quotes, dead_letters, actors (every one, even before a "
        "run has written it; date DATE is the partition column, in either layout).",
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
    "actors": actors,
    "report": report,
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
