"""Feed state: what the last run learnt about each feed, so the next can skip it.

``OUTPUT/_state/feeds.json`` keeps, per feed, the validators (ETag, Last-Modified)
and the body digest of the last good read. It is written only after a run's datasets
are on disk, so a crash never marks a feed as done whose items were not written.

Feeds are keyed by URL or by resolved absolute path (version 2). Version 1 keyed a
local feed by its path as typed, so the same list run from another folder looked
new; its relative keys are resolved against the current folder when read (where
scheduled runs start from the same place, that is the folder they were typed in),
and the newest check wins when two old keys name one file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import apache_beam as beam
from newsbeam.schemas.layout import feed_state_path
from newsbeam.schemas.status import FeedStatus
from newsbeam.transforms.common import read_bytes, write_atomically
from newsbeam.transforms.feeds.sources import is_url

STATE_VERSION = 2


def state_path(output: str) -> str:
    return feed_state_path(output)


def load_feed_state(output: str) -> dict[str, dict[str, Any]]:
    """The committed per-feed state, or nothing for a new output directory."""
    from apache_beam.io.filesystems import FileSystems

    path = state_path(output)
    try:
        if not FileSystems.exists(path):
            return {}
        data = json.loads(read_bytes(path))
    except (OSError, ValueError, beam.io.filesystem.BeamIOError):
        return {}  # a damaged state only costs one full re-read of every feed
    if not isinstance(data, dict) or not isinstance(data.get("feeds"), dict):
        return {}
    feeds = {k: v for k, v in data["feeds"].items() if isinstance(v, dict)}
    if data.get("version", 1) < STATE_VERSION:
        feeds = migrate_keys(feeds)
    return feeds


def migrate_keys(feeds: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Version 1 keys (local paths as typed) as resolved absolute paths."""
    migrated: dict[str, dict[str, Any]] = {}
    for key, value in feeds.items():
        resolved = key if is_url(key) else os.path.realpath(key)
        kept = migrated.get(resolved)
        if kept is None or str(value.get("checked_at") or "") > str(
            kept.get("checked_at") or ""
        ):
            migrated[resolved] = value
    return migrated


def next_feed_state(
    previous: Mapping[str, Mapping[str, Any]],
    statuses: Iterable[FeedStatus],
    checked_at: datetime,
) -> dict[str, dict[str, Any]]:
    """Previous state updated by this run's statuses; failed feeds keep the old one."""
    state = {feed: dict(value) for feed, value in previous.items()}
    for status in sorted(statuses, key=lambda s: s.checked_at):
        if not status.good:
            continue
        state[status.feed] = {
            **status.validators(),
            "checked_at": checked_at.isoformat(),
        }
    return state


def save_feed_state(output: str, state: Mapping[str, Mapping[str, Any]]) -> None:
    payload = json.dumps(
        {"version": STATE_VERSION, "feeds": state}, indent=1, sort_keys=True
    )
    write_atomically(state_path(output), payload.encode())
