"""``make bench`` (second part): teaser-only feeds, whose text must come from the pages.

Most big outlets' feeds carry one sentence per item, so a real run fetches a page for
nearly every article. This bench serves the bench corpus (``corpus.py``) from a news
site on eight loopback hosts (127.0.0.2 to 127.0.0.9, one outlet each), every answer
(feed, robots.txt, page) after a fixed latency (400 ms), every page wrapped in the
boilerplate real pages carry: navigation, a cookie banner, a newsletter box inside
the story, related links, most-read lists, reader comments and a footer. Each run is
``newsbeam ingest --allow-private-network`` in a fresh process:

- full text: the same stories with their whole text in the feeds (no page wanted);
- teasers: the first sentence only, so every story's page is fetched.

Some sites' robots.txt keep newsbeam out of a few pages (one by a section, one by a
wildcard rule that ``urllib.robotparser`` would read literally), one asks for a
Crawl-delay, one has no robots.txt. The site itself checks what a crawler must not
do: it counts the requests it holds at once per host and every request to a path
robots.txt disallows (the disallowed set is built from the stories, not by parsing
robots.txt). Extraction is checked against the stories themselves: a story counts
as extracted when the article's text and the story share at least 90% of their
words both ways.

Usage: ``python benchmarks/bench_fetch.py [--repeat N] [--articles N] [--latency S]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402  (process timing, records, machine info, table helpers)
import corpus as corpus_builder  # noqa: E402

HOSTS = tuple(f"127.0.0.{n}" for n in range(2, 10))
LATENCY = 0.4  # seconds before every answer
HOST_CONCURRENCY = 2  # newsbeam's default --host-concurrency
OVERLAP = 0.9  # a story is extracted when the words agree this much both ways
TARGETS = {
    "one_worker_ratio": 1.5,  # teaser run ÷ full-text run, 1 worker
    "two_worker_ratio": 1.3,  # the same on 2 workers
    "extracted_share": 0.95,
}
OUTLETS = (
    "Northgate Courier",
    "The Harbour Post",
    "Valley Ledger",
    "Eastside Chronicle",
    "Riverside Times",
    "The Morning Dispatch",
    "Coastline News",
    "The Upland Gazette",
)
# What each site's robots.txt says; None: there is none (404).
ROBOTS = (
    "User-agent: *\nDisallow: /search\nDisallow: /account/\n",
    # Everyone else is kept out; newsbeam's own group lets it in.
    "User-agent: *\nDisallow: /\n\nUser-agent: newsbeam\nAllow: /\n",
    "User-agent: newsbeam\nDisallow: /culture/\n",
    # Stories whose number ends in 5; urllib.robotparser reads '*' and '$' literally.
    "User-agent: *\nDisallow: /*/story-*5$\n",
    "User-agent: newsbeam\nCrawl-delay: 0.2\nDisallow: /admin/\n",
    None,
    "# Crawlers welcome\nUser-agent: *\nAllow: /\n",
    "User-agent: *\nDisallow: /admin/\nSitemap: /sitemap.xml\n",
)


def designed_disallowed(host_index: int, path: str) -> bool:
    """The paths the robots.txt above keep newsbeam from, written out by hand."""
    if host_index == 2:
        return path.startswith("/culture/")
    if host_index == 3:
        return re.search(r"/story-\d*5$", path) is not None
    return False


# ----------------------------------------------------------------- the site

NAV = (
    "World",
    "Europe",
    "Business",
    "Climate",
    "Health",
    "Politics",
    "Culture",
    "Sport",
    "Weather",
    "Opinion",
    "Video",
    "Podcasts",
)
COMMENTS = (
    "I have lived here for thirty years and nobody ever asked us what we wanted.",
    "Typical. Announce it on a Friday and hope nobody reads the small print.",
    "Does anyone know whether the consultation is still open? The link is broken.",
    "Good news at last, although I will believe it when I see the work start.",
    "My daughter works in this sector and says the real story is the staffing.",
    "The comments here are more informative than the article, as usual.",
)


def story_page(story: dict, outlet: str, related: list[dict]) -> bytes:
    """One story as a news site serves it: the text inside the usual furniture."""
    path = story["url"].split("/", 3)[3]
    section = path.split("/", 1)[0]
    paragraphs = [f"<p>{escape(p, quote=False)}</p>" for p in story["paragraphs"]]
    middle = max(1, len(paragraphs) // 2)
    newsletter = (
        '<aside class="newsletter-signup"><h3>Get the morning briefing</h3>'
        "<p>The five stories you need, in your inbox before breakfast.</p>"
        '<form><input type="email" placeholder="Your email"><button>Sign up'
        "</button></form></aside>"
    )
    paragraphs.insert(middle, newsletter)
    links = "".join(
        f'<li><a href="/{r["url"].split("/", 3)[3]}">{escape(r["title"])}</a></li>'
        for r in related
    )
    comments = "".join(
        f'<div class="comment"><p class="comment-author">reader{1000 + i * 37}</p>'
        f'<p class="comment-body">{escape(text)}</p>'
        '<p class="comment-meta">Reply · Report · 12 likes</p></div>'
        for i, text in enumerate(COMMENTS)
    )
    nav = "".join(f'<li><a href="/{n.lower()}/">{n}</a></li>' for n in NAV)
    title = escape(story["title"])
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} | {escape(outlet)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/site.css">
<script>window.dataLayer = window.dataLayer || [];
dataLayer.push({{page: "story"}});</script>
</head><body>
<div id="cookie-consent" class="cookie-banner" role="dialog">
<p>We and our partners use cookies to personalise content and ads, to provide social
media features and to analyse our traffic. You can change your choices at any time.</p>
<button>Accept all</button> <button>Manage preferences</button></div>
<header class="site-header"><a class="logo" href="/">{escape(outlet)}</a>
<nav class="main-nav"><ul>{nav}</ul></nav>
<form class="search" role="search"><input name="q" placeholder="Search"></form>
<a href="/account/login">Sign in</a> <a href="/subscribe">Subscribe</a></header>
<nav class="breadcrumbs"><a href="/">Home</a> › <a href="/{section}/">
{section.title()}</a></nav>
<main><article class="story">
<h1>{title}</h1>
<p class="byline">By the {escape(outlet)} newsroom</p>
<div class="story-body">
{chr(10).join(paragraphs)}
</div>
<div class="share">Share this story: Facebook · X · WhatsApp · Email</div>
</article>
<aside class="related"><h2>Related stories</h2><ul>{links}</ul></aside>
<section id="comments" class="comments"><h2>Comments ({len(COMMENTS)})</h2>
{comments}</section>
</main>
<aside class="most-read"><h2>Most read</h2><ol>{links}</ol></aside>
<footer class="site-footer"><ul><li><a href="/about">About us</a></li>
<li><a href="/contact">Contact</a></li><li><a href="/privacy">Privacy policy</a></li>
<li><a href="/terms">Terms of use</a></li></ul>
<p>© 2024 {escape(outlet)}. All rights reserved.</p></footer>
</body></html>
"""
    return html.encode("utf-8")


