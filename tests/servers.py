"""Loopback HTTP servers for tests: real sockets on 127.0.0.1, never the network.

A test describes what each path answers with a ``Route`` (or a list of routes,
served in turn, or a function of the request) and gets a running server:

    with serve({"/rss": Route(body=RSS, headers={"Content-Type": "text/xml"})}) as s:
        fetch(s.url("/rss"), ..., trusted=True)
        assert s.hits("/rss") == 1

Routes can also misbehave the way real servers do: answer late (``delay``), drip
the body slowly (``drip``), or reset the connection (``reset``). The server notes
when each request arrived and the most requests it held at once per Host header,
which is how politeness is checked from the site's side.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Route:
    """What one path answers."""

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds of silence before the status line
    drip: float = 0.0  # seconds between body chunks; 0 sends the body at once
    chunk_size: int = 1  # bytes per dripped chunk
    reset: bool = False  # send the headers, then abort the connection (TCP RST)
    content_length: bool = True  # False: the body ends when the connection closes

    @property
    def payload(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    at: float = 0.0  # time.monotonic() when the request arrived


Handler = Route | Sequence[Route] | Callable[[Request], Route]


def redirect(location: str, status: int = 302) -> Route:
    return Route(status=status, headers={"Location": location})


def gzipped(data: bytes | str) -> bytes:
    return gzip.compress(data.encode("utf-8") if isinstance(data, str) else data)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 with a route table and a request log."""

    def __init__(self, routes: Mapping[str, Handler] | None = None):
        self.routes: dict[str, Handler] = dict(routes or {})
        self.requests: list[Request] = []
        self.most_in_flight: Counter = Counter()  # Host header -> most at once
        self._in_flight: Counter = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self.host, self.port = self._httpd.server_address[:2]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self._thread.daemon = True

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def route(self, path: str, handler: Handler) -> None:
        with self._lock:
            self.routes[path] = handler

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers that are delaying or dripping
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _answer(self, request: Request) -> Route:
        with self._lock:
            served = sum(1 for r in self.requests if r.path == request.path)
            self.requests.append(request)
            handler = self.routes.get(request.path)
        if handler is None:
            return Route(status=404, body=b"not found")
        if isinstance(handler, Route):
            return handler
        if callable(handler):
            return handler(request)
        return handler[min(served, len(handler) - 1)]

    def _pause(self, seconds: float) -> bool:
        """Sleep, but stop early when the server shuts down; True if stopping."""
        return self._stopping.wait(seconds)


def _make_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class RouteHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            request = Request(
                "GET",
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                time.monotonic(),
            )
            self._host = host = request.headers.get("host", "")
            with server._lock:
                server._in_flight[host] += 1
                server.most_in_flight[host] = max(
                    server.most_in_flight[host], server._in_flight[host]
                )
            self._counted = True
            try:
                self._respond(request)
            finally:
                self._leave()

        def _leave(self) -> None:
            """The request no longer counts as in flight. Called before the last
            bytes go out: once the client has them it may send its next request,
            which must not find this one still counted (a race under load)."""
            if self._counted:
                self._counted = False
                with server._lock:
                    server._in_flight[self._host] -= 1

        def _respond(self, request: Request) -> None:
            route = server._answer(request)
            if route.delay and server._pause(route.delay):
                return
            body = route.payload
            try:
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.content_length and not route.reset:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if route.reset:
                    self.wfile.flush()
                    _abort(self.connection)
                    return
                if not route.drip:
                    self._leave()
                    self.wfile.write(body)
                    return
                for start in range(0, len(body), route.chunk_size):
                    if start + route.chunk_size >= len(body):
                        self._leave()
                    self.wfile.write(body[start : start + route.chunk_size])
                    self.wfile.flush()
                    if server._pause(route.drip):
                        return
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, which is often what the test wants

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    return RouteHandler


def _abort(sock: socket.socket) -> None:
    """Close with RST instead of FIN, as a crashing server or middlebox would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@contextlib.contextmanager
def serve(routes: Mapping[str, Handler] | None = None) -> Iterator[LoopbackServer]:
    """A running loopback server for the duration of a ``with`` block."""
    server = LoopbackServer(routes).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def unaccepting_port() -> Iterator[int]:
    """A 127.0.0.1 port whose listen queue is full, so new connects hang.

    That is how a connect timeout looks without sending packets anywhere but
    loopback: the kernel drops the SYN and the client waits.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):  # enough to fill the backlog whatever the kernel's rounding
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
