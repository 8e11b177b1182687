"""The progress display of a batch run: what the workers have done so far.

The workers count (``newsbeam.transforms.progress.count``); the launcher sums their
counts twice a second and shows them: a live display drawn by ``rich`` when stdout is
a terminal, a plain log line every ``PLAIN_EVERY_SECONDS`` otherwise (cron, CI, a
pipe), nothing with ``--quiet``. Each line of the display is one ``Line`` in
``LINES``: a label, the counter it shows, and, where one is known, its total; adding
a counter to the display is adding one ``Line``.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from newsbeam.transforms import progress

LOG = logging.getLogger("newsbeam")
PLAIN_EVERY_SECONDS = 10.0
POLL_SECONDS = 0.25


def _articles_to_analyse(counts: Mapping[str, float]) -> float | None:
    """Unknown until every feed is read; then the items seen less those that will
    not be analysed. Duplicates are found as analysis goes (both run in one stage
    after the dedup's group), so the total shrinks towards the true one."""
    if counts["feeds_done"] < counts["feeds"]:
        return None
    return max(
        counts["items_seen"]
        - counts["duplicates"]
        - counts["items_failed"]
        - counts["articles_not_analysed"],
        counts["articles_analysed"],
    )


@dataclass(frozen=True)
class Line:
    """One line of the display: ``done`` is a worker counter; ``total`` gives the
    line's total from all the counts (and ``feeds``, the launcher's own), or None."""

    label: str
    done: str
    total: Callable[[Mapping[str, float]], float | None] | None = None
    rate: bool = False  # show items per second and the time left


LINES = (
    Line("feeds read", "feeds_done", total=lambda c: c["feeds"]),
    Line("feeds failed", "feeds_failed"),
    Line("items seen", "items_seen"),
    Line("duplicates", "duplicates"),
    Line("pages fetched", "pages_fetched"),
    Line("pages disallowed", "pages_disallowed"),
    Line("pages failed", "pages_failed"),
    Line("articles analysed", "articles_analysed", _articles_to_analyse, rate=True),
)


@dataclass(frozen=True)
class Snapshot:
    """The counts at one moment, with what the display derives from them."""

    counts: Counter
    elapsed: float  # seconds since the display started
    rates: dict  # counter -> per second, since the line's total was known

    def total(self, line: Line) -> float | None:
        return line.total(self.counts) if line.total else None

    def left_seconds(self, line: Line) -> float | None:
        total, rate = self.total(line), self.rates.get(line.done)
        if total is None or not rate:
            return None
        return max(total - self.counts[line.done], 0) / rate


def plain_line(snapshot: Snapshot) -> str:
    """The display as one log line: ``feeds read 3/3, items seen 20, ...``."""
    parts = []
    for line in LINES:
        done = snapshot.counts[line.done]
        if not done and line.total is None:
            continue  # a counter that has not started yet says nothing
        total = snapshot.total(line)
        text = f"{line.label} {done:.0f}" + (f"/{total:.0f}" if total else "")
        rate = snapshot.rates.get(line.done)
        if line.rate and rate:
            text += f" ({rate:.1f}/s"
            left = snapshot.left_seconds(line)
            text += f", about {_duration(left)} left)" if left else ")"
        parts.append(text)
    return f"progress {_duration(snapshot.elapsed)}: " + ", ".join(parts)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressDisplay:
    """Shows a batch run's progress while the pipeline runs (a context manager).

    ``style`` is ``rich`` (a live display on ``stream``), ``plain`` (log lines) or
    ``auto`` (rich when ``stream`` is a terminal). On entering, it makes the folder
    the workers write their counts to and names it in the environment (before the
    pipeline starts its worker processes, which inherit it); on leaving, it draws
    the last counts and removes both.
    """

    def __init__(
        self,
        feeds: int,
        style: str = "auto",
        stream=None,
        every: float | None = None,
    ) -> None:
        self._stream = stream or sys.stdout
        if style == "auto":
            style = "rich" if _is_terminal(self._stream) else "plain"
        self.style = style
        self._feeds = feeds
        self._every = PLAIN_EVERY_SECONDS if every is None else every
        self._stop = threading.Event()
        self._since: dict[str, float] = {}  # counter -> when its total became known
        self._final: dict[str, float] = {}  # counter -> its rate when it reached total
        self.snapshots: list[Snapshot] = []  # every poll, for tests and the last line

    def __enter__(self) -> ProgressDisplay:
        self._folder = tempfile.mkdtemp(prefix="newsbeam-progress-")
        self._previous = os.environ.get(progress.ENV)
        os.environ[progress.ENV] = self._folder
        self._started = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, name="newsbeam-display", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        if self._previous is None:
            os.environ.pop(progress.ENV, None)
        else:
            os.environ[progress.ENV] = self._previous
        shutil.rmtree(self._folder, ignore_errors=True)

    def snapshot(self) -> Snapshot:
        progress.flush()  # in_memory workers are threads of this process
        counts = progress.read_counts(self._folder)
        counts["feeds"] = self._feeds
        now = time.monotonic()
        rates = {}
        for line in LINES:
            if not line.rate or (line.total and line.total(counts) is None):
                continue
            # Measured from when the line's total became known: before that its
            # stage was waiting for the one before it, not working.
            if line.done in self._final:  # done: its rate no longer changes
                rates[line.done] = self._final[line.done]
                continue
            since = self._since.setdefault(line.done, now)
            if now - since >= 1.0 and counts[line.done]:
                rates[line.done] = counts[line.done] / (now - since)
                total = line.total(counts) if line.total else None
                if total and counts[line.done] >= total:
                    self._final[line.done] = rates[line.done]
        snap = Snapshot(counts, now - self._started, rates)
        self.snapshots.append(snap)
        return snap

    def _run(self) -> None:
        if self.style == "rich":
            self._run_rich()
        else:
            self._run_plain()

    def _run_plain(self) -> None:
        """A line every ``every`` seconds, and a last one if any was written: a run
        shorter than that leaves only its summary."""
        last, written = time.monotonic(), False
        while not self._stop.wait(POLL_SECONDS):
            if time.monotonic() - last >= self._every:
                LOG.info(plain_line(self.snapshot()))
                last, written = time.monotonic(), True
        if written:
            LOG.info(plain_line(self.snapshot()))

    def _run_rich(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, TextColumn

        columns = (TextColumn("{task.description:<18}"), *_rich_columns())
        console = Console(file=self._stream)
        with Progress(*columns, console=console) as live:
            tasks = {
                line: live.add_task(
                    line.label, total=None, bar=line.total is not None, figures=""
                )
                for line in LINES
            }
            while True:
                stopping = self._stop.wait(POLL_SECONDS)
                snap = self.snapshot()
                for line, task in tasks.items():
                    live.update(
                        task,
                        completed=snap.counts[line.done],
                        total=snap.total(line),
                        figures=_figures(snap, line),
                    )
                if stopping:
                    break


def _figures(snap: Snapshot, line: Line) -> str:
    """``12/40``, with the rate and the time left where they are known."""
    done = snap.counts[line.done]
    if line.total is None:
        return f"{done:.0f}"
    total = snap.total(line)
    text = f"{done:.0f}/{'?' if total is None else f'{total:.0f}'}"
    rate = snap.rates.get(line.done)
    if line.rate and rate:
        text += f"  {rate:.1f}/s"
        left = snap.left_seconds(line)
        if left:
            text += f"  about {_duration(left)} left"
    return text


def _rich_columns():
    """A bar for lines with a total (pulsing while it is unknown), then figures."""
    from rich.progress import BarColumn, ProgressColumn
    from rich.text import Text

    class LineBar(BarColumn):
        def render(self, task):
            return super().render(task) if task.fields["bar"] else Text("")

    class Figures(ProgressColumn):
        def render(self, task):
            return Text(task.fields["figures"])

    return LineBar(bar_width=30), Figures()


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
