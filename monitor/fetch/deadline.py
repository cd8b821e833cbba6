"""The total deadline of a fetch, and the watchdog that holds it while a read is blocked.

requests' ``timeout`` bounds each socket read, not the download: a server dripping a byte at a time never times
out. A fetch therefore has one deadline (``http.timeout``, a ``Clock``) over everything it does (robots.txt,
redirects, retries and their pauses), not counting the wait for the host's turn: per-read timeouts never exceed
the time left, the clock is checked between chunks of the body (``monitor.fetch.body``), and a ``Watchdog`` cuts
the socket when the deadline passes while a read is blocked.

Every watchdog of the process waits on one thread (``_Deadlines``), not a timer thread of its own: starting and
stopping a thread per request was about a tenth of a fetch's CPU, taken under the GIL the other workers need.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time


class Clock:
    """The deadline of one fetch: it starts with the first request and is pushed back by every wait for the
    host's turn (politeness is not the site's slowness). A child clock (robots.txt) also ends with its parent.
    """

    def __init__(self, seconds: float, parent: Clock | None = None):
        self.seconds = seconds
        self.parent = parent
        self.started: float | None = None
        self._end: float | None = None

    def start(self) -> None:
        if self.parent is not None:
            self.parent.start()
        if self._end is None:
            self.started = time.monotonic()
            self._end = self.started + self.seconds

    def push_back(self, seconds: float) -> None:
        if self._end is not None:
            self._end += seconds
        if self.parent is not None:
            self.parent.push_back(seconds)

    def end(self) -> float:
        self.start()
        if self.parent is not None:
            return min(self._end, self.parent.end())
        return self._end

    def remaining(self) -> float:
        return self.end() - time.monotonic()


_in_flight = threading.local()   # the watchdog of the fetch running in this thread, if any


def current_watchdog() -> Watchdog | None:
    """The watchdog of the attempt running in this thread (the connection pools hand it their sockets)."""
    return getattr(_in_flight, "watchdog", None)


class Watchdog:
    """Cuts the socket of the current attempt when its deadline passes.

    A blocked ``recv`` cannot be interrupted from Python except by shutting the socket down from another
    thread; the reading thread then sees end-of-file or an error, and the fetcher reports a timeout because
    ``fired``. The cut happens under a lock that ``__exit__`` also takes: once the attempt is over, nothing
    is ever cut. It also carries the attempt's address rule (``public_only``) to the connections.
    """

    def __init__(self, seconds: float, *, public_only: bool = False):
        self.fired = False
        self.public_only = public_only
        self._lock = threading.Lock()
        self._done = False
        self._conn = None
        self._raw = None
        self._seconds = max(seconds, 0.0)

    def __enter__(self) -> Watchdog:
        _in_flight.watchdog = self
        _DEADLINES.watch(time.monotonic() + self._seconds, self)
        return self

    def __exit__(self, *exc_info) -> None:
        with self._lock:
            self._done = True
            self._conn = self._raw = None     # not held while it waits in the heap for its deadline
        _in_flight.watchdog = None

    @property
    def done(self) -> bool:
        return self._done

    def track_connection(self, conn) -> None:
        """Called (via the adapter's pools) for the connection the attempt uses."""
        with self._lock:
            self._conn = conn

    def track_response(self, raw) -> None:
        """The body's reader: http.client detaches the socket from a connection that will close, so the
        connection alone is not enough once the headers are in (and custom adapters give no connection)."""
        with self._lock:
            self._raw = raw

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            # OSError, ValueError, RuntimeError: already closed or released, nothing to cut.
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                _shutdown(getattr(self._conn, "sock", None))
            with contextlib.suppress(OSError, ValueError, RuntimeError, AttributeError):
                self._raw.shutdown()   # urllib3 >= 2.3: shuts down the socket the response reads from


def _shutdown(sock) -> None:
    if sock is not None:
        # The plain-socket method, also for TLS sockets: it wakes the reader without touching SSL state.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Deadlines:
    """The thread that fires every watchdog whose deadline has passed, earliest first (a heap). A finished
    watchdog stays in the heap until its deadline comes round (``http.timeout`` at most) and is then dropped
    unfired. The thread starts with the first watchdog, and again in a process forked after it."""

    def __init__(self):
        self._wake = threading.Condition()
        self._heap: list[tuple[float, int, Watchdog]] = []
        self._order = itertools.count()       # ties: first in, first fired (watchdogs do not compare)
        self._thread: threading.Thread | None = None

    def watch(self, when: float, watchdog: Watchdog) -> None:
        with self._wake:
            heapq.heappush(self._heap, (when, next(self._order), watchdog))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watchdog:     # earlier than the one the thread sleeps until
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                heap = self._heap
                while heap and heap[0][2].done:
                    heapq.heappop(heap)
                if not heap:
                    self._wake.wait()
                    continue
                delay = heap[0][0] - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                watchdog = heapq.heappop(heap)[2]
            watchdog._fire()                       # outside the heap's lock: cutting a socket may take a moment


_DEADLINES = _Deadlines()
