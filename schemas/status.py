"""What happened to each feed, and where a dead letter came from: one vocabulary.

The feed stage writes a ``FeedStatus`` per feed read (per poll, when streaming); the
run record folds them into one row per feed and the feed state keeps the validators
of the good ones; the tests compare against the same names. Dead-letter rows carry a
``stage`` from ``Stage``: the run record counts an ``items`` row as one lost item and a
``feeds`` row as one failed feed, so a stage name spelled twice would break the
accounting silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    """The ``stage`` column of ``dead_letters``: which step let the row go."""

    FEEDS = "feeds"  # a whole feed failed (one row per failed feed)
    ITEMS = "items"  # one item is lost (counted against its feed)
    DATES = "dates"  # an item's date was unusable; the article stands, re-dated
    NOTES = "notes"  # the article stands, changed (e.g. truncated)
    FETCH = "fetch"  # the linked page could not be used; the feed text stands
    NLP = "nlp"  # the text could not be parsed; the article stands
    ENTITIES = "entities"  # its mentions could not be extracted; the article stands
    QUOTES = "quotes"  # its quotes could not be extracted; the article stands


class FeedState(StrEnum):
    """The ``status`` of a feed in a status row and in the run record."""

    OK = "ok"  # read and parsed (possibly with zero items)
    NOT_MODIFIED = "not_modified"  # a 304, or the same bytes as the last run
    FAILED = "failed"  # not read, or not a feed: ``error`` says why
    MISSING = "missing"  # named on the command line, but no status came back


# States whose validators (ETag, Last-Modified, digest) the next run may rely on.
GOOD_STATES = frozenset({FeedState.OK, FeedState.NOT_MODIFIED})


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """One read of one feed: the row the feed stage emits for the run record.

    ``etag``, ``last_modified`` and ``body_sha256`` are what the next run needs to
    skip the feed when it has not changed; ``checked_at`` orders the polls of a
    streaming run. ``error`` is a stable reason (``http_404``, ``not_a_feed``,
    ``file_error``...), never free text; the dead letter holds the detail.
    """

    feed: str
    status: FeedState
    http_status: int | None = None
    items_seen: int = 0
    error: str = ""
    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None
    checked_at: str = ""  # ISO 8601, UTC

    @property
    def good(self) -> bool:
        return self.status in GOOD_STATES

    def validators(self) -> dict[str, str | None]:
        """What the feed state keeps of a good read."""
        return {
            "etag": self.etag,
            "last_modified": self.last_modified,
            "body_sha256": self.body_sha256,
        }
