"""Article pages fetched concurrently and politely, checked from the site's side.

A loopback site answers slowly and counts, per Host header, how many requests it
holds at once; two spellings of the loopback address (``127.0.0.1`` and ``127.1``)
are two hosts to newsbeam. Nothing here is timed as a target: the assertions are
about what the site saw (how many at once, which paths, how far apart).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from newsbeam.schemas import Article
from newsbeam.transforms.fetch import (
    DISALLOWED,
    FETCHED,
    TRIED,
    USED,
    FailingHosts,
    FetchFullText,
    PagePool,
    failed,
)
from newsbeam.transforms.http import FetchOptions
from newsbeam.transforms.text import article_text, word_count
from servers import Route, redirect, serve

RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
WHEN = datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
LOOPBACK = FetchOptions(allow_private_network=True, deadline=5.0, retries=0)
HTML = {"Content-Type": "text/html; charset=utf-8"}


def page(title: str, delay: float = 0.0) -> Route:
    """A story page: navigation and a footer around enough paragraphs to win."""
    sentence = (
        f"The council said on Tuesday that the {title.lower()} would go ahead after "
        "months of talks with residents, engineers and the regional transport board. "
    )
    paragraphs = "".join(f"<p>{sentence * 4}</p>\n" for _ in range(5))
    body = (
        f"<html><head><title>{title} | Daily</title></head><body>"
        '<nav><a href="/">Home</a> <a href="/sport">Sport</a></nav>'
        f"<article><h1>{title}</h1>\n{paragraphs}</article>"
        "<footer>Copyright Daily. All rights reserved.</footer></body></html>"
    )
    return Route(body=body, headers=HTML, delay=delay)


def teaser(url: str, guid: str, feed: str = "https://daily.example/rss") -> Article:
    text = article_text(guid.title(), "A council decision, in one sentence.")
    return Article(
        article_id=guid,
        feed_url=feed,
        source="Daily",
        outlet="Daily",
        outlet_country=None,
        url=url,
        guid=guid,
        title=guid.title(),
        published_at=WHEN,
        date_source="published",
        fetched_at=WHEN,
        language="en",
        text=text,
        word_count=word_count(text),
        text_source="feed",
    )


def run_stage(
    articles: list[Article], expect_sources: dict, expect_counts: dict, **stage
) -> None:
    """Run FetchFullText over ``articles``; check each text source and the counts
    on the stage's ``pages`` output."""
    options = stage.pop("options", LOOPBACK)
    with TestPipeline(runner=RUNNER) as pipeline:
        out = pipeline | beam.Create(articles) | FetchFullText("auto", options, **stage)
        assert_that(
            out["articles"] | beam.Map(lambda a: (a.guid, a.text_source)),
            equal_to(sorted(expect_sources.items())),
        )
        assert_that(
            out["pages"] | beam.Map(lambda p: p[1]) | beam.combiners.Count.PerElement(),
            equal_to(sorted(expect_counts.items())),
            label="PageCounts",
        )


# ------------------------------------------------------------------ PagePool


def test_pool_gives_one_result_per_job_within_its_limits():
    lock = threading.Lock()
    running: Counter = Counter()
    most: Counter = Counter()

    def work(job):
        host, n = job
        with lock:
            running[host] += 1
            running["all"] += 1
            most[host] = max(most[host], running[host])
            most["all"] = max(most["all"], running["all"])
        time.sleep(0.02)
        with lock:
            running[host] -= 1
            running["all"] -= 1
        if n == 7:
            raise ValueError("a bug in one job")
        return job

    pool = PagePool(work, lambda job, error: ("error", job), threads=5, per_host=2)
    jobs = [(f"h{n % 4}", n) for n in range(40)]
    results = []
    for job in jobs:
        pool.submit(job[0], job)
        results += pool.ready()
    while pool.pending:
        results.append(pool.wait_one())
    pool.close()
    assert len(results) == 40
    assert ("error", ("h3", 7)) in results
    assert {r for r in results if r[0] != "error"} == set(jobs) - {("h3", 7)}
    assert max(most[f"h{i}"] for i in range(4)) == 2
    assert most["all"] == 5


def test_pool_forgets_the_jobs_of_an_abandoned_bundle():
    release = threading.Event()
    pool = PagePool(lambda job: release.wait(5) and job, lambda j, e: j, 2, 0)
    for n in range(6):
        pool.submit("h", n)
    pool.forget()
    release.set()
    pool.submit("h", "new")
    assert pool.wait_one() == "new"
    time.sleep(0.05)
    assert pool.ready() == [] and pool.pending == 0
    pool.close()


def test_failing_host_is_skipped_after_a_streak_and_forgiven_later():
    hosts = FailingHosts(after=3, pause=60)
    timeout = (TRIED, *failed("timeout"))
    for _ in range(2):
        hosts.record("down.example", timeout, now=0)
    hosts.record("down.example", (TRIED, FETCHED, USED), now=0)  # streak broken
    for _ in range(3):
        hosts.check("down.example", now=1)
        hosts.record("down.example", timeout, now=1)
    with pytest.raises(Exception, match="host_failing"):
        hosts.check("down.example", now=2)
    hosts.check("down.example", now=62)
    hosts.check("up.example", now=2)


