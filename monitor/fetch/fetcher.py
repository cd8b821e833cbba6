"""The one HTTP client every source uses: politeness, limits, a total deadline and conditional GET.

requests alone is not enough for a service that runs for weeks against sites it does not control: its
``timeout`` bounds each socket read, not the download (a server dripping a byte at a time never times
out), it has no size limit, and it follows redirects anywhere. ``Fetcher`` adds, per fetch:

* a total deadline (``http.timeout``) over everything the fetch does (robots.txt, redirects, retries and their
  pauses), not counting the wait for the host's turn: per-read timeouts never exceed the time left, the clock
  is checked between chunks, and a watchdog cuts the socket when the deadline passes while a read is blocked;
* a cap on *decompressed* bytes (``http.max_bytes``), so a gzip bomb or an endless body stops early;
* a body that is still gzip after the transfer decoding (a ``.gz`` file, a page gzipped without a Content-Encoding
  header) decompressed within that cap, and binary data (an image, a PDF) refused as ``not_a_page``: every kind
  reads text, and would otherwise report "0 items" (``_as_document``);
* politeness per host: at most ``http.per_host_concurrency`` requests in flight, ``http.per_host_delay``
  (or the site's robots.txt ``Crawl-delay``, if longer, up to 60 s) between two request starts, and
  robots.txt obeyed (``http.respect_robots``; see ``monitor.fetch.robots``);
* retries of transient failures (connection errors, timeouts, 408, 429, 5xx) up to ``http.retries``, with
  exponential backoff and jitter, or after exactly the wait a ``Retry-After`` header asks for (up to 120 s);
  a wait that does not fit in the deadline ends the fetch at once with a message saying so. A connect gets a
  share of the deadline, so a lost SYN can be retried; a read that stalls (no byte for half the time left,
  before the headers or mid-body) is retried once, with all the time then left (see ``Fetcher._attempt``);
* redirects followed by hand, at most 5, each hop http(s), checked against robots.txt and the address rule;
* the address rule (``monitor.fetch.addresses``): unless ``http.allow_private_networks``, a URL not written in
  config.yaml (``configured=False``: links the spider or a sitemap found) and every redirect target may reach
  only public addresses, checked on the DNS answer and again on the address the socket actually connected to;
* errors (:class:`monitor.core.errors.FetchError`) whose ``error_class`` a program can test and whose message
  tells a person what went wrong and what to do.

It returns the bytes and, for a page it read, the ``Page`` the kinds read: the body decoded once
(``monitor.core.page.read_page``: charset sniffing, GB2312 -> GB18030...).
"""

from __future__ import annotations

import collections
import contextlib
import email.utils
import http.client
import logging
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import requote_uri
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import ProxyManager

from monitor.core.encoding import charset_from_content_type
from monitor.core.errors import FetchError
from monitor.core.gunzip import GZIP_MAGIC, GunzipError, gunzip
from monitor.core.page import Page, read_page
from monitor.fetch.addresses import address_problem, resolve
from monitor.fetch.robots import (
    ALLOW_ALL_TTL,
    ROBOTS_MAX_BYTES,
    ROBOTS_TTL,
    RobotsCache,
    RobotsRules,
    origin_of,
    parse_robots,
)
from monitor.fetch.settings import HttpSettings

logger = logging.getLogger(__name__)

# The advice closing a message about a URL from config.yaml, and what replaces it for a URL found on a page (a
# related link, a sitemap entry): there is no url to check in config.yaml, the page's link is what went stale.
CHECK_SOURCE_URL = "check the source's url"
FOUND_LINK_ADVICE = "the link was found on a page, not written in config.yaml: it may be out of date"

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPT_ENCODING = "gzip, deflate"   # what urllib3 can always decode; the byte cap counts decoded bytes
CHUNK_SIZE = 64 * 1024              # decoded bytes per read (urllib3 >= 2.6 bounds decompression to it)
RETRY_BACKOFF = 1.0                 # seconds before the first retry; doubled for each further one ...
MAX_BACKOFF = 30.0                  # ... up to this
JITTER = 0.25                       # each backoff pause is scaled by a random factor in [0.75, 1.25]
MAX_RETRY_AFTER = 120.0             # seconds: a server asking for a longer wait is tried again at the next run
MIN_CONNECT_TIMEOUT = 1.0           # seconds; see Fetcher._attempt
STALL_SHARE = 0.5                   # of the time left: a read waiting longer is a stall, retried once
ROBOTS_SHARE = 0.5                  # the part of a fetch's deadline its robots.txt request may use


