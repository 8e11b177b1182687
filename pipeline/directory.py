"""What an output directory says about itself: its layout and who works on it.

Paths and formats are ``schemas.layout``'s; this module does the I/O, through Beam's
``FileSystems`` so that local disk, ``gs://`` and ``s3://`` behave alike.

The lease protocol, for stores that have neither an atomic rename nor an exclusive
create (S3, GCS through Beam): every job writes its own lease object
(``_leases/KIND-OWNER.json``, so no two writers share an object), then lists the
leases. Because object stores now list what was written before the listing, of two
jobs that start together at least one sees the other, and the rule for who waits is
fixed: an ingest waits for a compaction to finish (keeping its own lease, which
makes the compaction stop after its current date); a compaction that sees a batch
ingest or another compaction withdraws its lease and waits or gives up. A holder
rewrites its lease every ``RENEW_SECONDS``; one not renewed for ``LEASE_SECONDS`` is
taken for dead (a killed job leaves an expired lease that nobody has to clean up);
on the same machine a lease whose process is gone is dead at once.

What it guarantees: a compaction never runs while a live batch ingest holds a lease,
and two compactions never run together, as long as clocks agree to well within
``LEASE_SECONDS`` and a holder is not frozen for longer than that (a job paused past
its expiry can wake to find it has lost its lease: compaction re-reads its own lease
before every date it commits, an ingest does not). It is not a lock for writers that
ignore it (an older newsbeam, another tool).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from newsbeam.schemas import DATASETS
from newsbeam.schemas import layout as paths
from newsbeam.schemas.layout import COMPACT, INGEST, Lease, StoredFile
from newsbeam.transforms.common import read_bytes, utc_now, write_atomically

LOG = logging.getLogger("newsbeam")
_IO_ERRORS = (OSError, ValueError, beam.io.filesystem.BeamIOError)

# How long an ingest waits for a running compaction (which stops after the date it
# is committing once it sees the ingest's lease) before it gives up.
INGEST_WAIT_SECONDS = 30 * 60.0
POLL_SECONDS = 2.0


class LeaseBusy(RuntimeError):
    """Another job holds the output directory; the message says which."""


class LeaseLost(RuntimeError):
    """This job's own lease expired or vanished while it worked."""


# ------------------------------------------------------------------- listing


def match(pattern: str) -> list[tuple[str, int]]:
    """``(path, size)`` of every object matching a glob; nothing if none."""
    try:
        [result] = FileSystems.match([pattern])
    except _IO_ERRORS:
        return []
    return [(m.path, m.size_in_bytes) for m in result.metadata_list]


def data_files(
    output: str, datasets: tuple[str, ...] | None = None
) -> list[StoredFile]:
    """Every data file under ``output`` (both folder depths), placed by its path.

    On object stores ``*`` also matches ``/``; the paths are parsed, not trusted.
    """
    found: dict[str, StoredFile] = {}
    for name in datasets or tuple(DATASETS):
        folder = paths.dataset_dir(output, name)
        for pattern in (f"{folder}/*/*.parquet", f"{folder}/*/*/*.parquet"):
            for path, size in match(pattern):
                stored = paths.parse_data_path(output, path, size)
                if stored is not None:
                    found[path] = stored
    return sorted(found.values(), key=lambda f: f.path)


def exists(path: str) -> bool:
    try:
        return FileSystems.exists(path)
    except _IO_ERRORS:
        return False


def delete(paths_: list[str]) -> None:
    """Delete what exists of ``paths_``; what is already gone is no error.

    On local disk a folder left empty goes too (object stores have no folders), so
    that a compacted ``actor_id=`` folder does not linger in a listing.
    """
    present = [p for p in paths_ if exists(p)]
    if present:
        FileSystems.delete(present)
    for folder in sorted({p.rsplit("/", 1)[0] for p in present if "://" not in p}):
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # only succeeds when empty


# ------------------------------------------------------------------ the layout


def recorded_layout(output: str) -> str | None:
    path = paths.layout_record_path(output)
    if not exists(path):
        return None
    return paths.layout_from_record(read_bytes(path), path)


def read_layout(output: str) -> str | None:
    """The layout under ``output``: its record, else what its folders show."""
    return recorded_layout(output) or paths.infer_layout(
        data_files(output, ("mentions", "quotes"))
    )


def ensure_layout(output: str, requested: str | None) -> str:
    """The layout an ingest writes into ``output``, recorded there if it was not.

    Raises ``LayoutError`` (one line) when ``output`` holds another layout or an
    output of newsbeam 0.1.
    """
    found = read_layout(output)
    layout = paths.choose_layout(requested, found, output)
    if recorded_layout(output) is None:
        write_atomically(paths.layout_record_path(output), paths.layout_record(layout))
    return layout


def record_layout(output: str, layout: str) -> None:
    write_atomically(paths.layout_record_path(output), paths.layout_record(layout))


# ------------------------------------------------------------------- leases


def read_leases(output: str) -> list[Lease]:
    """Every lease object under ``output``, live or not; a vanished one is skipped."""
    leases = []
    for path, _size in match(paths.leases_glob(output)):
        try:
            leases.append(Lease.from_json(read_bytes(path)))
        except (*_IO_ERRORS, TypeError, KeyError):
            continue  # released between the listing and the read, or foreign
    return leases


