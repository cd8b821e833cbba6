"""The one HTTP client every source uses: politeness, limits, a total deadline and conditional GET.

requests alone is not enough for a service that runs for weeks against sites it does not control: its
``timeout`` bounds each socket read, not the download (a server dripping a byte at a time never times
out), and it has no size limit. ``Fetcher`` adds, per fetch:

* a total deadline (``http.timeout``): per-read timeouts never exceed the time left, the clock is checked
  between chunks, and a watchdog cuts the socket when the deadline passes while a read is blocked (headers
  or body);
* a cap on *decompressed* bytes (``http.max_bytes``), so a gzip bomb or an endless body stops early;
* per-host politeness: one request at a time per host, ``http.per_host_delay`` between two starts;
* a few retries for transient failures (connection errors, timeouts, 429, 5xx) within the same deadline;
* errors (:class:`monitor.errors.FetchError`) whose ``error_class`` a program can test and whose message
  tells a person what went wrong and what to do.

It returns bytes: decoding text (charset sniffing, GB2312 -> GB18030...) is the scrapers' job.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
import time
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import ProxyManager

from monitor.config import HttpSettings
from monitor.errors import FetchError
from scrapers.base import Page

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
ACCEPT_ENCODING = "gzip, deflate"   # what urllib3 can always decode; the byte cap counts decoded bytes
CHUNK_SIZE = 64 * 1024              # decoded bytes per read (urllib3 >= 2.6 bounds decompression to it)
RETRY_BACKOFF = 0.5                 # seconds * attempt number; a later issue adds Retry-After and jitter
MIN_CONNECT_TIMEOUT = 1.0           # seconds; see Fetcher._attempt


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
    elapsed: float             # seconds, from the first attempt to the end of the body

    def as_page(self) -> Page:
        """What a scraper reads: the bytes, the final URL and the declared charset."""
        return Page(url=self.url, body=self.body, content_type=self.content_type, charset=self.charset)


# --- the deadline watchdog --------------------------------------------------------------------------------

_in_flight = threading.local()   # the watchdog of the fetch running in this thread, if any


class _Watchdog:
    """Cuts the socket of the current attempt when its deadline passes.

    A blocked ``recv`` cannot be interrupted from Python except by shutting the socket down from another
    thread; the reading thread then sees end-of-file or an error, and the fetcher reports a timeout because
    ``fired``. The cut happens under a lock that ``__exit__`` also takes: once the attempt is over, nothing
    is ever cut.
    """

    def __init__(self, seconds: float):
        self.fired = False
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
        """Called (via the adapter's pools) for every connection the attempt uses, redirect hops included."""
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


class _TrackedPoolMixin:
    """Hands each connection a pool lends out to the watchdog of the fetch in this thread."""

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        watchdog = getattr(_in_flight, "watchdog", None)
        if watchdog is not None:
            watchdog.track_connection(conn)
        return conn


class _TrackedHTTPPool(_TrackedPoolMixin, HTTPConnectionPool):
    pass


class _TrackedHTTPSPool(_TrackedPoolMixin, HTTPSConnectionPool):
    pass


_TRACKED_POOLS = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter with pools that let the watchdog see the socket, so it can cut slow headers too."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_TRACKED_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is ProxyManager:   # SOCKS managers have pools of their own: leave them alone
            manager.pool_classes_by_scheme = dict(_TRACKED_POOLS)
        return manager


def _install_adapters(session: requests.Session) -> None:
    """Swap requests' stock adapters for deadline-aware ones; custom adapters (mocks, a caller's) are kept."""
    for prefix in ("http://", "https://"):
        current = session.adapters.get(prefix)
        if current is None or type(current) is HTTPAdapter:
            if current is not None:
                current.close()
            session.mount(prefix, _DeadlineAdapter())


# --- the fetcher ------------------------------------------------------------------------------------------


class _HostSlot:
    """One host's turn-taking: a lock (one request at a time) and when its last request started."""

    def __init__(self):
        self.lock = threading.Lock()
        self.last_start: float | None = None

    def wait_time(self, delay: float) -> float:
        if self.last_start is None:
            return 0.0
        return max(0.0, self.last_start + delay - time.monotonic())


class Fetcher:
    """Fetches URLs politely within a deadline and a size limit; safe to share between scheduler threads."""

    def __init__(self, settings: HttpSettings, session: requests.Session | None = None, *,
                 retry_backoff: float = RETRY_BACKOFF):
        self.settings = settings
        self.retry_backoff = retry_backoff
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.session.max_redirects = MAX_REDIRECTS
        _install_adapters(self.session)
        self._hosts: dict[str, _HostSlot] = {}
        self._hosts_lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pools (only those of a session this fetcher created)."""
        if self._owns_session:
            self.session.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              settings: HttpSettings | None = None) -> FetchResult:
        """GET ``url`` (conditionally when validators are given); raise FetchError with a reason on failure.

        ``settings`` overrides the fetcher's defaults for this call (a source's own ``http:`` block).
        The deadline covers every attempt and backoff; waiting for the host's turn comes before it.
        """
        s = settings or self.settings
        host = _host_of(url)
        headers = {"User-Agent": s.user_agent, "Accept-Encoding": ACCEPT_ENCODING}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        slot = self._slot(host)
        with slot.lock:
            time.sleep(slot.wait_time(s.per_host_delay))
            started = time.monotonic()
            deadline = started + s.timeout
            attempt = 0
            while True:
                attempt += 1
                slot.last_start = time.monotonic()
                logger.debug("GET %s (attempt %d)", url, attempt)
                try:
                    result = self._attempt(url, headers, s, started, deadline)
                except FetchError as exc:
                    pause = self._retry_pause(exc, attempt, s, slot, deadline)
                    if pause is None:
                        raise _after_attempts(exc, attempt) from exc
                    logger.info("retrying %s in %.2f s after: %s", url, pause, exc)
                    time.sleep(pause)
                    continue
                break

        if result.not_modified:
            # A 304 need not repeat the validators; the ones we sent are still the current ones.
            result = replace(result, etag=result.etag or etag,
                             last_modified=result.last_modified or last_modified)
        logger.debug("%s: %d, %d bytes in %.2f s", url, result.status, len(result.body), result.elapsed)
        return result

    def _slot(self, host: str) -> _HostSlot:
        with self._hosts_lock:
            slot = self._hosts.get(host)
            if slot is None:
                slot = self._hosts[host] = _HostSlot()
            return slot

    def _retry_pause(self, exc: FetchError, attempt: int, s: HttpSettings, slot: _HostSlot,
                     deadline: float) -> float | None:
        """Seconds to wait before the next attempt, or None when the error is final or no time is left."""
        if attempt > s.retries or not _retryable(exc.error_class):
            return None
        pause = max(self.retry_backoff * attempt, slot.wait_time(s.per_host_delay))
        if time.monotonic() + pause >= deadline:
            return None
        return pause

    def _attempt(self, url: str, headers: dict[str, str], s: HttpSettings, started: float,
                 deadline: float) -> FetchResult:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timeout(url, s, "before the request could start")
        # Connecting gets a share of the budget, so that after a lost SYN a retry still fits in the deadline;
        # reads get all the time left (a server that is slow to answer is not helped by asking again).
        connect_timeout = min(remaining, max(MIN_CONNECT_TIMEOUT, s.timeout / (s.retries + 1)))
        response = None
        phase = "waiting for an answer from"
        try:
            with _Watchdog(remaining) as watchdog:
                try:
                    response = self.session.get(url, headers=headers, stream=True, allow_redirects=True,
                                                timeout=(connect_timeout, remaining))
                    watchdog.track_response(response.raw)
                    status = response.status_code
                    if status == 304:
                        body = b""
                    elif status >= 400:
                        raise _http_error(status, response.url, response.reason)
                    elif 300 <= status < 400:
                        raise FetchError(f"unexpected redirect ({status}) from {response.url} without a "
                                         "usable Location header; check the source's url",
                                         error_class=f"http_{status}", url=response.url, http_status=status)
                    else:
                        phase = "reading the response from"
                        body = _read_body(response, s, deadline, watchdog)
                except FetchError:
                    raise
                except (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
                        OSError) as exc:
                    raise _classify(exc, url, s, watchdog.fired, phase) from exc
        finally:
            if response is not None:
                response.close()

        content_type = response.headers.get("Content-Type")
        return FetchResult(
            url=response.url,
            status=status,
            body=body,
            content_type=content_type.strip() if content_type else None,
            charset=_charset_of(content_type),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            not_modified=status == 304,
            elapsed=time.monotonic() - started,
        )


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
        raise FetchError(f"bad URL {url!r}: {exc}; check the source's url", error_class="bad_url",
                         url=url) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"unsupported URL {url!r}: only http:// and https:// URLs can be fetched; "
                         "check the source's url", error_class="bad_url", url=url)
    if not host:
        raise FetchError(f"bad URL {url!r}: it names no host; check the source's url", error_class="bad_url",
                         url=url)
    return host.lower()


def _retryable(error_class: str) -> bool:
    return error_class in ("connection", "timeout", "http_429") or error_class.startswith("http_5")


def _after_attempts(exc: FetchError, attempts: int) -> FetchError:
    if attempts == 1:
        return exc
    return FetchError(f"{exc} (gave up after {attempts} attempts)", error_class=exc.error_class, url=exc.url,
                      http_status=exc.http_status)


def _timeout(url: str, s: HttpSettings, phase: str) -> FetchError:
    return FetchError(f"timed out after {s.timeout:g} s {phase} {url}; the site is down, slow or stalled "
                      "(raise http.timeout for this source if it is just slow)",
                      error_class="timeout", url=url)


def _too_large(url: str, limit: int, detail: str) -> FetchError:
    return FetchError(f"the response from {url} is larger than the limit of {limit} bytes ({detail}); "
                      "raise http.max_bytes for this source if that is expected",
                      error_class="too_large", url=url)


def _http_error(status: int, url: str, reason: str | None) -> FetchError:
    if status == 401:
        text = f"authentication required (401) by {url}; news-monitor cannot log in: use a public URL"
    elif status == 403:
        text = (f"access forbidden (403) by {url}; the site refuses this client (check that the page is "
                "public, or try another http.user_agent)")
    elif status == 404:
        text = f"not found (404): the URL may have moved; check the source's url ({url})"
    elif status == 410:
        text = f"gone (410): {url} was removed for good; check the source's url"
    elif status == 429:
        text = (f"too many requests (429) from {url}; the site is rate-limiting: run this source less often "
                "or raise http.per_host_delay")
    elif status >= 500:
        text = f"server error ({status}) from {url}; will retry at the next run"
    else:
        label = f"{status} {reason}" if reason else str(status)
        text = f"request refused ({label}) by {url}; check the source's url"
    return FetchError(text, error_class=f"http_{status}", url=url, http_status=status)


def _classify(exc: BaseException, url: str, s: HttpSettings, fired: bool, phase: str) -> FetchError:
    """Turn a requests/urllib3/socket exception into a FetchError a person can act on."""
    failing_url = getattr(getattr(exc, "request", None), "url", None) or url
    host = urlsplit(failing_url).hostname or failing_url
    if fired or _is_timeout(exc):
        if isinstance(exc, requests.ConnectTimeout):
            phase = "connecting to"
        return _timeout(url, s, phase)
    if isinstance(exc, requests.TooManyRedirects):
        return FetchError(f"more than {MAX_REDIRECTS} redirects starting from {url} (the last to "
                          f"{failing_url}); the site may be in a redirect loop: check the source's url",
                          error_class="redirect_loop", url=url)
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


def _charset_of(content_type: str | None) -> str | None:
    """The charset= parameter of a Content-Type header, lower-cased and unquoted."""
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        key, sep, value = param.partition("=")
        if sep and key.strip().lower() == "charset":
            return value.strip().strip("\"'").strip().lower() or None
    return None