@dataclass(frozen=True)
class FetchResult:
    """What one fetch returned: the bytes and the headers the pipeline and scrapers need."""

    url: str                   # final URL after redirects (relative links resolve against it)
    status: int                # HTTP status (200, 304...)
    body: bytes                # b"" for 304
    content_type: str | None   # the Content-Type header as sent, e.g. "text/html; charset=gb2312"
    charset: str | None        # its charset= parameter, lower-cased, or None
    etag: str | None           # on a 304 without validators, the ones we sent (still valid)
    last_modified: str | None
    not_modified: bool         # True when the server answered 304 to our conditional GET
    elapsed: float             # seconds, from the first request to the end of the body
    page: Page | None = None   # the body decoded once, as the kinds read it; None for a 304


class _Clock:
    """The deadline of one fetch: it starts with the first request and is pushed back by every wait for the
    host's turn (politeness is not the site's slowness). A child clock (robots.txt) also ends with its parent.
    """

    def __init__(self, seconds: float, parent: _Clock | None = None):
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


# --- the deadline watchdog and the address check on the socket --------------------------------------------

_in_flight = threading.local()   # the watchdog of the fetch running in this thread, if any


class _Watchdog:
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
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.name = "fetch-deadline"
    def __enter__(self) -> _Watchdog:
        _in_flight.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()
        _in_flight.watchdog = None

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


class _BlockedPeer(Exception):
    """Raised inside urllib3 when a socket is connected to an address the attempt may not reach.

    Deliberately not an OSError: urllib3 and requests pass it through unwrapped and never retry it.
    """

    def __init__(self, address: str, problem: str):
        super().__init__(f"connected to {address}, a {problem} address")
        self.address = address
        self.problem = problem


def _check_peer(conn, sock) -> None:
    """Refuse ``sock`` if this thread's attempt may reach only public addresses and its peer is not one.

    The address checked is the one the kernel connected to, not what DNS said before: a name that resolves to
    a public address for the check and to 127.0.0.1 for the connection (DNS rebinding) is caught here. Through
    a proxy the peer is the proxy, and the proxy resolves the name: only the DNS check applies then.
    """
    watchdog = getattr(_in_flight, "watchdog", None)
    if watchdog is None or not watchdog.public_only or sock is None or getattr(conn, "proxy", None) is not None:
        return
    try:
        address = sock.getpeername()[0]
    except (OSError, IndexError, TypeError):
        return   # not connected after all: the request fails on its own
    problem = address_problem(address)
    if problem:
        raise _BlockedPeer(address, problem)


class _PeerCheckMixin:
    """urllib3 connections that check the peer address as soon as the socket is connected, before TLS or
    any byte of the request is sent."""

    def _new_conn(self):
        sock = super()._new_conn()
        try:
            _check_peer(self, sock)
        except _BlockedPeer:
            sock.close()
            raise
        return sock


class _CheckedHTTPConnection(_PeerCheckMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_PeerCheckMixin, HTTPSConnection):
    pass


class _TrackedPoolMixin:
    """Hands each connection a pool lends out to the watchdog of the fetch in this thread, and checks the
    peer of a kept-alive connection that is reused (a new one is checked when it connects)."""

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        watchdog = getattr(_in_flight, "watchdog", None)
        if watchdog is not None:
            watchdog.track_connection(conn)
            try:
                _check_peer(conn, getattr(conn, "sock", None))
            except _BlockedPeer:
                conn.close()
                self._put_conn(conn)   # back to the pool, closed: it reconnects (and is checked) if reused
                raise
        return conn