def dead_here(lease: Lease) -> bool:
    """A lease of a process on this machine that no longer exists (killed): it
    need not wait out its expiry. Any other lease is trusted until it expires."""
    if lease.host != socket.gethostname():
        return False
    try:
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def live_leases(output: str, exclude: str | None = None) -> list[Lease]:
    now = utc_now()
    return [
        lease
        for lease in read_leases(output)
        if lease.live(now) and lease.owner != exclude and not dead_here(lease)
    ]


def batch_ingests(leases: list[Lease]) -> list[Lease]:
    return [lease for lease in leases if lease.kind == INGEST and not lease.streaming]


def compactions(leases: list[Lease]) -> list[Lease]:
    return [lease for lease in leases if lease.kind == COMPACT]


def open_from(leases: list[Lease]) -> date | None:
    """The first date any live streaming ingest may still write, if one runs."""
    days = [
        date.fromisoformat(lease.open_from)
        for lease in leases
        if lease.kind == INGEST and lease.streaming and lease.open_from
    ]
    return min(days) if days else None


class LeaseHolder:
    """This process's lease on an output: written, renewed in a thread, released."""

    def __init__(
        self,
        output: str,
        kind: str,
        streaming: bool = False,
        run_id: str | None = None,
    ) -> None:
        self.output = output
        self.lease = paths.new_lease(
            kind,
            f"{uuid.uuid4().hex[:16]}",
            socket.gethostname(),
            os.getpid(),
            utc_now(),
            streaming=streaming,
            run_id=run_id,
        )
        self.path = paths.lease_path(output, kind, self.lease.owner)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._written = False

    def write(self) -> None:
        now = utc_now()
        self.lease = self.lease.renewed(
            now, paths.first_open_date(now) if self.lease.streaming else None
        )
        write_atomically(self.path, self.lease.to_json())
        self._written = True

    def withdraw(self) -> None:
        if self._written:
            with contextlib.suppress(*_IO_ERRORS):
                delete([self.path])
            self._written = False

    def others(self) -> list[Lease]:
        return live_leases(self.output, exclude=self.lease.owner)

    def start_renewing(self) -> None:
        def renew() -> None:
            while not self._stop.wait(paths.RENEW_SECONDS):
                try:
                    self.write()
                except _IO_ERRORS as error:  # the next renewal may succeed
                    LOG.warning("lease on %s not renewed: %s", self.output, error)

        self._thread = threading.Thread(target=renew, daemon=True, name="lease")
        self._thread.start()

    def check(self) -> None:
        """Raise ``LeaseLost`` unless this job's own lease is still there and live."""
        try:
            stored = Lease.from_json(read_bytes(self.path))
        except (*_IO_ERRORS, TypeError, KeyError) as error:
            raise LeaseLost(f"the lease {self.path} is gone") from error
        if stored.owner != self.lease.owner or not stored.live(utc_now()):
            raise LeaseLost(f"the lease {self.path} expired")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.withdraw()


def acquire(
    holder: LeaseHolder,
    blocked_by: Callable[[list[Lease]], list[Lease]],
    wait_seconds: float,
    withdraw_while_waiting: bool,
    say: Callable[[str], None] = LOG.info,
) -> None:
    """Write the lease, then wait while ``blocked_by(others)`` names anyone.

    Raises ``LeaseBusy`` once ``wait_seconds`` have passed with someone in the way.
    """
    deadline = time.monotonic() + wait_seconds
    announced = False
    while True:
        holder.write()
        blockers = blocked_by(holder.others())
        if not blockers:
            holder.start_renewing()
            return
        if withdraw_while_waiting:
            holder.withdraw()
        reason = blockers[0].describe()
        if time.monotonic() >= deadline:
            holder.withdraw()
            raise LeaseBusy(f"{holder.output} is in use by a {reason}")
        if not announced:
            say(f"waiting: {holder.output} is in use by a {reason}")
            announced = True
        time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def ingest_lease(
    output: str, run_id: str, streaming: bool, wait_seconds: float | None = None
) -> Iterator[LeaseHolder]:
    """Held while an ingest writes: waits for a running compaction to finish."""
    holder = LeaseHolder(output, INGEST, streaming=streaming, run_id=run_id)
    wait = INGEST_WAIT_SECONDS if wait_seconds is None else wait_seconds
    acquire(holder, compactions, wait, withdraw_while_waiting=False)
    try:
        yield holder
    finally:
        holder.release()


def compaction_blockers(leases: list[Lease]) -> list[Lease]:
    return batch_ingests(leases) + compactions(leases)


@contextlib.contextmanager
def compaction_lease(
    output: str, wait_seconds: float, say: Callable[[str], None] = LOG.info
) -> Iterator[LeaseHolder]:
    """Held while a compaction runs: refuses (or waits) while a batch ingest or
    another compaction holds the directory."""
    holder = LeaseHolder(output, COMPACT)
    acquire(
        holder, compaction_blockers, wait_seconds, withdraw_while_waiting=True, say=say
    )
    try:
        yield holder
    finally:
        holder.release()
