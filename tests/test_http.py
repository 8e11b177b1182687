"""The HTTP client against real loopback servers: limits, redirects, retries, SSRF."""

from __future__ import annotations

import gzip
import re
import threading
import time
import zlib

import pytest
from newsbeam.transforms.http import (
    HOSTS,
    FetchError,
    FetchOptions,
    check_contact_url,
    decompress,
    fetch,
    is_public_address,
    user_agent,
)
from servers import Route, gzipped, redirect, serve, unaccepting_port

FAST = FetchOptions(
    connect_timeout=1.0,
    read_timeout=1.0,
    deadline=3.0,
    retries=2,
    backoff=0.01,
    max_retry_after=0.05,
)


def reason_of(url: str, options: FetchOptions = FAST, *, trusted: bool = True) -> str:
    with pytest.raises(FetchError) as caught:
        fetch(url, options, trusted=trusted)
    return caught.value.reason


# ------------------------------------------------------------------ success


def test_fetch_returns_body_headers_and_validators():
    route = Route(
        body=b"<rss/>",
        headers={
            "Content-Type": "application/rss+xml; charset=utf-8",
            "ETag": '"v1"',
            "Last-Modified": "Sat, 01 Nov 2025 10:00:00 GMT",
        },
    )
    with serve({"/feed": route}) as server:
        result = fetch(server.url("/feed"), FAST, trusted=True)
        sent = server.requests[0].headers
    assert result.status == 200
    assert result.body == b"<rss/>"
    assert result.media_type == "application/rss+xml"
    assert result.charset == "utf-8"
    assert result.etag == '"v1"'
    assert result.last_modified == "Sat, 01 Nov 2025 10:00:00 GMT"
    assert not result.not_modified
    assert sent["user-agent"].startswith("newsbeam/")
    assert "gzip" in sent["accept-encoding"]


def test_conditional_get_reports_not_modified():
    def answer(request):
        if request.headers.get("if-none-match") == '"v1"':
            return Route(status=304)
        return Route(body=b"fresh", headers={"ETag": '"v1"'})

    with serve({"/feed": answer}) as server:
        first = fetch(server.url("/feed"), FAST, trusted=True)
        second = fetch(
            server.url("/feed"),
            FAST,
            trusted=True,
            etag=first.etag,
            last_modified="Sat, 01 Nov 2025 10:00:00 GMT",
        )
        sent = server.requests[1].headers
    assert second.not_modified and second.status == 304 and second.body == b""
    assert sent["if-modified-since"] == "Sat, 01 Nov 2025 10:00:00 GMT"


def test_gzip_with_and_without_content_encoding_is_decompressed():
    routes = {
        "/declared": Route(body=gzipped("hello"), headers={"Content-Encoding": "gzip"}),
        "/undeclared": Route(body=gzipped("hello")),
        "/deflate": Route(
            body=zlib.compress(b"hello"), headers={"Content-Encoding": "deflate"}
        ),
    }
    with serve(routes) as server:
        bodies = [fetch(server.url(p), FAST, trusted=True).body for p in routes]
    assert bodies == [b"hello", b"hello", b"hello"]


def test_chunked_or_close_delimited_body_is_read_to_the_end():
    with serve({"/": Route(body=b"x" * 100_000, content_length=False)}) as server:
        assert len(fetch(server.url("/"), FAST, trusted=True).body) == 100_000


# ------------------------------------------------------------------ limits


def test_body_over_max_bytes_is_refused():
    small = FetchOptions(max_bytes=1000, deadline=3.0)
    routes = {
        "/declared": Route(body=b"x" * 2000),
        "/undeclared": Route(body=b"x" * 2000, content_length=False),
    }
    with serve(routes) as server:
        assert reason_of(server.url("/declared"), small) == "too_large"
        assert reason_of(server.url("/undeclared"), small) == "too_large"


def test_gzip_bomb_stops_at_the_decompressed_cap():
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))  # ~20 KB on the wire
    options = FetchOptions(max_bytes=1024 * 1024, deadline=3.0)
    with serve({"/bomb": Route(body=bomb, headers={"Content-Encoding": "gzip"})}) as s:
        assert len(bomb) < options.max_bytes
        assert reason_of(s.url("/bomb"), options) == "too_large"


def test_body_labelled_gzip_but_plain_is_kept():
    assert decompress(b"<rss/>", "gzip", 1000) == b"<rss/>"


def test_defaults_are_the_documented_limits():
    options = FetchOptions()
    assert (options.connect_timeout, options.read_timeout, options.deadline) == (
        10.0,
        10.0,
        30.0,
    )
    assert options.max_bytes == 10 * 1024 * 1024
    assert (options.max_redirects, options.retries) == (5, 2)
    assert re.fullmatch(
        r"newsbeam/[0-9][^ ]* \(\+https://github\.com/newsbeam/newsbeam\)",
        options.user_agent,
    )
    assert not options.allow_private_network
    assert (options.host_concurrency, options.min_host_delay) == (2, 0.0)


