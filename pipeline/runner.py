"""Choosing the runner on purpose, checking the arguments, and running the job.

Beam 2.77's ``DirectRunner`` first tries to download the Prism runner and falls back
when it cannot. newsbeam does not leave that to chance: with no ``--runner`` it runs on
the in-process ``FnApiRunner`` (the engine behind the Python DirectRunner), which
honours ``--direct_num_workers`` and ``--direct_running_mode`` (in_memory,
multi_processing; multi_threading is refused, see ``MULTI_THREADING_REFUSED``). Any
other ``--runner`` (DataflowRunner, FlinkRunner, PortableRunner, PrismRunner,
DirectRunner) is passed to Beam as given.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import threading
import uuid
from dataclasses import dataclass
from importlib.metadata import version

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    DirectOptions,
    GoogleCloudOptions,
    PipelineOptions,
    StandardOptions,
)
from newsbeam.pipeline import directory
from newsbeam.pipeline.graph import Settings, build
from newsbeam.pipeline.options import NewsbeamOptions
from newsbeam.pipeline.progress import ProgressDisplay
from newsbeam.pipeline.record import (
    commit_batch_run,
    commit_streaming_state,
    read_record,
    tally_of,
)
from newsbeam.schemas import layout
from newsbeam.transforms.actors import ActorRegistry
from newsbeam.transforms.common import utc_now
from newsbeam.transforms.feeds import (
    FeedListError,
    expand_sources,
    load_feed_state,
    unchanged_feeds,
)
from newsbeam.transforms.http import FetchOptions, check_contact_url, user_agent
from newsbeam.transforms.nlp import check_model
from newsbeam.transforms.stream import request_stop, reset_stop

LOG = logging.getLogger("newsbeam")

FN_API_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"


class UsageError(ValueError):
    """A problem with the arguments: one line for the person who typed them."""


@dataclass(frozen=True)
class Outcome:
    result: beam.runners.runner.PipelineResult | None  # None: no feed had changed
    record: dict | None
    record_path: str
    # Set when the run only staged a Dataflow template there: no job ran (yet), so
    # no record is expected; the job writes it at record_path when it runs.
    template_location: str | None = None


# Measured with Beam 2.77 on the 300-article bench corpus: 4 runs in 14 failed with
# rows arriving as None in a later stage (the same code never failed in dozens of
# multi_processing and in_memory runs), and the runs that finished were no faster
# than one worker, since a spaCy pipeline must not run in two threads at once.
MULTI_THREADING_REFUSED = (
    "--direct_running_mode=multi_threading is not supported: spaCy runs one thread at "
    "a time, so it is no faster than one worker, and on Beam 2.77 it corrupted rows "
    "between stages; use --direct_running_mode=multi_processing"
)


KNOWN_RUNNERS = "DirectRunner, DataflowRunner, FlinkRunner, PortableRunner, PrismRunner"


def describe_runner(options: PipelineOptions) -> tuple[object, str]:
    """The runner to use and how the run summary names it."""
    standard = options.view_as(StandardOptions)
    direct = options.view_as(DirectOptions)
    if standard.runner:
        return _named_runner(str(standard.runner)), str(standard.runner)
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    if standard.streaming:
        # The poll loop and its stop signal live in this process; one in-process
        # worker runs the unbounded graph (parsing is what costs, not the graph).
        direct.direct_running_mode = "in_memory"
        direct.direct_num_workers = 1
        return FnApiRunner(), "FnApiRunner (in_memory, streaming)"
    workers = direct.direct_num_workers
    if workers == 0:
        workers = os.cpu_count() or 1
    mode = direct.direct_running_mode
    if mode == "multi_threading":
        raise UsageError(MULTI_THREADING_REFUSED)
    plural = "worker" if workers == 1 else "workers"
    return FnApiRunner(), f"FnApiRunner ({mode}, {workers} {plural})"


def is_template_launch(options: PipelineOptions) -> bool:
    """True when the run only stages a Dataflow template (``--template_location``).

    A flex-template launch runs the entry point this way: Beam writes the job graph
    to that location and returns without starting a job. The job, not this process,
    reads the feeds and writes the run record, so the graph must be built even when
    no feed changed since the last run, and no record can be waited for here.
    """
    return bool(options.view_as(GoogleCloudOptions).template_location)


def _named_runner(name: str):
    """The runner ``--runner`` names, or a one-line error saying which exist."""
    from apache_beam.runners.runner import create_runner

    try:
        return create_runner(name)
    except ImportError as error:
        raise UsageError(f"runner {name} is not installed here ({error})") from error
    except (ValueError, AttributeError) as error:
        raise UsageError(
            f"unknown runner {name!r}: use one of {KNOWN_RUNNERS}, or leave --runner "
            "out for the in-process FnApiRunner"
        ) from error


def new_run_id() -> str:
    """UTC time to the millisecond, then a random suffix: sorts by start time."""
    now = utc_now()
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def check_output_writable(output: str) -> None:
    """Write and delete a probe file, so a bad output fails before any fetching."""
    probe = layout.probe_path(output, uuid.uuid4().hex[:8])
    try:
        with FileSystems.create(
            probe, compression_type=CompressionTypes.UNCOMPRESSED
        ) as handle:
            handle.write(b"ok")
        FileSystems.delete([probe])
    except (OSError, ValueError, beam.io.filesystem.BeamIOError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise UsageError(f"output not writable: {output} ({reason})") from error


def settings_from(
    options: PipelineOptions, runner_name: str, check_output: bool = True
) -> Settings:
    ours = options.view_as(NewsbeamOptions)
    if not ours.feeds:
        raise UsageError("no feeds given: use --feeds URL|FILE|LIST|OPML (repeatable)")
    if not ours.output:
        raise UsageError(
            "no output given: use --output DIR (local path, gs:// or s3://)"
        )
    if ours.nlp_batch_size < 1:
        raise UsageError("--nlp-batch-size must be at least 1")
    if min(ours.http_timeout, ours.http_deadline, ours.max_feed_bytes) <= 0:
        raise UsageError(
            "--http-timeout, --http-deadline and --max-feed-bytes must be positive"
        )
    if min(ours.http_retries, ours.host_concurrency, ours.host_delay) < 0:
        raise UsageError(
            "--http-retries, --host-concurrency and --host-delay cannot be negative"
        )
    if ours.page_concurrency < 1:
        raise UsageError("--page-concurrency must be at least 1")
    try:
        agent = user_agent(
            check_contact_url(ours.contact_url) if ours.contact_url else None
        )
    except ValueError as error:
        raise UsageError(str(error)) from error
    streaming = bool(options.view_as(StandardOptions).streaming)
    if ours.poll_interval <= 0 or ours.window_seconds <= 0:
        raise UsageError("--poll-interval and --window-seconds must be positive")
    if (ours.max_polls is not None and ours.max_polls < 1) or (
        ours.duration is not None and ours.duration <= 0
    ):
        raise UsageError("--max-polls and --duration must be positive")
    if not streaming and (ours.max_polls or ours.duration):
        raise UsageError("--max-polls and --duration need --streaming")
    try:
        feeds = expand_sources(list(ours.feeds))
    except FeedListError as error:
        raise UsageError(str(error)) from error
    try:
        model = check_model(ours.spacy_model)
    except RuntimeError as error:
        raise UsageError(str(error)) from error
    if ours.actor_aliases:
        if not os.path.isfile(ours.actor_aliases):
            raise UsageError(f"actor aliases file not found: {ours.actor_aliases}")
        try:  # a bad row should stop the run here, not in a worker halfway through
            ActorRegistry.load(ours.actor_aliases)
        except ValueError as error:
            raise UsageError(str(error)) from error
    output = ours.output
    if "://" not in output:
        output = os.path.abspath(output)
    try:
        if check_output:
            check_output_writable(output)
            chosen_layout = directory.ensure_layout(output, ours.layout)
        else:  # only looking (--print-graph): nothing is written
            found = directory.read_layout(output)
            chosen_layout = layout.choose_layout(ours.layout, found, output)
    except layout.LayoutError as error:
        raise UsageError(str(error)) from error
    fetch = FetchOptions(
        connect_timeout=ours.http_timeout,
        read_timeout=ours.http_timeout,
        deadline=max(ours.http_deadline, ours.http_timeout),
        retries=ours.http_retries,
        max_bytes=ours.max_feed_bytes,
        allow_private_network=ours.allow_private_network,
        min_host_delay=ours.host_delay,
        host_concurrency=ours.host_concurrency,
        user_agent=agent,
    )
    return Settings(
        feeds=tuple(feeds),
        output=output,
        fetch_articles=ours.fetch_articles,
        spacy_model=ours.spacy_model,
        actor_aliases=ours.actor_aliases,
        fetch=fetch,
        nlp_batch_size=ours.nlp_batch_size,
        run_id=ours.run_id or new_run_id(),
        runner=runner_name,
        started_at=utc_now(),
        feed_state=load_feed_state(output),
        streaming=streaming,
        feed_specs=tuple(ours.feeds),
        poll_interval=ours.poll_interval,
        max_polls=ours.max_polls,
        duration=ours.duration,
        window_seconds=ours.window_seconds,
        retention_seconds=ours.dedup_retention_hours * 3600.0,
        obey_robots=not ours.ignore_robots,
        page_concurrency=ours.page_concurrency,
        about={
            "newsbeam_version": version("newsbeam"),
            "model": model,
            "options": recorded_options(options),
        },
        layout=chosen_layout,
    )


# Option names that may carry a secret (S3 keys, tokens): the record says they were
# given, never what they were.
_SECRET_WORDS = ("secret", "password", "token", "credential", "access_key", "key_id")


def recorded_options(options: PipelineOptions) -> dict:
    """The options of the run as the record keeps them: newsbeam's with their
    values (defaults included), any other option only when given, secrets masked."""
    ours = options.view_as(NewsbeamOptions).get_all_options(drop_default=False)
    given = options.get_all_options(drop_default=True, retain_unknown_options=True)
    newsbeam_names = _newsbeam_option_names()
    recorded = {}
    for name, value in sorted({**given, **ours}.items()):
        if name not in newsbeam_names and name not in given:
            continue
        if value is not None and any(word in name.lower() for word in _SECRET_WORDS):
            value = "***"
        recorded[name] = value if _plain(value) else str(value)
    return recorded


def _newsbeam_option_names() -> set[str]:
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    NewsbeamOptions._add_argparse_args(parser)
    return {action.dest for action in parser._actions}


def _plain(value) -> bool:
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


@contextlib.contextmanager
def _stop_on_signals(streaming: bool):
    """SIGINT/SIGTERM end a streaming run cleanly: the poll loop stops, what was
    fetched is written, and the run record is completed."""
    if not streaming or threading.current_thread() is not threading.main_thread():
        yield
        return
    reset_stop()

    def stop(signum, _frame) -> None:
        LOG.info(
            "%s received: finishing the current poll, then stopping",
            signal.Signals(signum).name,
        )
        request_stop()

    previous = {
        sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def graph_dot(argv: list[str] | None = None) -> str:
    """The graph ``run(argv)`` would run, as Graphviz DOT: built from the same
    options, never run, and nothing written (no output probe, no feed request)."""
    from newsbeam.pipeline.graphviz import to_dot

    options = PipelineOptions(argv)
    FileSystems.set_options(options)
    runner, runner_name = describe_runner(options)
    settings = settings_from(options, runner_name, check_output=False)
    pipeline = beam.Pipeline(runner=runner, options=options)
    build(pipeline, settings)
    mode = "streaming" if settings.streaming else "batch"
    return to_dot(pipeline, f"newsbeam ingest ({mode})")


def run(argv: list[str] | None = None, *, show_progress: bool = False) -> Outcome:
    """Runs one ingest; returns the Beam result and the run record.

    ``show_progress`` draws the progress of a batch run on the in-process runner
    (where the workers share this machine); other runners have their own consoles.
    """
    options = PipelineOptions(argv)
    FileSystems.set_options(options)  # s3:// and gs:// settings, before any check
    runner, runner_name = describe_runner(options)
    settings = settings_from(options, runner_name)
    template = is_template_launch(options)
    if not settings.streaming and not template:
        statuses = unchanged_feeds(settings.feeds, settings.feed_state, settings.fetch)
        if statuses is not None:
            return _nothing_changed(settings, statuses)
    pipeline = beam.Pipeline(runner=runner, options=options)
    build(pipeline, settings)
    path = layout.record_path(settings.output, settings.run_id)
    if template:
        result = pipeline.run()  # stages the graph; there is no job to wait for
        location = options.view_as(GoogleCloudOptions).template_location
        return Outcome(result, None, path, template_location=location)
    watch = show_progress and not settings.streaming and not _remote(options)
    display = ProgressDisplay(len(settings.feeds)) if watch else None
    try:
        with (
            directory.ingest_lease(
                settings.output, settings.run_id, settings.streaming
            ),
            _stop_on_signals(settings.streaming),
            display or contextlib.nullcontext(),
        ):
            result = pipeline.run()
            result.wait_until_finish()
    except directory.LeaseBusy as error:
        raise UsageError(f"{error}; try again when it has finished") from error
    try:
        record = read_record(settings.output, settings.run_id)
    except (OSError, ValueError, beam.io.filesystem.BeamIOError):
        record = None
    if record is not None and settings.streaming:
        commit_streaming_state(settings.output, settings.feed_state, record)
    return Outcome(result=result, record=record, record_path=path)


def _remote(options: PipelineOptions) -> bool:
    """A runner of its own was named: its workers may not share this machine."""
    return bool(options.view_as(StandardOptions).runner)


def _nothing_changed(settings: Settings, statuses: list[dict]) -> Outcome:
    """Every feed is as the last run left it: record so, and start no pipeline.

    What the pipeline would do with such a run (one status per feed, no rows),
    without its ~1.5 s of start-up: most scheduled runs find nothing new.
    """
    meta = settings.run_meta()
    path = commit_batch_run(tally_of(statuses), meta, pipeline_started=False)
    return Outcome(None, read_record(settings.output, settings.run_id), path)
