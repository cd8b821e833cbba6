"""The one HTTP client every source uses: politeness, limits, a total deadline and conditional GET.

requests alone is not enough for a service that runs for weeks against sites it does not control: its
``timeout`` bounds each socket read, not the download (a server dripping a byte at a time never times
out), it has no size limit, and it follows redirects anywhere. ``Fetcher`` adds, per fetch, from the top:

* redirects followed by hand, at most 5, each hop http(s), checked against robots.txt and the address rule;
* robots.txt obeyed (``http.respect_robots``; the rules are read and cached by ``monitor.fetch.robots``, fetched
  here within part of the deadline and the host's turn);
* politeness per host (``monitor.fetch.hosts``): at most ``http.per_host_concurrency`` requests in flight,
  ``http.per_host_delay`` (or the site's robots.txt ``Crawl-delay``, if longer, up to 60 s) between two request
  starts;
* the address rule (``monitor.fetch.addresses``, enforced by ``monitor.fetch.transport``): unless
  ``http.allow_private_networks``, a URL not written in config.yaml (``configured=False``: links the spider or a
  sitemap found) and every redirect target may reach only public addresses, checked on the DNS answer and again
  on the address the socket actually connected to;
* retries of transient failures (connection errors, timeouts, 408, 429, 5xx) up to ``http.retries``, with
  exponential backoff and jitter, or after exactly the wait a ``Retry-After`` header asks for (up to 120 s);
  a wait that does not fit in the deadline ends the fetch at once with a message saying so. A connect gets a
  share of the deadline, so a lost SYN can be retried; a read that stalls (no byte for half the time left,
  before the headers or mid-body) is retried once, with all the time then left (see ``Fetcher._attempt``);
* a total deadline (``http.timeout``) over all of it, not counting the wait for the host's turn
  (``monitor.fetch.deadline``);
* a cap on *decompressed* bytes (``http.max_bytes``), gzip bodies without a Content-Encoding decompressed within
  it, binary data refused as ``not_a_page`` (``monitor.fetch.body``);
* a 304 Not Modified answer to a request that sent no validators is an error (``bad_304``), not "not modified";
* errors (:class:`monitor.core.errors.FetchError`) whose ``error_class`` a program can test and whose message
  tells a person what went wrong and what to do (``monitor.fetch.failures``).

It returns the bytes and, for a page it read, the ``Page`` the kinds read: the body decoded once
(``monitor.core.page.read_page``: charset sniffing, GB2312 -> GB18030...).
"""

from __future__ import annotations

import http.client
import logging
import random
import time
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.utils import requote_uri