def test_user_agent_names_newsbeam_and_the_operators_contact():
    agent = user_agent(check_contact_url(" https://news.example.org/crawler "))
    assert agent.startswith("newsbeam/")
    assert agent.endswith(" (+https://news.example.org/crawler)")
    assert user_agent(check_contact_url("mailto:ops@example.org")).endswith(
        "(+mailto:ops@example.org)"
    )
    for bad in ("", "two words", "https://x.example/(a)", "https://x/\nX: y"):
        with pytest.raises(ValueError, match="--contact-url"):
            check_contact_url(bad)


def test_user_agent_is_sent():
    options = FetchOptions(user_agent=user_agent("https://ops.example/"), deadline=3.0)
    with serve({"/": Route(body=b"ok")}) as server:
        fetch(server.url("/"), options, trusted=True)
    assert server.requests[0].headers["user-agent"] == options.user_agent


def test_decompress_rejects_corrupt_gzip():
    with pytest.raises(FetchError) as caught:
        decompress(b"\x1f\x8b" + b"garbage" * 10, None, 1000)
    assert caught.value.reason == "bad_encoding"


def test_read_timeout():
    options = FetchOptions(read_timeout=0.2, deadline=3.0, retries=0)
    with serve({"/slow": Route(body=b"late", delay=2.0)}) as server:
        started = time.monotonic()
        assert reason_of(server.url("/slow"), options) == "timeout"
    assert time.monotonic() - started < 1.5


def test_slow_drip_body_hits_the_deadline():
    # Each chunk arrives well within the read timeout; only the deadline stops it.
    options = FetchOptions(read_timeout=1.0, deadline=0.5, retries=0)
    drip = Route(body=b"x" * 1000, drip=0.05, chunk_size=1)
    with serve({"/drip": drip}) as server:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(server.url("/drip"), options, trusted=True)
    assert caught.value.reason == "timeout"
    assert "deadline" in caught.value.detail
    assert time.monotonic() - started < 1.5


def test_connect_timeout():
    options = FetchOptions(connect_timeout=0.2, deadline=3.0, retries=0)
    with unaccepting_port() as port:
        started = time.monotonic()
        assert reason_of(f"http://127.0.0.1:{port}/", options) == "timeout"
    assert time.monotonic() - started < 1.5


def test_connection_reset_is_a_connection_error_after_bounded_retries():
    with serve({"/reset": Route(body=b"x", reset=True)}) as server:
        assert reason_of(server.url("/reset")) == "connection_error"
        assert server.hits("/reset") == 1 + FAST.retries


# ------------------------------------------------------------------ redirects


def test_redirects_are_followed_and_final_url_reported():
    routes = {
        "/a": redirect("/b", 301),
        "/b": redirect("/c", 307),
        "/c": Route(body=b"here"),
    }
    with serve(routes) as server:
        result = fetch(server.url("/a"), FAST, trusted=True)
    assert result.body == b"here"
    assert result.final_url == server.url("/c")


def test_redirect_loop_and_too_many_redirects():
    chain = {f"/{i}": redirect(f"/{i + 1}") for i in range(10)}
    loop = {"/x": redirect("/y"), "/y": redirect("/x")}
    with serve({**chain, **loop}) as server:
        assert reason_of(server.url("/x")) == "redirect_loop"
        assert reason_of(server.url("/0")) == "too_many_redirects"


def test_redirect_to_another_scheme_is_refused():
    with serve({"/": redirect("file:///etc/passwd")}) as server:
        assert reason_of(server.url("/")) == "bad_scheme"


# ------------------------------------------------------------------ statuses


@pytest.mark.parametrize("status", [404, 410, 403])
def test_client_errors_are_not_retried(status):
    with serve({"/gone": Route(status=status)}) as server:
        with pytest.raises(FetchError) as caught:
            fetch(server.url("/gone"), FAST, trusted=True)
        assert server.hits("/gone") == 1
    assert caught.value.reason == f"http_{status}"
    assert caught.value.http_status == status


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_then_succeeds(status):
    busy = Route(status=status, headers={"Retry-After": "1"})
    with serve({"/busy": [busy, Route(body=b"ok")]}) as server:
        started = time.monotonic()
        result = fetch(server.url("/busy"), FAST, trusted=True)
        assert server.hits("/busy") == 2
    assert result.body == b"ok"
    assert time.monotonic() - started < 1.0  # Retry-After capped by max_retry_after


