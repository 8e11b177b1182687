"""Stage 1: feed sources -> feed items, one module per room of the stage.

* ``sources``: what ``--feeds`` names (URLs, feed files, text/CSV/TOML lists, OPML)
  expanded into ``FeedSource``s before the pipeline starts, with outlets;
  ``encodings`` tells which encoding a local file is in, ``outlets`` checks outlet
  names and countries and reads a country from a site's domain.
* ``parse``: bytes -> items, with the repairs real feeds need; ``fastpath`` is the
  lxml reader that gives feedparser's result faster or declines; ``jsonfeed`` reads
  JSON Feed; ``entries`` turns feedparser-shaped dicts into ``FeedItem``s.
* ``read``: the Beam side, ``ReadFeeds`` and its DoFn (fetching, conditional
  requests, one status per feed).
* ``state``: the per-feed validators a run commits for the next one.

The names below are the stage's interface; the modules hold the rest.
"""

from newsbeam.transforms.feeds.entries import FeedParseError, ParsedFeed
from newsbeam.transforms.feeds.parse import parse_feed
from newsbeam.transforms.feeds.read import (
    FEEDS,
    FeedBytes,
    FetchFeedFn,
    ReadFeeds,
    feed_status,
    read_feed,
    unchanged_feeds,
)
from newsbeam.transforms.feeds.sources import (
    FeedListError,
    FeedSource,
    expand_sources,
    is_url,
    read_local,
    sniff,
)
from newsbeam.transforms.feeds.state import (
    load_feed_state,
    next_feed_state,
    save_feed_state,
    state_path,
)

__all__ = [
    "FEEDS",
    "FeedBytes",
    "FeedListError",
    "FeedParseError",
    "FeedSource",
    "FetchFeedFn",
    "ParsedFeed",
    "ReadFeeds",
    "expand_sources",
    "feed_status",
    "is_url",
    "load_feed_state",
    "next_feed_state",
    "parse_feed",
    "read_feed",
    "read_local",
    "save_feed_state",
    "sniff",
    "state_path",
    "unchanged_feeds",
]
