"""A small HTTP client for feeds and article pages that a hostile server cannot abuse.

Feeds are chosen by the operator, but every article link inside them is chosen by
whoever wrote the feed. So the client bounds everything a server controls: time
(connect, each read, and a whole-request deadline that also stops slow-drip bodies),
size (before and after decompression, so a gzip bomb stops at the cap), redirects,
retries, and where a request may go: unless told otherwise, it refuses loopback,
private, link-local and other non-public addresses, checking the address that DNS
returned and then connecting to exactly that address so a second lookup cannot swap it.

Politeness lives here too, so that no stage can bypass it: every request of a worker
process waits for its turn at the host's ``HostGate`` (a few requests in flight per
host, starts spaced by a minimum delay that a robots.txt Crawl-delay may raise).

Built on ``http.client`` so that the connection target, the timeouts and decompression
are all in our hands; nothing here reads proxies or cookies from the environment.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import ipaddress
import random
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from urllib.parse import quote, urljoin, urlsplit

PRODUCT = "newsbeam"  # the product token robots.txt groups are matched against
PROJECT_URL = "https://github.com/newsbeam/newsbeam"


def _version() -> str:
    try:
        return metadata.version("newsbeam")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "0"


def user_agent(contact_url: str | None = None) -> str:
    """``newsbeam/VERSION (+CONTACT)``: who is fetching, and where to reach them.

    Site owners read this in their logs; the contact should be whoever runs the
    crawl (``--contact-url``), the project page only when nobody said.
    """
    return f"{PRODUCT}/{_version()} (+{contact_url or PROJECT_URL})"


def check_contact_url(value: str) -> str:
    """``value`` if it can stand in a User-Agent header, else ValueError."""
    value = value.strip()
    if (
        not value
        or any(c in value for c in "()\\")
        or any(ord(c) < 33 or ord(c) > 126 for c in value)
    ):
        raise ValueError(
            f"--contact-url must be one URL or mailto: address without spaces or "
            f"parentheses, not {value!r}"
        )
    return value


DEFAULT_USER_AGENT = user_agent()
MIB = 1024 * 1024

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NOT_RETRIED_5XX = frozenset({501, 505})  # the server says it will never do this
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 64 * 1024
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


@dataclass(frozen=True)
class FetchOptions:
    """Limits for one request; plain values so the options pickle into Beam workers.

    ``deadline`` bounds the whole ``fetch`` call (redirects, retries and waits
    included), which is what keeps one bad server from holding a worker.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 10.0
    deadline: float = 30.0
    max_bytes: int = 10 * MIB
    max_redirects: int = 5
    retries: int = 2
    backoff: float = 1.0  # first retry waits about this long, then doubles (jittered)
    max_retry_after: float = 30.0  # cap on a server's Retry-After
    user_agent: str = DEFAULT_USER_AGENT
    allow_private_network: bool = False
    min_host_delay: float = 0.0  # politeness: seconds between requests to one host
    host_concurrency: int = 2  # politeness: requests in flight to one host; 0 = any
    host_wait: float = 120.0  # most seconds to wait for a turn at a host (see HostGate)


@dataclass(frozen=True)
class FetchResult:
    status: int
    final_url: str
    headers: Mapping[str, str] = field(repr=False)  # lower-case names
    body: bytes = field(repr=False)  # decompressed
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False

    @property
    def media_type(self) -> str:
        """The content type without parameters, lower case (``text/html``)."""
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for param in self.content_type.split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None


