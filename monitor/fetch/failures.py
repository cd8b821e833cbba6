"""Every way a fetch can fail, as a :class:`monitor.core.errors.FetchError` a program can test and a person can act on.

Its ``error_class`` (``timeout``, ``too_large``, ``http_404``, ``blocked_address``...) is what the pipeline, the
health checks and the retries test; its message says what went wrong and what to do. The messages are written
here, in one place, so that the same failure always reads the same, whichever part of the fetch met it: HTTP
statuses (``http_error``, with the wait a ``Retry-After`` header asked for), exceptions of requests, urllib3 and
the socket (``classify``, with a short human ``reason``), and the fetcher's own limits.
"""

from __future__ import annotations

import email.utils
import http.client
import re
import socket
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
import urllib3

from monitor.core.errors import FetchError
from monitor.fetch.settings import HttpSettings

# The advice closing a message about a URL from config.yaml, and what replaces it for a URL found on a page (a
# related link, a sitemap entry): there is no url to check in config.yaml, the page's link is what went stale.
CHECK_SOURCE_URL = "check the source's url"
FOUND_LINK_ADVICE = "the link was found on a page, not written in config.yaml: it may be out of date"


def retryable(error_class: str) -> bool:
    """Whether a failure of this class may pass if asked again (connection errors, timeouts, 408, 429, 5xx)."""
    return error_class in ("connection", "timeout", "http_408", "http_429") or error_class.startswith("http_5")


def after_attempts(exc: FetchError, attempts: int) -> FetchError:
    """The last failure of a fetch, saying how many attempts it took when there was more than one."""
    if attempts == 1:
        return exc
    return FetchError(f"{exc} (gave up after {attempts} attempts)", error_class=exc.error_class, url=exc.url,
                      http_status=exc.http_status)


def timed_out(url: str, s: HttpSettings, phase: str) -> FetchError:
    """The fetch's deadline (``http.timeout``) passed while ``phase`` ("reading the response from"...)."""
    return FetchError(f"timed out after {s.timeout:g} s {phase} {url}; the site is down, slow or stalled "
                      "(raise http.timeout for this source if it is just slow)",
                      error_class="timeout", url=url)


class Stalled(FetchError):
    """A read got no byte for the stall limit of an attempt that may be retried (see ``Fetcher._attempt``)."""

    def __init__(self, url: str, seconds: float, phase: str):
        super().__init__(f"timed out: no data for {seconds:.3g} s {phase} {url}; the site is down, slow or "
                         "stalled (raise http.timeout for this source if it is just slow)",
                         error_class="timeout", url=url)


def too_large(url: str, limit: int, detail: str) -> FetchError:
    return FetchError(f"the response from {url} is larger than the limit of {limit} bytes ({detail}); "
                      "raise http.max_bytes for this source if that is expected",
                      error_class="too_large", url=url)


def blocked_address(url: str, host: str, address: str, problem: str) -> FetchError:
    """``url`` may reach only public addresses (see ``monitor.fetch.addresses``), and ``host`` is not one."""
    where = f"{address} is" if host.strip("[]") == address else f"{host} is {address},"
    return FetchError(f"refused to fetch {url}: {where} a {problem} address. Links found on pages and "
                      "redirect targets may reach only public addresses; if you trust this server, set "
                      "http.allow_private_networks: true for this source", error_class="blocked_address", url=url)


# --- HTTP statuses ----------------------------------------------------------------------------------------


class StatusError(FetchError):
    """An HTTP error status, with the wait its ``Retry-After`` header asked for (seconds), if any."""

    def __init__(self, message: str, *, status: int, url: str, retry_after: float | None):
        super().__init__(message, error_class=f"http_{status}", url=url, http_status=status)
        self.retry_after = retry_after


def http_error(status: int, url: str, reason: str | None, retry_after: float | None = None) -> FetchError:
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
    return StatusError(text, status=status, url=url, retry_after=retry_after)


def wait_refused(exc: FetchError, seconds: float, why: str) -> FetchError:
    """The fetch ends now because the wait the server asked for (Retry-After) cannot be made."""
    status = exc.http_status
    label = {429: "too many requests (429)", 503: "service unavailable (503)"}.get(status, f"HTTP {status}")
    return FetchError(f"{label} from {exc.url}: the server asked to wait {seconds:g} s (Retry-After), {why}; "
                      "will try at the next run", error_class=exc.error_class, url=exc.url, http_status=status)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
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


# --- exceptions of requests, urllib3 and the socket -------------------------------------------------------


def classify(exc: BaseException, url: str, s: HttpSettings, fired: bool, phase: str) -> FetchError:
    """Turn a requests/urllib3/socket exception into a FetchError a person can act on."""
    failing_url = getattr(getattr(exc, "request", None), "url", None) or url
    host = urlsplit(failing_url).hostname or failing_url
    if fired or _is_timeout(exc):
        if isinstance(exc, requests.ConnectTimeout):
            phase = "connecting to"
        return timed_out(url, s, phase)
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


def is_read_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a socket read that timed out (not a connect: that has a budget of its own)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    return any(isinstance(e, urllib3.exceptions.ReadTimeoutError | requests.ReadTimeout) for e in _causes(exc))


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
