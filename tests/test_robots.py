"""robots.txt: what each answer means (RFC 9309), matching, caching, a real server."""

from __future__ import annotations

import threading
import time

import pytest
from newsbeam.transforms.http import FetchError, FetchOptions
from newsbeam.transforms.robots import (
    ASK_AGAIN,
    KEEP_RULES,
    MAX_CRAWL_DELAY,
    RobotsCache,
    RobotsRules,
    read_robots,
    robots_url,
    rules_from_body,
    rules_from_error,
)
from servers import Route, redirect, serve

LOOPBACK = FetchOptions(allow_private_network=True, deadline=3.0, retries=0)

SITE_RULES = b"""# Everyone else may fetch nothing; newsbeam has its own group.
User-agent: *
Disallow: /

User-agent: NewsBeam
Disallow: /*/print$
Disallow: /drafts/
Allow: /drafts/published/
Crawl-delay: 2.5
"""


def refusal(rules: RobotsRules, url: str) -> str | None:
    try:
        rules.check(url)
    except FetchError as e:
        return e.reason
    return None


def test_robots_url_keeps_scheme_host_and_port():
    assert robots_url("https://News.Example/a/b?c=1#d") == (
        "https://news.example/robots.txt"
    )
    assert robots_url("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/robots.txt"


def test_newsbeam_obeys_its_own_group_with_longest_match_and_wildcards():
    rules = rules_from_body(SITE_RULES)
    site = "https://news.example"
    assert refusal(rules, f"{site}/world/bridge") is None  # '*' forbids; ours allows
    assert refusal(rules, f"{site}/world/bridge/print") == "disallowed"
    assert refusal(rules, f"{site}/world/bridge/print?x=1") is None  # '$' anchors
    assert refusal(rules, f"{site}/drafts/story") == "disallowed"
    assert refusal(rules, f"{site}/drafts/published/story") is None  # longer wins
    assert rules.check(f"{site}/world/bridge") == 2.5


def test_the_star_group_applies_when_newsbeam_has_none():
    rules = rules_from_body(
        b"User-agent: otherbot\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\n"
    )
    assert refusal(rules, "http://s.example/private/a") == "disallowed"
    assert refusal(rules, "http://s.example/public/a") is None


def test_empty_html_or_broken_bodies_allow_everything():
    for body in (b"", b"<html><body>Not found</body></html>", b"\xff\xfe\x00garbage"):
        assert refusal(rules_from_body(body), "http://s.example/a") is None


def test_a_crawl_delay_too_long_to_honour_keeps_the_pages_away():
    body = f"User-agent: *\nCrawl-delay: {MAX_CRAWL_DELAY + 1:g}\n".encode()
    assert refusal(rules_from_body(body), "http://s.example/a") == (
        "crawl_delay_too_long"
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (FetchError("http_404", "", 404), None),  # no robots.txt: allow all
        (FetchError("http_403", "", 403), None),  # RFC 9309: any 4xx allows all
        (FetchError("too_many_redirects", "", 301), None),
        (FetchError("http_429", "", 429), "robots_unreachable"),
        (FetchError("http_503", "", 503), "robots_unreachable"),
        (FetchError("timeout", "deadline"), "robots_unreachable"),
        (FetchError("connection_error", "reset"), "robots_unreachable"),
        (FetchError("private_address", "10.0.0.1"), "private_address"),
        (FetchError("dns_error", "nope.example"), "dns_error"),
    ],
)
def test_what_a_failed_robots_request_means(error, expected):
    assert refusal(rules_from_error(error), "http://s.example/a") == expected


def test_cache_reads_each_site_once_even_when_many_threads_ask_at_once():
    calls = []
    lock = threading.Lock()

    def read(url: str, options: FetchOptions) -> RobotsRules:
        with lock:
            calls.append(robots_url(url))
        time.sleep(0.1)  # every thread arrives while the first read is under way
        return rules_from_body(b"User-agent: *\nDisallow: /private/\n")

    cache = RobotsCache(LOOPBACK, read=read)
    urls = [f"http://s{i % 2}.example/a{i}" for i in range(10)]
    threads = [threading.Thread(target=cache.permit, args=(u,)) for u in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(calls) == [
        "http://s0.example/robots.txt",
        "http://s1.example/robots.txt",
    ]
    with pytest.raises(FetchError, match="disallowed"):
        cache.permit("http://s0.example/private/x")


def test_cache_asks_again_after_an_unreachable_answer_or_a_day():
    now = [0.0]
    answers = [FetchError("http_503", "", 503), None]
    calls = []

    def read(url: str, options: FetchOptions) -> RobotsRules:
        calls.append(url)
        answer = answers[min(len(calls) - 1, 1)]
        return rules_from_error(answer) if answer else RobotsRules()

    cache = RobotsCache(LOOPBACK, read=read, clock=lambda: now[0])
    url = "http://s.example/a"
    with pytest.raises(FetchError, match="robots_unreachable"):
        cache.permit(url)
    now[0] = ASK_AGAIN - 1
    with pytest.raises(FetchError, match="robots_unreachable"):
        cache.permit(url)
    assert len(calls) == 1
    now[0] = ASK_AGAIN + 1
    assert cache.permit(url) == 0.0
    now[0] += KEEP_RULES - 10
    cache.permit(url)
    assert len(calls) == 2
    now[0] += 20
    cache.permit(url)
    assert len(calls) == 3


def test_a_reader_that_fails_does_not_leave_waiters_hanging():
    def read(url: str, options: FetchOptions) -> RobotsRules:
        raise RuntimeError("parser bug")

    cache = RobotsCache(LOOPBACK, read=read)
    for _ in range(2):  # the failed entry is not kept: the next page asks again
        with pytest.raises(RuntimeError):
            cache.permit("http://s.example/a")


# ------------------------------------------------------------------ real server


def test_read_robots_from_a_loopback_site():
    routes = {
        "/robots.txt": Route(body=SITE_RULES, headers={"Content-Type": "text/plain"})
    }
    with serve(routes) as server:
        rules = read_robots(server.url("/world/a"), LOOPBACK)
        assert refusal(rules, server.url("/drafts/b")) == "disallowed"
        assert server.requests[0].headers["user-agent"].startswith("newsbeam/")


def test_robots_behind_a_redirect_and_missing_robots():
    with serve(
        {
            "/robots.txt": redirect("/real-robots.txt"),
            "/real-robots.txt": Route(body=b"User-agent: *\nDisallow: /\n"),
        }
    ) as server:
        assert refusal(read_robots(server.url("/a"), LOOPBACK), server.url("/a")) == (
            "disallowed"
        )
    with serve({}) as server:  # 404 everywhere
        assert (
            refusal(read_robots(server.url("/a"), LOOPBACK), server.url("/a")) is None
        )


def test_robots_txt_of_a_private_site_is_refused_like_its_pages():
    with serve({"/robots.txt": Route(body=b"")}) as server:
        options = FetchOptions(deadline=3.0, retries=0)  # no private network
        rules = read_robots(server.url("/a"), options)
        assert refusal(rules, server.url("/a")) == "private_address"
        assert server.hits("/robots.txt") == 0