class _TrackedHTTPPool(_TrackedPoolMixin, HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _TrackedHTTPSPool(_TrackedPoolMixin, HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


_TRACKED_POOLS = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}
POOL_HOSTS = 64          # hosts whose kept-alive connections are kept (requests' default: 10)
POOL_PER_HOST = 16       # connections kept per host (per_host_concurrency above this still works, unpooled)


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter with pools that let the watchdog see the socket, so it can cut slow headers too,
    and whose connections check the address they connected to."""

    def __init__(self):
        super().__init__(pool_connections=POOL_HOSTS, pool_maxsize=POOL_PER_HOST)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_TRACKED_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is ProxyManager:   # SOCKS managers have pools of their own: leave them alone
            manager.pool_classes_by_scheme = dict(_TRACKED_POOLS)
        return manager


def _install_adapters(session: requests.Session) -> None:
    """Swap requests' stock adapters for deadline-aware ones; custom adapters (mocks, a caller's) are kept
    (they get the deadline through the response, and the address rule on the DNS answer only)."""
    for prefix in ("http://", "https://"):
        current = session.adapters.get(prefix)
        if current is None or type(current) is HTTPAdapter:
            if current is not None:
                current.close()
            session.mount(prefix, _DeadlineAdapter())


# --- the fetcher ------------------------------------------------------------------------------------------


_held = threading.local()   # how many host turns this thread holds (robots.txt can redirect to another host)


class _SlotTimeout(Exception):
    """No turn at a host within the time given (only when a thread already holds another host's turn)."""


class _Host:
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
                            raise _SlotTimeout()
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


@dataclass(frozen=True)
class _Answer:
    """One HTTP exchange: a final answer (2xx, 304) or a redirect to ``location``."""

    url: str
    status: int
    headers: requests.structures.CaseInsensitiveDict
    body: bytes
    location: str | None = None


class Fetcher:
    """Fetches URLs politely within a deadline and a size limit; safe to share between scheduler threads."""

    def __init__(self, settings: HttpSettings, session: requests.Session | None = None, *,
                 retry_backoff: float = RETRY_BACKOFF):
        self.settings = settings
        self.retry_backoff = retry_backoff
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.session.max_redirects = MAX_REDIRECTS   # only for callers' own use: we follow redirects by hand
        _install_adapters(self.session)
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()
        self.robots = RobotsCache()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pools (only those of a session this fetcher created)."""
        if self._owns_session:
            self.session.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              settings: HttpSettings | None = None, configured: bool = True) -> FetchResult:
        """GET ``url`` (conditionally when validators are given); raise FetchError with a reason on failure.

        ``settings`` overrides the fetcher's defaults for this call (a source's own ``http:`` block).
        ``configured`` says whether ``url`` was written in config.yaml: a URL that was not (a link the spider or
        a sitemap found) must reach public addresses only, unless ``allow_private_networks``; redirect
        targets always must. The deadline covers robots.txt, every hop, attempt and backoff; waiting for the
        host's turn comes before it.
        """
        s = settings or self.settings
        _host_of(url)
        headers = {"User-Agent": s.user_agent, "Accept-Encoding": ACCEPT_ENCODING}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        clock = _Clock(s.timeout)
        try:
            answer = self._follow(url, headers, s, clock, configured)
        except FetchError as error:
            if not configured:       # the advice of a message written for a source's own url would mislead here
                error.args = (str(error).replace(CHECK_SOURCE_URL, FOUND_LINK_ADVICE),)
            raise
        content_type = answer.headers.get("Content-Type")
        result = FetchResult(
            url=answer.url,
            status=answer.status,
            body=answer.body,
            content_type=content_type.strip() if content_type else None,
            charset=(charset_from_content_type(content_type) or "").lower() or None,
            etag=answer.headers.get("ETag"),
            last_modified=answer.headers.get("Last-Modified"),
            not_modified=answer.status == 304,
            elapsed=time.monotonic() - (clock.started or time.monotonic()),
        )
        if result.not_modified:
            # A 304 need not repeat the validators; the ones we sent are still the current ones.
            result = replace(result, etag=result.etag or etag,
                             last_modified=result.last_modified or last_modified)
        else:
            result = replace(result, page=read_page(result.url, result.body, result.content_type))
        logger.debug("%s: %d, %d bytes in %.2f s", url, result.status, len(result.body), result.elapsed)
        return result

    # -- redirects, robots.txt, addresses

    def _follow(self, url: str, headers: dict[str, str], s: HttpSettings, clock: _Clock,
                configured: bool) -> _Answer:
        """Fetch ``url`` and follow its redirects by hand, each hop checked like a URL of its own."""
        current, seen = url, {url}
        for hop in range(MAX_REDIRECTS + 1):
            answer = self._hop(current, headers, s, clock, configured=configured and hop == 0, start=url)
            if answer.location is None:
                return answer
            target = answer.location
            if target in seen:
                raise FetchError(f"redirect loop: {current} redirects back to {target} (starting from {url}); "
                                 f"the site is misconfigured or needs cookies: {CHECK_SOURCE_URL}",
                                 error_class="redirect_loop", url=url, http_status=answer.status)
            seen.add(target)
            logger.debug("%s redirects (%d) to %s", current, answer.status, target)
            current = target
        raise FetchError(f"more than {MAX_REDIRECTS} redirects starting from {url} (the last to {current}); "
                         f"{CHECK_SOURCE_URL} (the final address may be the one to use)",
                         error_class="too_many_redirects", url=url)

    def _hop(self, url: str, headers: dict[str, str], s: HttpSettings, clock: _Clock, *, configured: bool,
             start: str) -> _Answer:
        """One URL of a fetch: its scheme, the address rule, robots.txt, the host's turn, then the attempts."""
        try:
            host = _host_of(url)
        except FetchError as exc:
            if url == start:
                raise
            raise FetchError(f"{start} redirects to {url!r}, which cannot be fetched ({exc}); {CHECK_SOURCE_URL}",
                             error_class="bad_url", url=start) from None
        public_only = not configured and not s.allow_private_networks
        if public_only:
            _check_resolved(url, host)
        site = self._host(host)
        # A thread that already holds a host's turn (a robots.txt redirected to this host) waits a bounded time:
        # two such threads waiting for each other's host must not wait for ever.
        nested = getattr(_held, "count", 0) > 0
        try:
            with site.slot(s.per_host_concurrency, max(0.0, clock.remaining()) if nested else None) as waited:
                clock.push_back(waited)
                if s.respect_robots:
                    # Within this turn: robots.txt and the page are two requests in a row to this host.
                    rules = self._robots_rules(url, s, clock, configured)
                    site.crawl_delay = rules.crawl_delay(s.user_agent)
                    if not rules.allows(url, s.user_agent):
                        raise FetchError(f"{url} is disallowed for news-monitor by the site's robots.txt "
                                         f"({rules.robots_url}); it was not fetched. Only with the site's "
                                         "permission, set http.respect_robots: false for this source",
                                         error_class="robots", url=url)
                delay = max(s.per_host_delay, site.crawl_delay if s.respect_robots else 0.0)
                return self._attempts(url, headers, s, clock, site, delay, public_only)
        except _SlotTimeout:
            raise _timeout(url, s, f"waiting for a turn at {host} before asking") from None

    def _robots_rules(self, url: str, s: HttpSettings, clock: _Clock, configured: bool) -> RobotsRules:
        """The robots.txt rules of ``url``'s site, fetched once per site (one thread at a time) and cached."""
        origin = origin_of(url)
        rules = self.robots.get(origin)
        if rules is not None:
            return rules
        with self.robots.lock_for(origin):
            rules = self.robots.get(origin)
            if rules is None:
                rules, ttl = self._fetch_robots(origin, s, clock, configured)
                self.robots.put(origin, rules, ttl)
            return rules

    def _fetch_robots(self, origin: str, s: HttpSettings, clock: _Clock,
                      configured: bool) -> tuple[RobotsRules, float]:
        """Fetch and parse ``origin``/robots.txt within part of the fetch's deadline; unavailable allows all."""
        robots_url = f"{origin}/robots.txt"
        robots_settings = replace(s, max_bytes=min(s.max_bytes, ROBOTS_MAX_BYTES), retries=0, respect_robots=False)
        headers = {"User-Agent": s.user_agent, "Accept-Encoding": ACCEPT_ENCODING}
        try:
            answer = self._follow(robots_url, headers, robots_settings, _Clock(s.timeout * ROBOTS_SHARE, clock),
                                  configured)
        except FetchError as exc:
            # 4xx: the site has no robots.txt for us (RFC 9309: allow all). Anything else may be passing.
            ttl = ROBOTS_TTL if exc.error_class.startswith("http_4") else ALLOW_ALL_TTL
            logger.info("robots.txt %s unavailable, so everything is allowed there: %s", robots_url, exc)
            return RobotsRules(robots_url, None, exc.error_class), ttl
        logger.debug("robots.txt %s: %d bytes", answer.url, len(answer.body))
        return parse_robots(robots_url, answer.body), ROBOTS_TTL

    def _host(self, host: str) -> _Host:
        with self._hosts_lock:
            site = self._hosts.get(host)
            if site is None:
                site = self._hosts[host] = _Host()
            return site

    # -- attempts and retries

    def _attempts(self, url: str, headers: dict[str, str], s: HttpSettings, clock: _Clock, site: _Host,
                  delay: float, public_only: bool) -> _Answer:
        """Request ``url`` until it answers, the error is final, retries run out or the deadline would pass."""
        failures = 0
        stalled = False    # a read already stalled: the attempts after it wait for bytes as long as time allows
        not_before = 0.0
        while True:
            start = site.reserve(delay, not_before)
            waited = max(0.0, start - time.monotonic())
            time.sleep(waited)
            if failures == 0:
                clock.push_back(waited)   # the host's turn, not the site's slowness
            logger.debug("GET %s (attempt %d)", url, failures + 1)
            try:
                return self._attempt(url, headers, s, clock, public_only,
                                     stall_retry=not stalled and failures < s.retries)
            except FetchError as exc:
                failures += 1
                stalled = stalled or isinstance(exc, _Stalled)
                if not _retryable(exc.error_class) or failures > s.retries:
                    raise _after_attempts(exc, failures) from exc
                retry_after = getattr(exc, "retry_after", None)
                if retry_after is not None:
                    if retry_after > MAX_RETRY_AFTER:
                        raise _wait_refused(exc, retry_after, f"longer than news-monitor waits "
                                            f"({MAX_RETRY_AFTER:g} s)") from exc
                    pause = retry_after
                else:
                    pause = self._backoff(failures)
                now = time.monotonic()
                pause = max(pause, site.earliest_start() - now)
                if now + pause >= clock.end():
                    if retry_after is not None:
                        raise _wait_refused(exc, retry_after, f"longer than the time left for this fetch "
                                            f"(http.timeout {s.timeout:g} s)") from exc
                    raise _after_attempts(exc, failures) from exc
                logger.info("retrying %s in %.2f s after: %s", url, pause, exc)
                not_before = now + pause

    def _backoff(self, failures: int) -> float:
        """Exponential backoff with jitter: about base, 2 x base, 4 x base... (capped), each +-25%."""
        pause = min(MAX_BACKOFF, self.retry_backoff * 2 ** (failures - 1))
        return pause * random.uniform(1 - JITTER, 1 + JITTER)

    def _attempt(self, url: str, headers: dict[str, str], s: HttpSettings, clock: _Clock, public_only: bool,
                 stall_retry: bool = False) -> _Answer:
        """One request. Connecting gets a share of the budget, so that after a lost SYN a retry still fits in the
        deadline. While ``stall_retry``, a read (headers or body) waits for its next bytes at most ``STALL_SHARE``
        of the time left: a GET is idempotent, and a stalled server worker or a connection dropped on the way (a
        kept-alive one above all) usually answers at once when asked again. The attempts after a stall wait as
        long as the deadline allows; a server that always needs more than half of it to answer is cut, and the
        message asks for a higher http.timeout.
        """
        remaining = clock.remaining()
        if remaining <= 0:
            raise _timeout(url, s, "before the request could start")
        connect_timeout = min(remaining, max(MIN_CONNECT_TIMEOUT, s.timeout / (s.retries + 1)))
        read_timeout = remaining * STALL_SHARE if stall_retry else remaining
        response = None
        phase = "waiting for an answer from"
        try:
            with _Watchdog(remaining, public_only=public_only) as watchdog:
                try:
                    response = self.session.get(url, headers=headers, stream=True, allow_redirects=False,
                                                timeout=(connect_timeout, read_timeout))
                    watchdog.track_response(response.raw)
                    status = response.status_code
                    location = None
                    body = b""
                    if status == 304:
                        pass
                    elif status in REDIRECT_STATUSES and response.headers.get("Location"):
                        location = requote_uri(urljoin(response.url, self.session.get_redirect_target(response)))
                    elif status >= 400:
                        raise _http_error(status, response.url, response.reason,
                                          _parse_retry_after(response.headers.get("Retry-After")))
                    elif 300 <= status < 400:
                        raise FetchError(f"unexpected redirect ({status}) from {response.url} without a "
                                         f"usable Location header; {CHECK_SOURCE_URL}",
                                         error_class=f"http_{status}", url=response.url, http_status=status)
                    else:
                        phase = "reading the response from"
                        body = _as_document(_read_body(response, s, clock.end(), watchdog), response.url,
                                            s.max_bytes)
                except FetchError:
                    raise
                except _BlockedPeer as exc:
                    raise _blocked(url, urlsplit(url).hostname or url, exc.address, exc.problem) from None
                except (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
                        OSError) as exc:
                    if stall_retry and not watchdog.fired and _is_read_timeout(exc):
                        raise _Stalled(url, read_timeout, phase) from exc
                    raise _classify(exc, url, s, watchdog.fired, phase) from exc
        finally:
            if response is not None:
                response.close()
        return _Answer(url=response.url, status=status, headers=response.headers, body=body, location=location)