from monitor.core.encoding import charset_from_content_type
from monitor.core.errors import FetchError
from monitor.core.page import Page, read_page
from monitor.fetch.body import as_document, read_body
from monitor.fetch.deadline import Clock, Watchdog
from monitor.fetch.failures import (
    CHECK_SOURCE_URL,
    FOUND_LINK_ADVICE,
    Stalled,
    after_attempts,
    blocked_address,
    classify,
    http_error,
    is_read_timeout,
    parse_retry_after,
    retryable,
    timed_out,
    wait_refused,
)
from monitor.fetch.hosts import Host, Hosts, SlotTimeout, holds_a_turn
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
from monitor.fetch.transport import BlockedPeer, check_resolved, install_adapters, read_environment_once

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPT_ENCODING = "gzip, deflate"   # what urllib3 can always decode; the byte cap counts decoded bytes
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
        install_adapters(self.session)
        if self._owns_session:
            read_environment_once(self.session)
        self._hosts = Hosts()
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
        clock = Clock(s.timeout)
        try:
            answer = self._follow(url, headers, s, clock, configured)
        except FetchError as error:
            if not configured:       # the advice of a message written for a source's own url would mislead here
                error.args = (str(error).replace(CHECK_SOURCE_URL, FOUND_LINK_ADVICE),)
            raise
        if answer.status == 304 and not (etag or last_modified):
            # Nothing was asked conditionally: "not modified" since what? Taken at its word, such a source would
            # read as "not modified" run after run and never show as failing.
            raise FetchError(f"{answer.url} answered 304 Not Modified to an unconditional request (no ETag or "
                             "Last-Modified was sent), so there is nothing to read; the server or a proxy in front "
                             f"of it is misbehaving; {CHECK_SOURCE_URL if configured else FOUND_LINK_ADVICE}",
                             error_class="bad_304", url=answer.url,
                             http_status=304)
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

    def _follow(self, url: str, headers: dict[str, str], s: HttpSettings, clock: Clock,
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

    def _hop(self, url: str, headers: dict[str, str], s: HttpSettings, clock: Clock, *, configured: bool,
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
            check_resolved(url, host)
        site = self._hosts.of(host)
        # A thread that already holds a host's turn (a robots.txt redirected to this host) waits a bounded time:
        # two such threads waiting for each other's host must not wait for ever.
        nested = holds_a_turn()
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
        except SlotTimeout:
            raise timed_out(url, s, f"waiting for a turn at {host} before asking") from None

    def _robots_rules(self, url: str, s: HttpSettings, clock: Clock, configured: bool) -> RobotsRules:
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

    def _fetch_robots(self, origin: str, s: HttpSettings, clock: Clock,
                      configured: bool) -> tuple[RobotsRules, float]:
        """Fetch and parse ``origin``/robots.txt within part of the fetch's deadline; unavailable allows all."""
        robots_url = f"{origin}/robots.txt"
        robots_settings = replace(s, max_bytes=min(s.max_bytes, ROBOTS_MAX_BYTES), retries=0, respect_robots=False)
        headers = {"User-Agent": s.user_agent, "Accept-Encoding": ACCEPT_ENCODING}
        try:
            answer = self._follow(robots_url, headers, robots_settings, Clock(s.timeout * ROBOTS_SHARE, clock),
                                  configured)
        except FetchError as exc:
            # 4xx: the site has no robots.txt for us (RFC 9309: allow all). Anything else may be passing.
            ttl = ROBOTS_TTL if exc.error_class.startswith("http_4") else ALLOW_ALL_TTL
            logger.info("robots.txt %s unavailable, so everything is allowed there: %s", robots_url, exc)
            return RobotsRules(robots_url, None, exc.error_class), ttl
        logger.debug("robots.txt %s: %d bytes", answer.url, len(answer.body))
        return parse_robots(robots_url, answer.body), ROBOTS_TTL

    # -- attempts and retries

    def _attempts(self, url: str, headers: dict[str, str], s: HttpSettings, clock: Clock, site: Host,
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
                stalled = stalled or isinstance(exc, Stalled)
                if not retryable(exc.error_class) or failures > s.retries:
                    raise after_attempts(exc, failures) from exc
                retry_after = getattr(exc, "retry_after", None)
                if retry_after is not None:
                    if retry_after > MAX_RETRY_AFTER:
                        raise wait_refused(exc, retry_after, f"longer than news-monitor waits "
                                            f"({MAX_RETRY_AFTER:g} s)") from exc
                    pause = retry_after
                else:
                    pause = self._backoff(failures)
                now = time.monotonic()
                pause = max(pause, site.earliest_start() - now)
                if now + pause >= clock.end():
                    if retry_after is not None:
                        raise wait_refused(exc, retry_after, f"longer than the time left for this fetch "
                                            f"(http.timeout {s.timeout:g} s)") from exc
                    raise after_attempts(exc, failures) from exc
                logger.info("retrying %s in %.2f s after: %s", url, pause, exc)
                not_before = now + pause

    def _backoff(self, failures: int) -> float:
        """Exponential backoff with jitter: about base, 2 x base, 4 x base... (capped), each +-25%."""
        pause = min(MAX_BACKOFF, self.retry_backoff * 2 ** (failures - 1))
        return pause * random.uniform(1 - JITTER, 1 + JITTER)

    def _attempt(self, url: str, headers: dict[str, str], s: HttpSettings, clock: Clock, public_only: bool,
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
            raise timed_out(url, s, "before the request could start")
        connect_timeout = min(remaining, max(MIN_CONNECT_TIMEOUT, s.timeout / (s.retries + 1)))
        read_timeout = remaining * STALL_SHARE if stall_retry else remaining
        response = None
        phase = "waiting for an answer from"
        try:
            with Watchdog(remaining, public_only=public_only) as watchdog:
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
                        raise http_error(status, response.url, response.reason,
                                          parse_retry_after(response.headers.get("Retry-After")))
                    elif 300 <= status < 400:
                        raise FetchError(f"unexpected redirect ({status}) from {response.url} without a "
                                         f"usable Location header; {CHECK_SOURCE_URL}",
                                         error_class=f"http_{status}", url=response.url, http_status=status)
                    else:
                        phase = "reading the response from"
                        body = as_document(read_body(response, s, clock.end(), watchdog), response.url,
                                            s.max_bytes)
                except FetchError:
                    raise
                except BlockedPeer as exc:
                    raise blocked_address(url, urlsplit(url).hostname or url, exc.address, exc.problem) from None
                except (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
                        OSError) as exc:
                    if stall_retry and not watchdog.fired and is_read_timeout(exc):
                        raise Stalled(url, read_timeout, phase) from exc
                    raise classify(exc, url, s, watchdog.fired, phase) from exc
        finally:
            if response is not None:
                response.close()
        return _Answer(url=response.url, status=status, headers=response.headers, body=body, location=location)


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
