"""robots.txt for article pages: read once per site, obeyed, as RFC 9309 says.

Feeds are the operator's choice, but an article page is a site's, and the site says
in its robots.txt what crawlers may fetch. newsbeam reads it once per site (scheme,
host and port) per run in each worker process, through the same client as every other
request (timeouts, size cap, SSRF guard, the host's politeness turn), and obeys the
group for its product token ``newsbeam``, else ``*``.

What an answer means, per RFC 9309 section 2.3.1:

- 2xx: the rules are parsed (Protego: longest match wins, ``*`` and ``$``
  wildcards, ``Allow`` wins a tie; ``urllib.robotparser`` takes the first match and
  reads ``*`` literally, so ``Disallow: /*?print=`` would allow every print page).
- 4xx, or more than five redirects: there are no rules; everything is allowed.
- 5xx, 429, a timeout or a dropped connection: the site could not say, and the RFC
  says a crawler must then assume it may fetch nothing. Every page of the site keeps
  its feed text (``robots_unreachable``) until robots.txt is asked again, ten
  minutes later. A failing server is often an overloaded one, and an unanswered
  robots.txt is not a permission; the cost is only the full text of that site's pages.

``Crawl-delay`` (not in the RFC, but what many sites use to ask for less traffic)
raises the host's spacing between requests. A delay over ``MAX_CRAWL_DELAY`` cannot be
honoured within a run (fifty pages an hour apart), so such a site's pages are not
fetched at all, as Apache Nutch does with its ``fetcher.max.crawl.delay``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from urllib.parse import urlsplit

from newsbeam.transforms.http import PRODUCT, FetchError, FetchOptions, fetch
from protego import Protego

KEEP_RULES = 24 * 3600.0  # RFC 9309 2.4: do not use a cached copy for longer than 24 h
ASK_AGAIN = 600.0  # seconds before an unreachable robots.txt is asked again
MAX_CRAWL_DELAY = 30.0  # seconds; a site asking more is not fetched

# Errors that would refuse the page itself just the same: reported as they are.
_PAGE_WOULD_FAIL = frozenset(
    {"bad_url", "bad_scheme", "dns_error", "private_address", "tls_error"}
)
# More than five redirects: RFC 9309 lets a crawler take robots.txt as unavailable.
_UNAVAILABLE = frozenset({"too_many_redirects", "redirect_loop"})


def robots_url(url: str) -> str:
    """Where the rules for ``url`` live: ``/robots.txt`` of its scheme, host, port."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}/robots.txt"


@dataclass(frozen=True)
class RobotsRules:
    """What one site's robots.txt says to newsbeam.

    ``refusal`` set: no page of the site may be fetched, for that reason. Else
    ``parser`` holds the rules, or is None when there are none (allow all).
    """

    parser: Protego | None = None
    refusal: str | None = None
    detail: str = ""

    def check(self, url: str) -> float:
        """The crawl delay the site asks for, or FetchError if ``url`` may not be
        fetched (``disallowed``, ``crawl_delay_too_long`` or the refusal)."""
        if self.refusal:
            raise FetchError(self.refusal, self.detail)
        if self.parser is None:
            return 0.0
        if not self.parser.can_fetch(url, PRODUCT):
            raise FetchError("disallowed", f"robots.txt disallows {url}")
        delay = self.parser.crawl_delay(PRODUCT) or 0.0
        if delay > MAX_CRAWL_DELAY:
            raise FetchError(
                "crawl_delay_too_long",
                f"Crawl-delay {delay:g}s over {MAX_CRAWL_DELAY:g}s for {url}",
            )
        return delay


def rules_from_body(body: bytes) -> RobotsRules:
    """The rules in a robots.txt body (UTF-8 by the RFC; bad bytes are replaced)."""
    text = body.decode("utf-8", "replace").lstrip("\ufeff")
    return RobotsRules(parser=Protego.parse(text))


def rules_from_error(error: FetchError) -> RobotsRules:
    """What a failed robots.txt request means for the site's pages (RFC 9309 2.3.1)."""
    status = error.http_status
    if error.reason in _UNAVAILABLE:
        return RobotsRules()
    if status is not None and 400 <= status < 500 and status != 429:
        return RobotsRules()  # no robots.txt: nothing is disallowed
    if error.reason in _PAGE_WOULD_FAIL:
        return RobotsRules(refusal=error.reason, detail=error.detail)
    return RobotsRules(
        refusal="robots_unreachable", detail=f"robots.txt: {error.reason}"
    )


def read_robots(url: str, options: FetchOptions) -> RobotsRules:
    """Fetch and interpret the robots.txt that governs ``url``; never raises."""
    try:
        result = fetch(robots_url(url), options, trusted=False)
    except FetchError as error:
        return rules_from_error(error)
    return rules_from_body(result.body)


@dataclass
class _Entry:
    rules: Future
    expires: float = float("inf")  # until the answer is in


class RobotsCache:
    """Each site's rules, read once and shared by every thread of a worker process.

    The first page of a site fetches its robots.txt; other pages of the site that
    arrive meanwhile wait for that answer instead of asking again.
    """

    def __init__(
        self,
        options: FetchOptions,
        read: Callable[[str, FetchOptions], RobotsRules] = read_robots,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._options = options
        self._read = read
        self._clock = clock
        self._lock = threading.Lock()
        self._sites: dict[str, _Entry] = {}

    def rules_for(self, url: str) -> RobotsRules:
        site = robots_url(url)
        with self._lock:
            entry = self._sites.get(site)
            mine = entry is None or entry.expires <= self._clock()
            if mine:
                entry = self._sites[site] = _Entry(Future())
        if mine:
            try:
                rules = self._read(url, self._options)
            except (
                BaseException
            ) as error:  # waiters get it too; the next page asks again
                entry.expires = self._clock()
                entry.rules.set_exception(error)
                raise
            keep = ASK_AGAIN if rules.refusal else KEEP_RULES
            entry.expires = self._clock() + keep
            entry.rules.set_result(rules)
        return entry.rules.result()

    def permit(self, url: str) -> float:
        """For ``fetch(permit=...)``: the site's crawl delay, or FetchError."""
        return self.rules_for(url).check(url)