def _check_resolved(url: str, host: str) -> None:
    """Refuse ``url`` before any request if its host resolves to an address that is not public."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return   # unresolvable: the request itself fails with "host name not found"
    for address in addresses:
        problem = address_problem(address)
        if problem:
            raise _blocked(url, host, address, problem)


def _read_body(response: requests.Response, s: HttpSettings, deadline: float, watchdog: _Watchdog) -> bytes:
    """Read the decoded body, stopping as soon as it passes max_bytes or the deadline."""
    limit = s.max_bytes
    url = response.url
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    declared = response.headers.get("Content-Length", "").strip()
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > limit:
        raise _too_large(url, limit, f"it announces {int(declared)} bytes")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_content(chunk_size=min(CHUNK_SIZE, limit + 1)):
        total += len(chunk)
        if total > limit:
            raise _too_large(url, limit, "the body kept coming")
        if watchdog.fired or time.monotonic() > deadline:
            raise _timeout(url, s, "reading the response from")
        chunks.append(chunk)
    # A close-delimited body cut by the watchdog just ends: check, or a truncated page would pass as whole.
    if watchdog.fired or time.monotonic() > deadline:
        raise _timeout(url, s, "reading the response from")
    return b"".join(chunks)


# Binary formats a link may lead to, by their first bytes: only to name them in the error (see _binary_kind).
_BINARY_SIGNATURES = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"RIFF", "a RIFF file (a WebP image, WAV audio...)"),
    (b"PK\x03\x04", "a ZIP archive or an Office document"),
    (GZIP_MAGIC, "gzip data compressed twice"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"\x7fELF", "a program"),
)
_UNICODE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")   # UTF-16 LE/BE (and UTF-32 LE), UTF-32 BE
_TEXT_CONTROLS = frozenset(b"\t\n\x0b\x0c\r\x1b")
SNIFF_BYTES = 1024          # the start of a body that is looked at to tell text from binary data


def _as_document(body: bytes, url: str, limit: int) -> bytes:
    """The body as the kinds read it: every kind reads text (pages, feeds, JSON, sitemaps).

    A body that is still gzip after the transfer decoding (a ``.gz`` file, or a server that gzips a page without
    saying so in Content-Encoding) is decompressed here, by the one gunzip (``monitor.core.gunzip``), within
    ``max_bytes`` counted after decompression, as for Content-Encoding. Other binary data (an image, a PDF, an
    archive a link led to) is ``not_a_page``: a scraper would find nothing in it and the run would pass as
    "ok, 0 items".
    """
    if body[:2] == GZIP_MAGIC:
        try:
            body = gunzip(body, limit)
        except GunzipError as exc:
            if exc.reason == "too_large":
                raise _too_large(url, limit, "counted after gzip decompression") from None
            raise FetchError(f"the response from {url} is gzip data, but {exc}; the server may have cut it short "
                             "or sent a broken file", error_class="decoding", url=url) from None
    what = _binary_kind(body)
    if what:
        raise FetchError(f"the response from {url} is binary data ({what}), not a page, feed or JSON document "
                         f"news-monitor can read; {CHECK_SOURCE_URL}", error_class="not_a_page", url=url)
    return body


def _binary_kind(body: bytes) -> str | None:
    """What a body that is binary data looks like ("a PNG image"); None for text in any encoding.

    Text in the encodings pages use (UTF-8, GBK, Big5, Latin-1...) holds no NUL byte and almost no control
    characters; UTF-16/32 text does hold NULs, so a byte-order mark, or NULs on one side of each code unit only
    (ASCII markup in UTF-16), say it is text.
    """
    head = body[:SNIFF_BYTES]
    if not head or head.startswith(_UNICODE_BOMS):
        return None
    named = next((name for magic, name in _BINARY_SIGNATURES if head.startswith(magic)), None)
    if named == "a PDF document":
        return named   # its first line is text
    nuls = [i for i, byte in enumerate(head) if byte == 0]
    if nuls and len(nuls) * 10 >= len(head) and len({i % 2 for i in nuls}) == 1:
        return None    # UTF-16 without a byte-order mark
    controls = sum(1 for byte in head if byte < 0x20 and byte not in _TEXT_CONTROLS)
    if nuls or (controls > 4 and controls * 50 > len(head)):   # a stray backspace in a title is still text
        return named or f"it starts with the bytes {head[:8].hex(' ')}"
    return None


# --- errors -----------------------------------------------------------------------------------------------


def _host_of(url: str) -> str:
    """The lower-cased host of an http(s) URL, or FetchError("bad_url") naming the URL."""
    if not isinstance(url, str):
        raise FetchError(f"bad URL {url!r}: expected a string", error_class="bad_url", url=None)
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError as exc:
        raise FetchError(f"bad URL {url!r}: {exc}; {CHECK_SOURCE_URL}", error_class="bad_url",
                         url=url) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"unsupported URL {url!r}: only http:// and https:// URLs can be fetched; "
                         f"{CHECK_SOURCE_URL}", error_class="bad_url", url=url)
    if not host:
        raise FetchError(f"bad URL {url!r}: it names no host; {CHECK_SOURCE_URL}", error_class="bad_url",
                         url=url)
    return host.lower()


def _retryable(error_class: str) -> bool:
    return error_class in ("connection", "timeout", "http_408", "http_429") or error_class.startswith("http_5")


def _after_attempts(exc: FetchError, attempts: int) -> FetchError:
    if attempts == 1:
        return exc
    return FetchError(f"{exc} (gave up after {attempts} attempts)", error_class=exc.error_class, url=exc.url,
                      http_status=exc.http_status)


def _timeout(url: str, s: HttpSettings, phase: str) -> FetchError:
    return FetchError(f"timed out after {s.timeout:g} s {phase} {url}; the site is down, slow or stalled "
                      "(raise http.timeout for this source if it is just slow)",
                      error_class="timeout", url=url)


class _Stalled(FetchError):
    """A read got no byte for the stall limit of an attempt that may be retried (see ``Fetcher._attempt``)."""

    def __init__(self, url: str, seconds: float, phase: str):
        super().__init__(f"timed out: no data for {seconds:.3g} s {phase} {url}; the site is down, slow or "
                         "stalled (raise http.timeout for this source if it is just slow)",
                         error_class="timeout", url=url)


def _too_large(url: str, limit: int, detail: str) -> FetchError:
    return FetchError(f"the response from {url} is larger than the limit of {limit} bytes ({detail}); "
                      "raise http.max_bytes for this source if that is expected",
                      error_class="too_large", url=url)


class _StatusError(FetchError):
    """An HTTP error status, with the wait its ``Retry-After`` header asked for (seconds), if any."""

    def __init__(self, message: str, *, status: int, url: str, retry_after: float | None):
        super().__init__(message, error_class=f"http_{status}", url=url, http_status=status)
        self.retry_after = retry_after


def _http_error(status: int, url: str, reason: str | None, retry_after: float | None = None) -> FetchError:
    if status == 401:
        text = f"authentication required (401) by {url}; news-monitor cannot log in: use a public URL"
    elif status == 403:
        text = (f"access forbidden (403) by {url}; the site refuses this client (check that the page is "
                "public, or try another http.user_agent)")
    elif status == 404:
        text = f"not found (404): the URL may have moved; {CHECK_SOURCE_URL} ({url})"
    elif status == 408:
        text = f"request timeout (408) from {url}; the server was too slow to take the request: will retry"
    elif status == 410:
        text = f"gone (410): {url} was removed for good; {CHECK_SOURCE_URL}"
    elif status == 429:
        text = (f"too many requests (429) from {url}; the site is rate-limiting: run this source less often "
                "or raise http.per_host_delay")
    elif status >= 500:
        text = f"server error ({status}) from {url}; will retry at the next run"
    else:
        label = f"{status} {reason}" if reason else str(status)
        text = f"request refused ({label}) by {url}; {CHECK_SOURCE_URL}"
    return _StatusError(text, status=status, url=url, retry_after=retry_after)


def _wait_refused(exc: FetchError, seconds: float, why: str) -> FetchError:
    """The fetch ends now because the wait the server asked for (Retry-After) cannot be made."""
    status = exc.http_status
    label = {429: "too many requests (429)", 503: "service unavailable (503)"}.get(status, f"HTTP {status}")
    return FetchError(f"{label} from {exc.url}: the server asked to wait {seconds:g} s (Retry-After), {why}; "
                      "will try at the next run", error_class=exc.error_class, url=exc.url, http_status=status)


def _parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: ``120`` or an HTTP-date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _blocked(url: str, host: str, address: str, problem: str) -> FetchError:
    where = f"{address} is" if host.strip("[]") == address else f"{host} is {address},"
    return FetchError(f"refused to fetch {url}: {where} a {problem} address. Links found on pages and "
                      "redirect targets may reach only public addresses; if you trust this server, set "
                      "http.allow_private_networks: true for this source", error_class="blocked_address", url=url)


def _classify(exc: BaseException, url: str, s: HttpSettings, fired: bool, phase: str) -> FetchError:
    """Turn a requests/urllib3/socket exception into a FetchError a person can act on."""
    failing_url = getattr(getattr(exc, "request", None), "url", None) or url
    host = urlsplit(failing_url).hostname or failing_url
    if fired or _is_timeout(exc):
        if isinstance(exc, requests.ConnectTimeout):
            phase = "connecting to"
        return _timeout(url, s, phase)
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                        requests.exceptions.MissingSchema)):
        return FetchError(f"cannot fetch {failing_url!r} (reached from {url}): {exc}", error_class="bad_url",
                          url=url)
    if isinstance(exc, requests.exceptions.SSLError):
        return FetchError(f"TLS/SSL error with {host}: {_reason(exc)}; the site's certificate may be "
                          "invalid or expired", error_class="ssl", url=url)
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return FetchError(f"the response from {url} could not be decompressed (broken gzip/deflate body)",
                          error_class="decoding", url=url)
    if phase == "reading the response from":
        return FetchError(f"the connection to {host} broke while reading {url}: {_reason(exc)}; "
                          "will retry at the next run", error_class="connection", url=url)
    return FetchError(f"cannot reach {host}: {_reason(exc)}; check the URL or your network",
                      error_class="connection", url=url)


def _causes(exc: BaseException):
    """The exception and everything it wraps (urllib3 nests reasons in args, ``reason`` and ``__cause__``)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
        for attr in ("reason", "__cause__", "__context__"):
            inner = getattr(current, attr, None)
            if isinstance(inner, BaseException):
                stack.append(inner)