class Host:
    """One outlet's server on its own loopback address, and what it saw."""

    def __init__(self, index: int, latency: float):
        self.index = index
        self.address = HOSTS[index]
        self.latency = latency
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.requests: list[str] = []
        self.httpd = ThreadingHTTPServer((self.address, 0), _handler(self))
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 64
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def reset(self) -> None:
        with self.lock:
            self.most_in_flight = 0
            self.requests = []


def _handler(host: Host) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            with host.lock:
                host.in_flight += 1
                host.most_in_flight = max(host.most_in_flight, host.in_flight)
                host.requests.append(self.path)
            try:
                time.sleep(host.latency)
                status, kind, body = host.routes.get(
                    self.path, (404, "text/plain", b"not found")
                )
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with host.lock:
                    host.in_flight -= 1

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def build_site(folder: Path, articles: int, latency: float) -> tuple[list[Host], dict]:
    """Start the hosts, write both corpora with links to them, load the routes."""
    hosts = [Host(i, latency) for i in range(len(HOSTS))]
    site = {i: h.base_url for i, h in enumerate(hosts)}
    full = corpus_builder.build(
        folder / "full", articles=articles, feeds=len(hosts), site=site.get
    )
    teasers = corpus_builder.build(
        folder / "teasers",
        articles=articles,
        feeds=len(hosts),
        site=site.get,
        teasers=True,
    )
    stories = json.loads((folder / "full" / "stories.json").read_text())
    by_host: dict[int, list[dict]] = {i: [] for i in range(len(hosts))}
    for story in stories:
        index = next(
            i for i, h in enumerate(hosts) if story["url"].startswith(h.base_url + "/")
        )
        by_host[index].append(story)
    lists = {"full": [], "teasers": []}
    for host in hosts:
        rules = ROBOTS[host.index]
        if rules is not None:
            host.routes["/robots.txt"] = (200, "text/plain", rules.encode())
        for name, corpus in (("full", full), ("teasers", teasers)):
            path = corpus.feeds[host.index]
            kind = "application/atom+xml" if path.suffix == ".atom" else "text/xml"
            host.routes[f"/feeds/{name}.xml"] = (200, kind, path.read_bytes())
            lists[name].append(f"{host.base_url}/feeds/{name}.xml")
        mine = by_host[host.index]
        outlet = OUTLETS[host.index % len(OUTLETS)]
        for n, story in enumerate(mine):
            related = [mine[(n + k) % len(mine)] for k in (1, 2, 3, 5)]
            path = "/" + story["url"].split("/", 3)[3]
            host.routes[path] = (
                200,
                "text/html; charset=utf-8",
                story_page(story, outlet, related),
            )
        host.thread.start()
    feed_lists = {}
    for name, urls in lists.items():
        feed_lists[name] = folder / f"{name}.txt"
        feed_lists[name].write_text("".join(f"{u}\n" for u in urls))
    return hosts, {
        "feed_lists": feed_lists,
        "stories": stories,
        "corpus": full.describe(),
    }


