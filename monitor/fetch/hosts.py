"""Politeness per host: whose turn it is to send a request to a host, and when the next request may start.

At most ``http.per_host_concurrency`` requests are in flight to one host, and two request starts are at least
``http.per_host_delay`` apart (or the site's robots.txt ``Crawl-delay``, if longer). Turns are shared by every
source on the host, whatever their own settings, and every thread of the scheduler: ``Hosts`` keeps one ``Host``
per host name for the life of the fetcher.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time

_held = threading.local()   # how many host turns this thread holds (robots.txt can redirect to another host)


def holds_a_turn() -> bool:
    """Whether this thread already holds a host's turn (a robots.txt request redirected to another host)."""
    return getattr(_held, "count", 0) > 0


class SlotTimeout(Exception):
    """No turn at a host within the time given (only when a thread already holds another host's turn)."""


class Host:
    """One host's turn-taking: requests in flight, when the next may start, and its robots.txt Crawl-delay.

    Turns are given in arrival order (a source on a busy host is never overtaken indefinitely), and a thread
    that holds the host's turn may enter again: a robots.txt request is made within the turn of the page that
    needed it.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._waiting: collections.deque[object] = collections.deque()
        self._holders: dict[int, int] = {}    # thread id -> how many times it entered
        self._next_start = 0.0                # monotonic time before which no request to this host may start
        self.crawl_delay = 0.0

    @contextlib.contextmanager
    def slot(self, limit: int, timeout: float | None = None):
        """Hold one of the host's ``limit`` places for requests in flight; yields the seconds waited for it."""
        began = time.monotonic()
        me = threading.get_ident()
        with self._cond:
            if me in self._holders:
                self._holders[me] += 1
            else:
                ticket = object()
                self._waiting.append(ticket)
                try:
                    while len(self._holders) >= max(1, limit) or self._waiting[0] is not ticket:
                        left = None if timeout is None else began + timeout - time.monotonic()
                        if left is not None and left <= 0:
                            raise SlotTimeout()
                        self._cond.wait(left)
                finally:
                    self._waiting.remove(ticket)
                    self._cond.notify_all()   # the next in line may go too (limit > 1), or is now first
                self._holders[me] = 1
        _held.count = getattr(_held, "count", 0) + 1
        try:
            yield time.monotonic() - began
        finally:
            _held.count -= 1
            with self._cond:
                self._holders[me] -= 1
                if not self._holders[me]:
                    del self._holders[me]
                    self._cond.notify_all()

    def earliest_start(self) -> float:
        with self._cond:
            return self._next_start

    def reserve(self, delay: float, not_before: float = 0.0) -> float:
        """Book the next request start (at or after ``not_before``) and push the one after by ``delay``."""
        with self._cond:
            start = max(time.monotonic(), self._next_start, not_before)
            self._next_start = start + delay
            return start


class Hosts:
    """The ``Host`` of every host name met so far; safe to share between threads."""

    def __init__(self):
        self._hosts: dict[str, Host] = {}
        self._lock = threading.Lock()

    def of(self, host: str) -> Host:
        with self._lock:
            site = self._hosts.get(host)
            if site is None:
                site = self._hosts[host] = Host()
            return site
