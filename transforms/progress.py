"""Progress counts from the workers, for the launcher's progress display.

Beam's own metrics reach the launcher only when the in-process FnApiRunner has
finished, so they cannot drive a display while a batch run runs. Instead the
launcher names a local folder in ``NEWSBEAM_PROGRESS_DIR`` before it starts the
pipeline; every worker process that counts something keeps its running totals in
memory and rewrites one small JSON file there (atomically, at most twice a second),
and the launcher sums the files. That works the same whether the workers are threads
of the launcher (``in_memory``) or other processes (``multi_processing``, which
inherit the environment). Where the variable is not set (tests, remote runners)
``count`` does nothing.

Counts are for a person watching, not for accounting: a retried bundle counts twice
here, while the run record counts it once.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
import uuid
from collections import Counter

ENV = "NEWSBEAM_PROGRESS_DIR"
WRITE_EVERY_SECONDS = 0.5

_LOCK = threading.Lock()
_COUNTS: dict[str, Counter] = {}  # folder -> this process's running totals
_WRITTEN: dict[str, float] = {}  # folder -> when its file was last written
_DIRTY: set[str] = set()
_NAME = f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
_flusher: threading.Thread | None = None


def watched() -> bool:
    """A launcher is showing progress from these counts."""
    return bool(os.environ.get(ENV))


def count(name: str, n: int = 1) -> None:
    """Add ``n`` to this process's counter ``name`` for the running batch job."""
    folder = os.environ.get(ENV)
    if not folder or not n:
        return
    with _LOCK:
        _COUNTS.setdefault(folder, Counter())[name] += n
        _DIRTY.add(folder)
        due = time.monotonic() - _WRITTEN.get(folder, 0.0) >= WRITE_EVERY_SECONDS
        if due:
            _write(folder)
        _start_flusher()


def flush() -> None:
    """Write every folder's counts that changed since they were last written."""
    with _LOCK:
        for folder in list(_DIRTY):
            _write(folder)


def _write(folder: str) -> None:
    """Replace this process's file (the caller holds the lock)."""
    _DIRTY.discard(folder)
    _WRITTEN[folder] = time.monotonic()
    path = os.path.join(folder, _name())
    temporary = f"{path}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(dict(_COUNTS[folder]), handle)
        os.replace(temporary, path)
    except OSError:
        pass  # the launcher has finished and removed the folder: nobody is watching


def _name() -> str:
    """One file per process: a forked worker must not write its parent's file."""
    global _NAME
    if not _NAME.startswith(f"{os.getpid()}-"):
        _NAME = f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
    return _NAME


def _start_flusher() -> None:
    """A daemon thread that writes counts left unwritten by the last ``count``."""
    global _flusher
    if _flusher is not None and _flusher.is_alive():
        return

    def run() -> None:
        while True:
            time.sleep(WRITE_EVERY_SECONDS)
            flush()

    _flusher = threading.Thread(target=run, name="newsbeam-progress", daemon=True)
    _flusher.start()
    atexit.register(flush)  # a worker process that ends writes its last counts


def read_counts(folder: str) -> Counter:
    """The sum of every worker's counts in ``folder`` (the launcher's side)."""
    total: Counter = Counter()
    try:
        names = os.listdir(folder)
    except OSError:
        return total
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                counts = json.load(handle)
        except (OSError, ValueError):
            continue  # being replaced right now: the next poll reads it
        if isinstance(counts, dict):
            total.update(
                {k: v for k, v in counts.items() if isinstance(v, int | float)}
            )
    return total
