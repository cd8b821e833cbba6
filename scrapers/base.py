"""What every scraper kind shares: the raw item it produces and the registry of kinds.

A scraper turns fetched bytes into ``RawItem`` objects. It never touches the database, never fetches and never
sleeps; bad input raises ``monitor.errors.ScrapeError``. Built-in kinds register themselves exactly as a user's
plug-in would, with ``@register("kind")``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass
class RawItem:
    """One headline as a source showed it, before normalising.

    ``published`` is either a timezone-aware datetime (feeds give struct times) or the text as printed on the page
    (``2020年12月11日 18:56``); the pipeline turns both into ISO 8601 with the configured time zone.
    """

    title: str
    url: str | None = None
    summary: str | None = None
    publisher: str | None = None
    published: datetime | str | None = None
    guid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """Fetched bytes and what the fetcher learned about them (what a scraper may read)."""

    url: str                      # the final URL, after redirects; relative links resolve against it
    body: bytes
    content_type: str | None = None   # the Content-Type header, e.g. "text/html; charset=gb2312"
    charset: str | None = None        # the charset named in the HTTP header, if any


class Scraper(Protocol):
    def __call__(self, page: Page, options: dict[str, Any]) -> list[RawItem]: ...


@dataclass(frozen=True)
class Kind:
    """A registered scraper kind: its function and the ``select:`` fields config.yaml may give it."""

    name: str
    scrape: Callable[[Page, dict[str, Any]], list[RawItem]]
    select_fields: frozenset[str] = frozenset()    # empty: the kind takes no `select:` mapping
    required_select: frozenset[str] = frozenset()
    needs_url: bool = True                         # False: a source of this kind may start without url/urls
    # More URLs of the same source to fetch in this run (a sitemap index's children, further pages);
    # the pipeline fetches them, capped by the source's max_pages, each URL at most once per run.
    discover: Callable[[Page, dict[str, Any]], list[str]] | None = None


# --- gzip bodies: a .xml.gz sitemap, or a page a server gzipped without saying so (no Content-Encoding) -----

GZIP_MAGIC = b"\x1f\x8b"
GUNZIP_CHUNK = 1024 * 1024   # output bytes per decompression step


class GunzipError(ValueError):
    """A gzip body that cannot be decompressed: ``reason`` is ``too_large``, ``truncated`` or ``corrupt``."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress a gzip body (all its members), stopping as soon as the output passes ``limit`` bytes.

    The one decompressor of gzip bytes that arrive as the body itself (the fetcher for every source, the sitemap
    kind for pages given to it directly). Output is produced at most ``GUNZIP_CHUNK`` bytes at a time, so a gzip
    bomb costs about ``limit`` bytes of memory and the time to inflate them, never more.
    """
    out = bytearray()
    data = body
    try:
        while data[:2] == GZIP_MAGIC:   # a file may hold several gzip members, one after the other
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while data and not decompressor.eof:
                out += decompressor.decompress(data, GUNZIP_CHUNK)
                if len(out) > limit:
                    raise GunzipError("too_large", f"it decompresses to more than {limit} bytes")
                data = decompressor.unconsumed_tail
            if not decompressor.eof:
                raise GunzipError("truncated", "it ends before the compressed data does")
            data = decompressor.unused_data
    except zlib.error as exc:
        raise GunzipError("corrupt", f"it cannot be decompressed ({exc})") from exc
    return bytes(out)


_REGISTRY: dict[str, Kind] = {}


def register(kind: str, *, select_fields: tuple[str, ...] = (), required_select: tuple[str, ...] = (),
             needs_url: bool = True, discover: Callable[[Page, dict[str, Any]], list[str]] | None = None):
    """Register a scraper function under ``kind`` (the ``kind:`` value in config.yaml).

    ``select_fields`` names the keys a source of this kind may give under ``select:``; config validation uses it,
    so a new kind needs no change outside its own module.
    """

    def decorator(func):
        if kind in _REGISTRY and _REGISTRY[kind].scrape is not func:
            raise ValueError(f"scraper kind {kind!r} is registered twice")
        _REGISTRY[kind] = Kind(kind, func, frozenset(select_fields), frozenset(required_select), needs_url, discover)
        return func

    return decorator


def get_kind(kind: str) -> Kind:
    """The registered kind; KeyError if no such kind is registered."""
    return _REGISTRY[kind]


def get_scraper(kind: str):
    """The scraper function for ``kind``; KeyError if no such kind is registered."""
    return _REGISTRY[kind].scrape


def registered_kinds() -> list[str]:
    return sorted(_REGISTRY)