def test_retry_after_as_http_date_is_accepted():
    busy = Route(status=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    with serve({"/busy": [busy, Route(body=b"ok")]}) as server:
        assert fetch(server.url("/busy"), FAST, trusted=True).body == b"ok"


def test_server_errors_are_retried_a_bounded_number_of_times():
    with serve({"/down": Route(status=500)}) as server:
        assert reason_of(server.url("/down")) == "http_500"
        assert server.hits("/down") == 1 + FAST.retries


def test_retry_wait_longer_than_the_deadline_gives_up_at_once():
    options = FetchOptions(deadline=0.5, max_retry_after=30.0)
    with serve({"/busy": Route(status=429, headers={"Retry-After": "10"})}) as server:
        started = time.monotonic()
        assert reason_of(server.url("/busy"), options) == "http_429"
    assert time.monotonic() - started < 0.5


# ------------------------------------------------------------------ SSRF guard


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
    ],
)
def test_non_public_addresses(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses(address):
    assert is_public_address(address)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "127.1",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "0",
    ],
)
def test_untrusted_url_to_loopback_is_refused_in_every_spelling(host):
    with serve({"/": Route(body=b"secret")}) as server:
        url = f"http://{host}:{server.port}/"
        assert reason_of(url, trusted=False) == "private_address"
        assert server.hits("/") == 0


def test_requests_to_one_host_are_spaced_by_min_host_delay():
    options = FetchOptions(min_host_delay=0.3, deadline=3.0)
    with serve({"/polite": Route(body=b"ok")}) as server:
        started = time.monotonic()
        for _ in range(2):
            fetch(server.url("/polite"), options, trusted=True)
    assert time.monotonic() - started >= 0.3


def test_waiting_for_a_turn_at_the_host_is_not_charged_to_the_deadline():
    """A spacing longer than the deadline still lets every request through: the
    deadline bounds what the server costs, not newsbeam's own politeness."""
    options = FetchOptions(min_host_delay=0.8, deadline=0.5, retries=0)
    results = []
    with serve({"/": Route(body=b"ok")}) as server:
        threads = [
            threading.Thread(
                target=lambda: results.append(
                    fetch(server.url("/"), options, trusted=True).body
                )
            )
            for _ in range(2)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        times = [r.at for r in server.requests]
    assert results == [b"ok", b"ok"]
    assert time.monotonic() - started >= 0.8
    assert times[1] - times[0] >= 0.75


def test_permit_is_asked_before_every_hop_and_its_delay_spaces_requests():
    asked = []

    def permit(url: str) -> float:
        asked.append(url)
        if "forbidden" in url:
            raise FetchError("disallowed", url)
        return 0.3

    options = FetchOptions(deadline=3.0, retries=0)
    routes = {
        "/a": Route(body=b"a"),
        "/hop": redirect("/forbidden"),
        "/forbidden": Route(body=b"secret"),
    }
    with serve(routes) as server:
        fetch(server.url("/a"), options, trusted=True, permit=permit)
        with pytest.raises(FetchError) as caught:
            fetch(server.url("/hop"), options, trusted=True, permit=permit)
        times = [r.at for r in server.requests]
    assert caught.value.reason == "disallowed"
    assert asked == [server.url(p) for p in ("/a", "/hop", "/forbidden")]
    assert server.hits("/forbidden") == 0
    assert times[1] - times[0] >= 0.28  # the permit's delay spaced /a and /hop
    assert HOSTS.in_flight("127.0.0.1") == 0


def test_allow_private_network_lets_untrusted_urls_through():
    options = FetchOptions(allow_private_network=True, deadline=3.0)
    with serve({"/": Route(body=b"intranet")}) as server:
        assert fetch(server.url("/"), options, trusted=False).body == b"intranet"


def test_trusted_first_hop_may_be_private_and_redirect_on_same_host_too():
    with serve({"/old": redirect("/new"), "/new": Route(body=b"moved")}) as server:
        assert fetch(server.url("/old"), FAST, trusted=True).body == b"moved"


def test_redirect_from_trusted_host_to_another_private_host_is_refused():
    with serve({"/secret": Route(body=b"secret")}) as inner:
        # localhost is another host name than 127.0.0.1, so it gets checked
        hop = redirect(f"http://localhost:{inner.port}/secret")
        with serve({"/feed": hop}) as outer:
            assert reason_of(outer.url("/feed"), trusted=True) == "private_address"
        assert inner.hits("/secret") == 0


def test_redirect_from_trusted_host_to_another_port_is_checked():
    with serve({"/secret": Route(body=b"secret")}) as inner:
        with serve({"/feed": redirect(inner.url("/secret"))}) as outer:
            assert reason_of(outer.url("/feed"), trusted=True) == "private_address"
        assert inner.hits("/secret") == 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "bad_scheme"),
        ("ftp://example.org/feed", "bad_scheme"),
        ("gopher://127.0.0.1/", "bad_scheme"),
        ("http:///no-host", "bad_url"),
        ("http://exa mple.org:99999/", "bad_url"),
    ],
)
def test_bad_urls_are_refused_before_any_traffic(url, reason):
    assert reason_of(url, trusted=True) == reason