def _is_timeout(exc: BaseException) -> bool:
    """Whether a timeout caused ``exc`` (urllib3's NewConnectionError is a ConnectTimeoutError: not one)."""
    if isinstance(exc, requests.Timeout):
        return True
    for e in _causes(exc):
        if isinstance(e, urllib3.exceptions.NewConnectionError):
            continue
        if isinstance(e, TimeoutError | urllib3.exceptions.TimeoutError):
            return True
    return False


def _is_read_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a socket read that timed out (not a connect: that has a budget of its own)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    return any(isinstance(e, urllib3.exceptions.ReadTimeoutError | requests.ReadTimeout) for e in _causes(exc))


def _reason(exc: BaseException) -> str:
    """A short human reason for a network failure ("connection refused", "host name not found (DNS)"...)."""
    name_resolution = getattr(urllib3.exceptions, "NameResolutionError", socket.gaierror)   # urllib3 < 2
    causes = list(_causes(exc))
    for e in causes:
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, socket.gaierror | name_resolution):
            return "host name not found (DNS)"
        if isinstance(e, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(e, http.client.RemoteDisconnected):
            return "the server closed the connection without answering"
        if isinstance(e, http.client.IncompleteRead):
            return "the body ended before the announced length"
        if isinstance(e, OSError) and e.strerror:
            return e.strerror.lower()
    text = str(causes[-1] if causes else exc)
    return text if len(text) <= 200 else text[:197] + "..."