# ----------------------------------------------------------------- checks


def words(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text.casefold()))


def agreement(text: str, story: dict) -> tuple[float, float]:
    """Share of the story's words in the text, and of the text's in the story."""
    want = words("\n".join([story["title"], *story["paragraphs"]]))
    got = words(text)
    common = sum((want & got).values())
    return common / max(sum(want.values()), 1), common / max(sum(got.values()), 1)


def extraction(output: Path, stories: list[dict], hosts: list[Host]) -> dict:
    """How many stories newsbeam has as their whole text, read back with DuckDB."""
    from newsbeam.pipeline.query import connect

    rows = (
        connect(str(output))
        .execute("SELECT url, text, text_source FROM articles")
        .fetchall()
    )
    by_url = {url: (text, source) for url, text, source in rows}
    allowed = extracted = from_page = kept_out = kept_out_from_page = 0
    for story in stories:
        index = next(h.index for h in hosts if story["url"].startswith(h.base_url))
        path = "/" + story["url"].split("/", 3)[3]
        text, source = by_url.get(story["url"], ("", "missing"))
        if designed_disallowed(index, path):
            kept_out += 1
            kept_out_from_page += source == "page"
            continue
        allowed += 1
        from_page += source == "page"
        recall, precision = agreement(text, story)
        extracted += recall >= OVERLAP and precision >= OVERLAP
    return {
        "stories": len(stories),
        "allowed": allowed,
        "extracted": extracted,
        "extracted_share": extracted / max(allowed, 1),
        "text_from_page": from_page,
        "disallowed_stories": kept_out,
        "disallowed_with_page_text": kept_out_from_page,
    }


def site_report(hosts: list[Host]) -> dict:
    per_host = {}
    for host in hosts:
        with host.lock:
            requests = list(host.requests)
            most = host.most_in_flight
        per_host[host.address] = {
            "most_in_flight": most,
            "requests": len(requests),
            "robots_requests": requests.count("/robots.txt"),
            "disallowed_requests": sum(
                designed_disallowed(host.index, path) for path in requests
            ),
        }
    return {
        "per_host": per_host,
        "most_in_flight": max(h["most_in_flight"] for h in per_host.values()),
        "disallowed_requests": sum(h["disallowed_requests"] for h in per_host.values()),
        "robots_requests": sum(h["robots_requests"] for h in per_host.values()),
    }