# ------------------------------------------------------------------ the stage


def test_pages_overlap_but_never_more_than_the_limit_per_host():
    routes = {f"/story-{n}": page(f"Bridge plan {n}", delay=0.3) for n in range(8)}
    with serve(routes) as site:
        hosts = ("127.0.0.1", "127.1")
        articles = [
            teaser(f"http://{host}:{site.port}/story-{n}", f"{host}-{n}")
            for host in hosts
            for n in range(8)
        ]
        run_stage(
            articles,
            {a.guid: "page" for a in articles},
            {TRIED: 16, FETCHED: 16, USED: 16},
            options=FetchOptions(**{**LOOPBACK.__dict__, "host_concurrency": 2}),
            threads=8,
        )
        most = {host: site.most_in_flight[f"{host}:{site.port}"] for host in hosts}
        requested = Counter(r.path for r in site.requests)
    assert most == {"127.0.0.1": 2, "127.1": 2}  # in flight together, never 3
    assert requested["/robots.txt"] == 2  # once per site
    assert all(requested[f"/story-{n}"] == 2 for n in range(8))


def test_one_page_at_a_time_when_the_host_allows_one():
    routes = {f"/story-{n}": page(f"Harbour {n}", delay=0.1) for n in range(4)}
    with serve(routes) as site:
        articles = [teaser(site.url(f"/story-{n}"), f"s{n}") for n in range(4)]
        run_stage(
            articles,
            {a.guid: "page" for a in articles},
            {TRIED: 4, FETCHED: 4, USED: 4},
            options=FetchOptions(**{**LOOPBACK.__dict__, "host_concurrency": 1}),
        )
        assert site.most_in_flight[f"127.0.0.1:{site.port}"] == 1


ROBOTS = b"""User-agent: *
Disallow: /

User-agent: newsbeam
Disallow: /*/private-
Allow: /
"""


def test_robots_txt_is_read_once_obeyed_on_every_hop_and_counted():
    routes = {
        "/robots.txt": Route(body=ROBOTS, headers={"Content-Type": "text/plain"}),
        "/news/a": page("Open story"),
        "/news/private-b": page("Members story"),
        "/news/c": redirect("/news/private-c"),
        "/news/private-c": page("Moved members story"),
        "/news/d": page("Another open story"),
    }
    with serve(routes) as site:
        articles = [
            teaser(site.url(p), guid)
            for guid, p in [
                ("a", "/news/a"),
                ("b", "/news/private-b"),
                ("c", "/news/c"),
                ("d", "/news/d"),
            ]
        ]
        run_stage(
            articles,
            {"a": "page", "b": "feed", "c": "feed", "d": "page"},
            {TRIED: 4, FETCHED: 2, USED: 2, DISALLOWED: 2},
        )
        requested = Counter(r.path for r in site.requests)
        agents = {r.headers["user-agent"] for r in site.requests}
    assert requested["/robots.txt"] == 1
    assert requested["/news/private-b"] == 0 and requested["/news/private-c"] == 0
    assert requested["/news/c"] == 1  # the redirect's target was checked, not fetched
    assert len(agents) == 1 and agents.pop().startswith("newsbeam/")


def test_ignore_robots_fetches_without_asking():
    routes = {"/robots.txt": Route(body=ROBOTS), "/news/private-b": page("Members")}
    with serve(routes) as site:
        run_stage(
            [teaser(site.url("/news/private-b"), "b")],
            {"b": "page"},
            {TRIED: 1, FETCHED: 1, USED: 1},
            obey_robots=False,
        )
        assert site.hits("/robots.txt") == 0


def test_crawl_delay_spaces_the_requests_to_its_host():
    rules = b"User-agent: newsbeam\nCrawl-delay: 0.4\n"
    routes = {"/robots.txt": Route(body=rules)} | {
        f"/s{n}": page(f"Story {n}") for n in range(4)
    }
    with serve(routes) as site:
        articles = [teaser(site.url(f"/s{n}"), f"s{n}") for n in range(4)]
        run_stage(
            articles,
            {a.guid: "page" for a in articles},
            {TRIED: 4, FETCHED: 4, USED: 4},
        )
        starts = sorted(r.at for r in site.requests if r.path != "/robots.txt")
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(gaps) == 3 and min(gaps) >= 0.38


def test_an_unreachable_robots_txt_keeps_every_page_of_the_site_away():
    routes = {"/robots.txt": Route(status=503), "/a": page("A"), "/b": page("B")}
    with serve(routes) as site:
        run_stage(
            [teaser(site.url("/a"), "a"), teaser(site.url("/b"), "b")],
            {"a": "feed", "b": "feed"},
            {TRIED: 2, "pages_failed": 2, "pages_failed_robots_unreachable": 2},
        )
        assert site.hits("/robots.txt") == 1  # asked once, not once per page
        assert site.hits("/a") == site.hits("/b") == 0


