"""robots.txt rules per site, read with protego and remembered for a day.

The fetcher asks ``RobotsCache`` for the rules of a URL's origin (scheme, host, port) before every request and
fetches ``/robots.txt`` itself when they are missing or stale, through its own limits. As Scrapy does, a
robots.txt that cannot be had (404, 5xx, unreachable, too large, not text) allows everything; such an "allow all"
is remembered for an hour only, so a site that was briefly down has its rules read again soon.

Rules are matched against the whole User-Agent header (protego looks for each group's product token in it, at
a word boundary), as Scrapy does. ``Crawl-delay`` raises the pause between two requests to that host, capped.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

logger = logging.getLogger(__name__)

__all__ = ["ALLOW_ALL_TTL", "MAX_CRAWL_DELAY", "ROBOTS_MAX_BYTES", "ROBOTS_TTL", "RobotsCache", "RobotsRules",
           "origin_of", "parse_robots"]

ROBOTS_TTL = 24 * 3600.0          # seconds a fetched robots.txt is trusted
ALLOW_ALL_TTL = 3600.0            # seconds an unavailable robots.txt counts as "allow all" before asking again
ROBOTS_MAX_BYTES = 512 * 1024     # Google reads the first 500 KiB; a larger file is not a robots.txt we can use
MAX_CRAWL_DELAY = 60.0            # seconds: a Crawl-delay above this is treated as this
MAX_ENTRIES = 10_000              # origins remembered at once (the spider may meet many sites)


def origin_of(url: str) -> str:
    """``https://Example.org:8443/a?b`` -> ``https://example.org:8443``: the scope of one robots.txt."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower().rpartition('@')[2]}"


@dataclass(frozen=True)
class RobotsRules:
    """The rules of one origin: a parsed robots.txt, or "allow all" with the reason it is so."""

    robots_url: str
    parser: Protego | None = None
    reason: str = ""                  # for "allow all": why (``not found (404)``, ``timed out``...)

    def allows(self, url: str, user_agent: str) -> bool:
        if self.parser is None:
            return True
        try:
            return self.parser.can_fetch(url, user_agent)
        except Exception:   # a parser bug must not stop fetching: allow, as for a missing file
            logger.warning("robots.txt %s could not be applied to %s; allowing it", self.robots_url, url,
                           exc_info=True)
            return True

    def crawl_delay(self, user_agent: str) -> float:
        """The Crawl-delay for ``user_agent`` in seconds (0 if none), capped at ``MAX_CRAWL_DELAY``."""
        if self.parser is None:
            return 0.0
        try:
            delay = self.parser.crawl_delay(user_agent)
        except Exception:   # see allows()
            return 0.0
        return min(float(delay), MAX_CRAWL_DELAY) if delay else 0.0


def parse_robots(robots_url: str, body: bytes) -> RobotsRules:
    """Rules from the bytes of a robots.txt (UTF-8, as RFC 9309 says; undecodable bytes are replaced)."""
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        return RobotsRules(robots_url, Protego.parse(text))
    except Exception as exc:   # garbage in a robots.txt allows all, it never fails a source
        logger.info("robots.txt %s could not be parsed (%s); allowing everything", robots_url, exc)
        return RobotsRules(robots_url, None, f"unparseable ({exc})")


class RobotsCache:
    """Rules per origin with an expiry; one lock per origin so two threads never fetch the same robots.txt."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: dict[str, tuple[RobotsRules, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, origin: str) -> RobotsRules | None:
        """The rules of ``origin`` if known and not expired."""
        with self._lock:
            entry = self._entries.get(origin)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def put(self, origin: str, rules: RobotsRules, ttl: float) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries = {key: value for key, value in self._entries.items() if value[1] > now}
                if len(self._entries) >= self.max_entries:   # still full: forget the older half
                    keep = list(self._entries.items())[len(self._entries) // 2:]
                    self._entries = dict(keep)
                self._locks = {key: lock for key, lock in self._locks.items() if key in self._entries}
            self._entries[origin] = (rules, now + ttl)

    def lock_for(self, origin: str) -> threading.Lock:
        with self._lock:
            lock = self._locks.get(origin)
            if lock is None:
                lock = self._locks[origin] = threading.Lock()
            return lock
