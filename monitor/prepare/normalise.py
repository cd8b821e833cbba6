"""Raw items as sources show them -> normalised items: identity keys, the outlet suffix read off, ISO dates."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from monitor.core import dates, fold, outlets, urls
from monitor.core.model import Item, RawItem

MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 2000
_SUFFIX_ROOM = 100     # characters past the title cap in which an outlet suffix is still looked for
_SPACES = re.compile(r"\s+")
# Text SQLite cannot store (a lone surrogate, as a JSON "\ud800" gives, is no UTF-8) or nobody can read (C0 control
# characters other than whitespace).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def writable(value: str) -> str:
    """``value`` without control characters, a lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", value))


def clean(value: str | None, limit: int) -> str | None:
    """Collapse whitespace, drop what cannot be stored (``writable``) and cap the length; empty becomes None."""
    if value is None:
        return None
    value = _SPACES.sub(" ", writable(value)).strip()
    return value[:limit] or None


def _writable_extra(value):
    """``RawItem.extra`` with every string in it ``writable``."""
    if isinstance(value, str):
        return writable(value)
    if isinstance(value, dict):
        return {writable(str(k)): _writable_extra(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_writable_extra(v) for v in value]
    return value


def _local_iso(published: datetime | None, zone: tzinfo) -> str | None:
    """The date in the configured zone; None when it cannot be shown there (9999-12-31T23:00Z is year 10000)."""
    if published is None:
        return None
    try:
        return dates.iso(published.astimezone(zone))
    except (OverflowError, ValueError):
        return None


def normalise(raw: RawItem, zone: tzinfo, *, origin: str = "scraped", reference: datetime | None = None) -> Item | None:
    """Turn a RawItem into an Item; None when it has no usable title."""
    # Capped after the outlet suffix is read, so an over-long title still gives its publisher ("... - 澎湃新闻").
    seen_title = clean(raw.title, MAX_TITLE_CHARS + _SUFFIX_ROOM)
    if not seen_title:
        return None
    publisher = clean(raw.publisher, 200)
    title, outlet = outlets.strip_outlet_suffix(seen_title, publisher)
    title, seen_title = title[:MAX_TITLE_CHARS], seen_title[:MAX_TITLE_CHARS]
    publisher = publisher or outlet
    _, cut_start, cut_end = fold.split_truncation(title)
    title_key = outlets.title_key(title, publisher)
    if not title_key:
        return None
    url = clean(raw.url, 2000)
    published = dates.parse_date(raw.published, zone, reference=reference) if raw.published else None
    return Item(
        title=title,
        title_key=title_key,
        seen_title=seen_title,
        url=url,
        url_key=urls.canonical_url(url) if url else None,
        summary=clean(raw.summary, MAX_SUMMARY_CHARS),
        publisher=publisher,
        publisher_key=outlets.publisher_key(publisher),
        published_at=_local_iso(published, zone),
        title_cut={(False, False): "", (True, False): "start", (False, True): "end", (True, True): "both"}[
            (cut_start, cut_end)
        ],
        origin=origin,
        extra=_writable_extra(dict(raw.extra)),
    )

