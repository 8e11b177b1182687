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

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
)
from newsbeam.pipeline import directory
from newsbeam.pipeline.graph import Settings, build
from newsbeam.pipeline.options import NewsbeamOptions
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
from newsbeam.transforms.http import FetchOptions
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


# Measured with Beam 2.77 on the 300-article bench corpus: 4 runs in 14 failed with
# rows arriving as None in a later stage (the same code never failed in dozens of
# multi_processing and in_memory runs), and the runs that finished were no faster
# than one worker, since a spaCy pipeline must not run in two threads at once.
MULTI_THREADING_REFUSED = (
    "--direct_running_mode=multi_threading is not supported: spaCy runs one thread at "
    "a time, so it is no faster than one worker, and on Beam 2.77 it corrupted rows "
    "between stages; use --direct_running_mode=multi_processing"
)


def describe_runner(options: PipelineOptions) -> tuple[object, str]:
    """The runner to use and how the run summary names it."""
    standard = options.view_as(StandardOptions)
    direct = options.view_as(DirectOptions)
    if standard.runner:
        return standard.runner, str(standard.runner)
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


def settings_from(options: PipelineOptions, runner_name: str) -> Settings:
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
        check_model(ours.spacy_model)
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
    check_output_writable(output)
    try:
        chosen_layout = directory.ensure_layout(output, ours.layout)
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
        layout=chosen_layout,
    )


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


def run(argv: list[str] | None = None) -> Outcome:
    """Runs one batch ingest; returns the Beam result and the run record."""
    options = PipelineOptions(argv)
    FileSystems.set_options(options)  # s3:// and gs:// settings, before any check
    runner, runner_name = describe_runner(options)
    settings = settings_from(options, runner_name)
    if not settings.streaming:
        statuses = unchanged_feeds(settings.feeds, settings.feed_state, settings.fetch)
        if statuses is not None:
            return _nothing_changed(settings, statuses)
    pipeline = beam.Pipeline(runner=runner, options=options)
    build(pipeline, settings)
    try:
        with (
            directory.ingest_lease(
                settings.output, settings.run_id, settings.streaming
            ),
            _stop_on_signals(settings.streaming),
        ):
            result = pipeline.run()
            result.wait_until_finish()
    except directory.LeaseBusy as error:
        raise UsageError(f"{error}; try again when it has finished") from error
    path = layout.record_path(settings.output, settings.run_id)
    try:
        record = read_record(settings.output, settings.run_id)
    except (OSError, ValueError, beam.io.filesystem.BeamIOError):
        record = None
    if record is not None and settings.streaming:
        commit_streaming_state(settings.output, settings.feed_state, record)
    return Outcome(result=result, record=record, record_path=path)


def _nothing_changed(settings: Settings, statuses: list[dict]) -> Outcome:
    """Every feed is as the last run left it: record so, and start no pipeline.

    What the pipeline would do with such a run (one status per feed, no rows),
    without its ~1.5 s of start-up: most scheduled runs find nothing new.
    """
    meta = settings.run_meta()
    path = commit_batch_run(tally_of(statuses), meta, pipeline_started=False)
    return Outcome(None, read_record(settings.output, settings.run_id), path)
