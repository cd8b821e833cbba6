"""A small threaded HTTP server for the fetcher's tests: routes are functions, every request is recorded.

pytest-httpserver answers one request at a time, so it cannot show concurrency, slow or endless bodies, or two
hosts at once. ``LocalServer`` binds a loopback address of its own (127.0.0.1, 127.0.0.2...: Linux routes all of
127.0.0.0/8 on ``lo``), so two servers are two hosts to the fetcher. It records each request's path and arrival
time (``hits``) and the most requests it ever had in flight (``max_active``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[[BaseHTTPRequestHandler], None]


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, host: str = "127.0.0.1"):
        super().__init__((host, 0), _Handler)
        self.host = host
        self.routes: dict[str, Route] = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.hits: list[tuple[str, float]] = []
        self.active = 0
        self.max_active = 0
        self.bytes_sent = 0

    def url(self, path: str, host: str | None = None) -> str:
        """The URL of ``path`` here; ``host`` another name for this server's address (``localhost``)."""
        return f"http://{host or self.host}:{self.server_port}{path}"

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.hits]

    def times(self, path: str) -> list[float]:
        """Arrival times (time.monotonic) of the requests for ``path``."""
        with self.lock:
            return [at for hit, at in self.hits if hit == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):   # keep test output quiet
        pass

    def do_GET(self):
        server = self.server
        with server.lock:
            server.hits.append((self.path, time.monotonic()))
            server.active += 1
            server.max_active = max(server.max_active, server.active)
        try:
            route = server.routes.get(self.path, answer(404, b"no such route"))
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the client hung up, as the fetcher should when it gives up
        finally:
            with server.lock:
                server.active -= 1
            self.close_connection = True


@contextlib.contextmanager
def serve(host: str = "127.0.0.1") -> Iterator[LocalServer]:
    """A started server on ``host``; stopped (and its waiting routes released) at the end."""
    server = LocalServer(host)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()       # routes that wait use server.stop, so handlers end at once
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def answer(status: int = 200, body: bytes = b"ok", headers: dict[str, str] | None = None,
           delay: float = 0.0) -> Route:
    """A route that answers ``status`` and ``body`` (after ``delay`` seconds)."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        if delay and handler.server.stop.wait(delay):
            return
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)

    return route


def in_turn(*routes: Route) -> Route:
    """A route that answers with each of ``routes`` in turn, then keeps using the last one."""
    remaining = list(routes)
    lock = threading.Lock()

    def route(handler: BaseHTTPRequestHandler) -> None:
        with lock:
            current = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        current(handler)

    return route


def redirect(location: str, status: int = 302) -> Route:
    return answer(status, b"", {"Location": location})


def hang_up(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without answering."""
    handler.close_connection = True