class FetchError(Exception):
    """A request that did not produce a usable response.

    ``reason`` is short and stable (``timeout``, ``http_404``, ``private_address``)
    so that it can be counted and grouped; ``detail`` is for a person.
    """

    def __init__(self, reason: str, detail: str = "", http_status: int | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.http_status = http_status


# ------------------------------------------------------------------ addresses


def is_public_address(address: str) -> bool:
    """True for addresses on the public internet; IPv4-mapped IPv6 is judged as IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None and not is_public_address(str(mapped)):
            return False
        if ip.teredo is not None:
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(host: str, port: int, *, allow_private: bool) -> list[tuple]:
    """Socket addresses for a host, refusing the host if any of them is not public.

    Refusing on any bad address (not just skipping it) also defeats names that
    answer with one public and one internal address.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchError("dns_error", f"{host}: {e}") from e
    addresses = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        if not allow_private and not is_public_address(sockaddr[0]):
            raise FetchError(
                "private_address", f"{host} resolves to non-public {sockaddr[0]}"
            )
        if (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    if not addresses:
        raise FetchError("dns_error", f"{host}: no usable address")
    return addresses


# ------------------------------------------------------------------ connections


class _Clock:
    """The request deadline, shared by every step of one ``fetch`` call."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise FetchError("timeout", f"deadline of {self.seconds:g}s exceeded")
        return left


def _connect(addresses: list[tuple], timeout: float) -> socket.socket:
    last: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except TimeoutError as e:
            sock.close()
            raise FetchError("timeout", f"connect to {sockaddr[0]} timed out") from e
        except OSError as e:
            sock.close()
            last = e
            continue
        return sock
    raise FetchError("connection_error", f"connect failed: {last}") from last


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand (no second DNS lookup)."""

    def __init__(self, host: str, port: int, sock: socket.socket):
        super().__init__(host, port)
        self.sock = sock

    def connect(self) -> None:  # the socket is already connected
        pass


def _open_socket(
    scheme: str, host: str, addresses: list[tuple], options: FetchOptions, clock: _Clock
) -> socket.socket:
    sock = _connect(addresses, min(options.connect_timeout, clock.remaining()))
    sock.settimeout(min(options.read_timeout, clock.remaining()))
    if scheme == "https":
        context = ssl.create_default_context()
        try:
            sock = context.wrap_socket(sock, server_hostname=host)
        except TimeoutError as e:
            sock.close()
            raise FetchError("timeout", "TLS handshake timed out") from e
        except (ssl.SSLError, ssl.CertificateError, OSError) as e:
            sock.close()
            raise FetchError("tls_error", str(e)) from e
    return sock


# ------------------------------------------------------------------ politeness


@dataclass
class _HostTurns:
    in_flight: int = 0
    next_start: float = 0.0  # monotonic time before which no request may start


class HostGate:
    """Per-host politeness for every request one worker process makes.

    Feeds and article pages go through the same gate (``fetch`` uses the
    process's one ``HOSTS``), so a host sees at most ``concurrency`` requests
    from this process at once, their starts spaced by at least ``delay``.

    Waiting for a turn is not charged to the request's deadline, which bounds what
    a server may cost (connect, body, redirects, retries): a long ``Crawl-delay``
    would otherwise fail requests that never started. The wait has its own bound,
    ``wait``, after which the request fails with ``timeout``.
    """

    _PRUNE_AT = 4096  # hosts remembered before idle ones are forgotten

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._hosts: dict[str, _HostTurns] = {}

    @contextlib.contextmanager
    def turn(
        self, host: str, *, concurrency: int, delay: float, wait: float
    ) -> Iterator[None]:
        """Hold one of ``concurrency`` slots (0: no limit) for ``host``, once its
        spacing allows; release it when the block ends."""
        now = time.monotonic()
        give_up = now + wait
        with self._changed:
            turns = self._hosts.get(host)
            if turns is None:
                self._prune(now)
                turns = self._hosts[host] = _HostTurns()
            while concurrency > 0 and turns.in_flight >= concurrency:
                left = give_up - time.monotonic()
                if left <= 0:
                    raise FetchError(
                        "timeout", f"no free connection slot for {host} in {wait:g}s"
                    )
                self._changed.wait(left)
            now = time.monotonic()
            start = max(now, turns.next_start)
            if start > give_up:
                raise FetchError(
                    "timeout", f"politeness delay for {host} exceeds {wait:g}s"
                )
            if delay > 0:
                turns.next_start = start + delay
            turns.in_flight += 1
        try:
            if start > now:
                time.sleep(start - now)
            yield
        finally:
            with self._changed:
                turns.in_flight -= 1
                self._changed.notify_all()

    def in_flight(self, host: str) -> int:
        with self._changed:
            turns = self._hosts.get(host)
            return turns.in_flight if turns else 0

    def _prune(self, now: float) -> None:
        """Forget idle hosts, so a long streaming run over many sites stays small."""
        if len(self._hosts) < self._PRUNE_AT:
            return
        for name in [
            name
            for name, turns in self._hosts.items()
            if not turns.in_flight and turns.next_start <= now
        ]:
            del self._hosts[name]


HOSTS = HostGate()  # one per worker process: every stage's requests share it


# ------------------------------------------------------------------ bodies


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """The body as the server meant it, never larger than ``max_bytes``.

    Gzip is also recognised by its magic bytes, since servers (and files named
    ``.xml``) often send gzip without saying so.
    """
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity", "none", "gzip", "x-gzip"):
        # Trust the bytes over the header: some servers label plain bodies gzip.
        encoding = "gzip" if body.startswith(_GZIP_MAGIC) else ""
    if encoding == "gzip":
        return _inflate(body, 16 + zlib.MAX_WBITS, max_bytes)
    if encoding == "deflate":  # zlib-wrapped by the RFC, raw by some servers
        try:
            return _inflate(body, zlib.MAX_WBITS, max_bytes)
        except FetchError:
            return _inflate(body, -zlib.MAX_WBITS, max_bytes)
    if encoding:
        raise FetchError("bad_encoding", f"unsupported Content-Encoding {encoding!r}")
    return body


def _inflate(data: bytes, wbits: int, max_bytes: int) -> bytes:
    out = bytearray()
    while data:
        inflater = zlib.decompressobj(wbits)
        try:
            while data and len(out) <= max_bytes:
                out += inflater.decompress(data, max_bytes + 1 - len(out))
                data = inflater.unconsumed_tail
        except zlib.error as e:
            raise FetchError("bad_encoding", f"cannot decompress body: {e}") from e
        if len(out) > max_bytes:
            raise FetchError("too_large", f"decompressed body over {max_bytes} bytes")
        if not inflater.eof:
            raise FetchError("bad_encoding", "compressed body is truncated")
        data = inflater.unused_data  # another gzip member follows
        if data and not data.startswith(_GZIP_MAGIC):
            break  # trailing garbage after the stream: ignore, as browsers do
    return bytes(out)


def _read_body(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise FetchError("too_large", f"Content-Length {length} over {max_bytes} bytes")
    body = bytearray()
    while chunk := response.read(_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise FetchError("too_large", f"body over {max_bytes} bytes")
    return bytes(body)


# ------------------------------------------------------------------ requests


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # IDNA-encoded, without brackets
    port: int
    path: str  # request target: path and query


def _target(url: str) -> _Target:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        hostname = parts.hostname
    except ValueError as e:
        raise FetchError("bad_url", f"{url!r}: {e}") from e
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError("bad_scheme", f"only http and https are fetched, not {url!r}")
    if not hostname:
        raise FetchError("bad_url", f"no host in {url!r}")
    try:
        host = hostname.encode("idna").decode("ascii")
    except UnicodeError as e:
        raise FetchError("bad_url", f"bad host name in {url!r}") from e
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_PATH_SAFE + "?")
    if any(ord(c) < 33 for c in path):
        raise FetchError("bad_url", f"control characters in {url!r}")
    port = port or (443 if scheme == "https" else 80)
    return _Target(url.strip(), scheme, host, port, path)


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes


def _request_once(
    target: _Target,
    options: FetchOptions,
    clock: _Clock,
    headers: dict[str, str],
    *,
    check_address: bool,
    delay: float,
) -> _Response:
    """One GET: check where it goes, wait for the host's turn, then exchange."""
    addresses = resolve(
        target.host,
        target.port,
        allow_private=options.allow_private_network or not check_address,
    )
    waited_from = time.monotonic()
    with HOSTS.turn(
        target.host,
        concurrency=options.host_concurrency,
        delay=max(options.min_host_delay, delay),
        wait=options.host_wait,
    ):
        clock.end += time.monotonic() - waited_from  # our own politeness is free
        return _exchange(target, addresses, options, clock, headers)


def _exchange(
    target: _Target,
    addresses: list[tuple],
    options: FetchOptions,
    clock: _Clock,
    headers: dict[str, str],
) -> _Response:
    """One GET on one connection, with a watchdog that enforces the deadline.

    Socket timeouts only bound each read; a server that drips a byte every few
    seconds never trips them, so a timer shuts the socket when the deadline passes.
    """
    sock = _open_socket(target.scheme, target.host, addresses, options, clock)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(max(clock.end - time.monotonic(), 0.0), expire)
    watchdog.daemon = True
    watchdog.start()
    connection = _PinnedConnection(target.host, target.port, sock)
    try:
        connection.request("GET", target.path, headers=headers)
        response = connection.getresponse()
        status = response.status
        received = {}
        for name, value in response.getheaders():
            key = name.lower()
            received[key] = f"{received[key]}, {value}" if key in received else value
        if status in _REDIRECTS or status == 304 or status >= 400:
            body = b""  # never read: error pages and redirect bodies are not needed
        else:
            body = _read_body(response, options.max_bytes)
    except (TimeoutError, OSError, http.client.HTTPException) as e:
        if expired.is_set() or isinstance(e, TimeoutError):
            what = "deadline" if expired.is_set() else "read"
            raise FetchError("timeout", f"{what} timeout from {target.host}") from e
        raise FetchError("connection_error", f"{type(e).__name__}: {e}") from e
    finally:
        watchdog.cancel()
        connection.close()
    if expired.is_set():  # the socket was shut mid-body: what we have is truncated
        raise FetchError("timeout", f"deadline timeout from {target.host}")
    return _Response(status, received, body)


def _retry_after(value: str | None, options: FetchOptions) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), options.max_retry_after)


def _backoff(attempt: int, options: FetchOptions) -> float:
    """Exponential backoff with jitter, so retrying workers do not move in step."""
    return options.backoff * (2**attempt) * random.uniform(0.5, 1.0)


def _is_retryable(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in _NOT_RETRIED_5XX)


def fetch(
    url: str,
    options: FetchOptions | None = None,
    *,
    trusted: bool,
    etag: str | None = None,
    last_modified: str | None = None,
    permit: Callable[[str], float] | None = None,
) -> FetchResult:
    """GET ``url`` within ``options``' limits, following redirects and retrying.

    ``trusted`` marks an operator-given URL: its first hop (and redirects to the
    same host and port) may reach a private address, for feeds on an intranet.
    Everything else must resolve to public addresses unless
    ``options.allow_private_network``.

    ``permit`` is asked about every URL before it is requested, redirects
    included (robots.txt rules hold per host): it raises ``FetchError`` to refuse
    the URL, or returns the least seconds its host wants between requests.
    """
    options = options or FetchOptions()
    clock = _Clock(options.deadline)
    target = _target(url)
    trusted_origin = (target.host, target.port) if trusted else None
    headers = {
        "User-Agent": options.user_agent,
        "Accept-Encoding": "gzip, deflate",
        "Accept": "*/*",
        "Connection": "close",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    seen = {target.url}
    redirects = 0
    attempt = 0
    delay = permit(target.url) if permit else 0.0
    while True:
        check = (target.host, target.port) != trusted_origin
        try:
            response = _request_once(
                target, options, clock, headers, check_address=check, delay=delay
            )
        except FetchError as e:
            if e.reason != "connection_error" or attempt >= options.retries:
                raise
            attempt += 1
            _sleep_within(_backoff(attempt - 1, options), clock, e)
            continue
        status = response.status
        if status in _REDIRECTS:
            location = response.headers.get("location")
            if not location:
                raise FetchError(f"http_{status}", "redirect without Location", status)
            next_url = urljoin(target.url, location.strip())
            if next_url in seen:
                raise FetchError("redirect_loop", f"{next_url} seen twice", status)
            redirects += 1
            if redirects > options.max_redirects:
                raise FetchError(
                    "too_many_redirects", f"more than {options.max_redirects}", status
                )
            seen.add(next_url)
            target = _target(next_url)
            delay = permit(target.url) if permit else 0.0
            attempt = 0
            continue
        if status == 304:
            return _result(target, response, options, not_modified=True)
        if 200 <= status < 300:
            return _result(target, response, options, not_modified=False)
        error = FetchError(f"http_{status}", f"{target.url} answered {status}", status)
        if not _is_retryable(status) or attempt >= options.retries:
            raise error
        wait = _retry_after(response.headers.get("retry-after"), options)
        attempt += 1
        _sleep_within(
            wait if wait is not None else _backoff(attempt - 1, options), clock, error
        )


def _sleep_within(seconds: float, clock: _Clock, error: FetchError) -> None:
    """Wait before a retry, or fail with ``error`` if the wait outlasts the deadline."""
    if seconds >= clock.end - time.monotonic():
        raise error
    time.sleep(seconds)


def _result(
    target: _Target, response: _Response, options: FetchOptions, *, not_modified: bool
) -> FetchResult:
    encoding = response.headers.get("content-encoding")
    return FetchResult(
        status=response.status,
        final_url=target.url,
        headers=response.headers,
        body=decompress(response.body, encoding, options.max_bytes),
        content_type=response.headers.get("content-type", ""),
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        not_modified=not_modified,
    )