# ----------------------------------------------------------------- runs

WORKERS = {
    1: (),
    2: ("--direct_num_workers=2", "--direct_running_mode=multi_processing"),
}


def ingest(feed_list: Path, output: Path, workers: int) -> tuple[bench.Run, dict]:
    cmd = bench.newsbeam_command() + [
        "ingest",
        "--feeds",
        str(feed_list),
        "--output",
        str(output),
        "--allow-private-network",
        *WORKERS[workers],
    ]
    run = bench.run_process(cmd)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:3])} failed: {run.failed()}")
    return run, bench.latest_record(output)


def page_counts(record: dict) -> dict:
    return {k: v for k, v in record["counts"].items() if k.startswith("pages_")}


def markdown(result: dict) -> str:
    m, c, load = result["machine"], result["corpus"], result["load"]
    fmt, row, verdict = bench.fmt, bench.row, bench.verdict
    lines = [
        "`python benchmarks/bench_fetch.py` (part of `make bench`): the bench corpus "
        f"served from {len(HOSTS)} loopback hosts with {result['latency']:g} s "
        "before every answer, as full-text feeds and as teaser-only feeds whose "
        "text must come from boilerplate-laden pages.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, Beam "
        f"{m['apache_beam']}. Corpus: {c['articles']} stories, {c['words']:,} "
        f"words in {c['feeds']} feeds. Medians of {result['repeat']} interleaved "
        f"runs; load average {load['min']:.1f}–{load['max']:.1f} ({result['date']}).",
        "",
        row(
            "workers",
            "full text (s)",
            "teasers + pages (s)",
            "ratio",
            "target",
            "CPU s, full → teasers",
        ),
        row("---", "---:", "---:", "---:", "---", "---:"),
    ]
    ran = sorted(int(w) for w in result["runs"])
    for workers in ran:
        key = "one_worker_ratio" if workers == 1 else "two_worker_ratio"
        r = result["runs"][str(workers)]
        lines.append(
            row(
                workers,
                fmt(r["full_s"]),
                fmt(r["teaser_s"]),
                f"{r['ratio']:.2f}",
                f"≤ {TARGETS[key]} {verdict(r['ratio'] <= TARGETS[key])}",
                f"{fmt(r['full_cpu_s'])} → {fmt(r['teaser_cpu_s'])}",
            )
        )
    lines += [
        "",
        row("check (every teaser run)", "result", "target"),
        row("---", "---", "---"),
    ]
    for workers in ran:
        r = result["runs"][str(workers)]
        limit = HOST_CONCURRENCY * workers
        ex = r["extraction"]
        lines += [
            row(
                f"{workers} worker(s): most pages in flight to one host",
                f"{r['most_in_flight']} (limit {HOST_CONCURRENCY} per worker)",
                f"≤ {limit} {verdict(r['most_in_flight'] <= limit)}",
            ),
            row(
                f"{workers} worker(s): requests to disallowed paths",
                r["disallowed_requests"],
                f"0 {verdict(r['disallowed_requests'] == 0)}",
            ),
            row(
                f"{workers} worker(s): robots.txt requests",
                f"{r['robots_requests']} for {len(HOSTS)} sites (one answers 404)",
                "",
            ),
            row(
                f"{workers} worker(s): stories extracted (≥ {OVERLAP:.0%} of words "
                "both ways)",
                f"{ex['extracted']} of {ex['allowed']} allowed "
                f"({ex['extracted_share']:.1%}); {ex['disallowed_stories']} kept out "
                f"by robots.txt, {ex['disallowed_with_page_text']} of them with page "
                "text",
                f"≥ {TARGETS['extracted_share']:.0%} "
                f"{verdict(ex['extracted_share'] >= TARGETS['extracted_share'])}",
            ),
            row(
                f"{workers} worker(s): run record",
                ", ".join(f"{k} {v}" for k, v in r["pages"].items() if v),
                "",
            ),
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="newsbeam teaser-feeds benchmark")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved repetitions")
    parser.add_argument("--articles", type=int, default=corpus_builder.ARTICLES)
    parser.add_argument("--latency", type=float, default=LATENCY)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], choices=[1, 2]
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--results", type=Path, default=bench.RESULTS)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="newsbeam-bench-fetch-"))
    started = time.perf_counter()
    loads = [os.getloadavg()[0]]

    def say(message: str) -> None:
        print(
            f"[{time.perf_counter() - started:6.1f}s load {os.getloadavg()[0]:.1f}] "
            f"{message}",
            flush=True,
        )

    hosts: list[Host] = []
    try:
        hosts, site = build_site(scratch, args.articles, args.latency)
        say(f"site on {len(hosts)} hosts; corpus {site['corpus']}")
        collected: dict[int, dict[str, list]] = {
            w: {
                "full": [],
                "teaser": [],
                "full_cpu": [],
                "teaser_cpu": [],
                "ratio": [],
                "checks": [],
            }
            for w in args.workers
        }
        for rep in range(max(1, args.repeat)):
            for workers in args.workers:
                times = {}
                for kind, feed_list in (
                    ("full", site["feed_lists"]["full"]),
                    ("teaser", site["feed_lists"]["teasers"]),
                ):
                    for host in hosts:
                        host.reset()
                    output = scratch / f"out-{kind}-{workers}-{rep}"
                    run, record = ingest(feed_list, output, workers)
                    loads += [run.load_before, run.load_after]
                    times[kind] = run.wall_s
                    collected[workers][kind].append(run.wall_s)
                    collected[workers][f"{kind}_cpu"].append(run.cpu_s)
                    if kind == "teaser":
                        checks = site_report(hosts)
                        checks["extraction"] = extraction(
                            output, site["stories"], hosts
                        )
                        checks["pages"] = page_counts(record)
                        collected[workers]["checks"].append(checks)
                    say(
                        f"rep {rep + 1}, {workers} worker(s), {kind}: "
                        f"{run.wall_s:.1f} s, {record['counts']['articles_written']} "
                        f"articles"
                        + (
                            f", most in flight per host {checks['most_in_flight']}, "
                            f"disallowed requests {checks['disallowed_requests']}, "
                            f"extracted {checks['extraction']['extracted']}/"
                            f"{checks['extraction']['allowed']}"
                            if kind == "teaser"
                            else ""
                        )
                    )
                    shutil.rmtree(output, ignore_errors=True)
                collected[workers]["ratio"].append(times["teaser"] / times["full"])
        runs = {}
        for workers, got in collected.items():
            checks = got["checks"]
            worst = min(checks, key=lambda c: c["extraction"]["extracted_share"])
            runs[str(workers)] = {
                "full_s": bench.med(got["full"]),
                "teaser_s": bench.med(got["teaser"]),
                "ratio": bench.med(got["ratio"]),
                "full_cpu_s": bench.med(got["full_cpu"]),
                "teaser_cpu_s": bench.med(got["teaser_cpu"]),
                "full_runs_s": [round(t, 2) for t in got["full"]],
                "teaser_runs_s": [round(t, 2) for t in got["teaser"]],
                "ratios": [round(r, 3) for r in got["ratio"]],
                "most_in_flight": max(c["most_in_flight"] for c in checks),
                "disallowed_requests": sum(c["disallowed_requests"] for c in checks),
                "robots_requests": max(c["robots_requests"] for c in checks),
                "extraction": worst["extraction"],
                "pages": worst["pages"],
                "per_host": checks[-1]["per_host"],
            }
        result = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": bench.machine_info(),
            "corpus": site["corpus"],
            "latency": args.latency,
            "hosts": list(HOSTS),
            "repeat": max(1, args.repeat),
            "load": {"min": min(loads), "max": max(loads)},
            "targets": TARGETS,
            "runs": runs,
            "bench_seconds": time.perf_counter() - started,
        }
        table = markdown(result)
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / "fetch.json").write_text(json.dumps(result, indent=1) + "\n")
        (args.results / "fetch.md").write_text(table)
        print()
        print(table)
        say(f"wrote {args.results / 'fetch.json'} and fetch.md")
    finally:
        for host in hosts:
            host.httpd.shutdown()
            host.httpd.server_close()
        if args.keep:
            print(f"scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