def test_a_site_that_keeps_timing_out_is_skipped_after_a_few_pages():
    slow = Route(body=b"late", delay=2.0)
    routes = {"/robots.txt": Route(status=404)} | {f"/s{n}": slow for n in range(8)}
    options = FetchOptions(
        **{**LOOPBACK.__dict__, "deadline": 0.3, "host_concurrency": 1}
    )
    with serve(routes) as site:
        articles = [teaser(site.url(f"/s{n}"), f"s{n}") for n in range(8)]
        run_stage(
            articles,
            {a.guid: "feed" for a in articles},
            {
                TRIED: 8,
                "pages_failed": 8,
                "pages_failed_timeout": 3,
                "pages_failed_host_failing": 5,
            },
            options=options,
        )
        assert sum(site.hits(f"/s{n}") for n in range(8)) == 3


# ------------------------------------------------------------------ end to end


def rss(items: list[tuple[str, str]]) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>Sat, 01 Nov 2025 10:00:00 +0000</pubDate>"
        f"<description>A council decision, in one sentence.</description></item>"
        for title, link in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Daily</title><link>https://daily.example/</link>{entries}"
        "</channel></rss>"
    )


@pytest.mark.model
def test_run_record_counts_pages_by_outcome(tmp_path: Path):
    from newsbeam.pipeline.cli import main

    short = "<html><body><article><p>Council approves plan.</p></article></body>"
    routes = {
        "/robots.txt": Route(body=b"User-agent: newsbeam\nDisallow: /members/\n"),
        "/news/bridge": page("Bridge plan approved"),
        "/news/harbour": page("Harbour plan approved"),
        "/news/short": Route(body=short, headers=HTML),
        "/news/empty": Route(body="<html><body></body></html>", headers=HTML),
        "/news/pdf": Route(
            body=b"%PDF-1.4", headers={"Content-Type": "application/pdf"}
        ),
        "/members/vote": page("Members vote"),
    }
    with serve(routes) as site:
        links = [
            ("Bridge plan approved", site.url("/news/bridge")),
            ("Harbour plan approved", site.url("/news/harbour")),
            ("Short page", site.url("/news/short")),
            ("A PDF", site.url("/news/pdf")),
            ("Empty page", site.url("/news/empty")),
            ("Missing page", site.url("/news/gone")),
            ("Members vote", site.url("/members/vote")),
        ]
        feed = tmp_path / "daily.xml"
        feed.write_text(rss(links), "utf-8")
        output = tmp_path / "out"
        code = main(
            [
                "ingest",
                "--feeds",
                str(feed),
                "--output",
                str(output),
                "--allow-private-network",
                "--http-retries",
                "0",
                "--contact-url",
                "https://ops.example/newsbeam",
            ]
        )
        requested = Counter(r.path for r in site.requests)
        agents = {r.headers["user-agent"] for r in site.requests}
    assert code == 0
    record = json.loads(next((output / "_runs").glob("*.json")).read_text())
    counts = record["counts"]
    assert {k: v for k, v in counts.items() if k.startswith("pages_")} == {
        "pages_tried": 7,
        "pages_fetched": 5,
        "pages_used": 2,
        "pages_not_longer": 1,
        "pages_disallowed": 1,
        "pages_failed": 3,
        "pages_failed_http_404": 1,
        "pages_failed_no_text": 1,
        "pages_failed_not_html": 1,
    }
    row = record["feeds"][0]
    assert (row["pages_used"], row["pages_disallowed"], row["pages_failed"]) == (
        2,
        1,
        3,
    )
    assert requested["/members/vote"] == 0 and requested["/robots.txt"] == 1
    assert len(agents) == 1
    assert next(iter(agents)).endswith(" (+https://ops.example/newsbeam)")


@pytest.mark.model
@pytest.mark.slow
def test_streaming_fetches_pages_through_the_same_stage(tmp_path: Path):
    from newsbeam.pipeline.cli import main
    from newsbeam.pipeline.query import connect

    routes = {
        "/robots.txt": Route(body=b"User-agent: newsbeam\nDisallow: /members/\n"),
        "/news/bridge": page("Bridge plan approved"),
        "/members/vote": page("Members vote"),
    }
    with serve(routes) as site:
        feed = tmp_path / "daily.xml"
        feed.write_text(
            rss(
                [
                    ("Bridge plan approved", site.url("/news/bridge")),
                    ("Members vote", site.url("/members/vote")),
                ]
            ),
            "utf-8",
        )
        output = tmp_path / "out"
        code = main(
            [
                "ingest",
                "--streaming",
                "--feeds",
                str(feed),
                "--output",
                str(output),
                "--poll-interval",
                "1",
                "--max-polls",
                "1",
                "--allow-private-network",
            ]
        )
        assert site.hits("/members/vote") == 0
    assert code == 0
    sources = dict(
        connect(str(output))
        .execute("SELECT title, text_source FROM articles")
        .fetchall()
    )
    assert sources == {"Bridge plan approved": "page", "Members vote": "feed"}
    record = json.loads(next((output / "_runs").glob("*.json")).read_text())
    counts = record["counts"]
    assert (counts["pages_used"], counts["pages_disallowed"]) == (1, 1)
