"""Dates as news sites print them -> timezone-aware datetimes and ISO 8601 text; time zones by name.

``parse_date`` reads anything a source printed, in a zone it is given; ``parse_zoned`` only a date that names its own
offset (what the feed and sitemap kinds keep as a datetime, leaving the rest for ``parse_date``).
"""

from __future__ import annotations

import email.utils
import re
import time
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """``zoneinfo.ZoneInfo(name)``; an unknown or malformed name raises ``ValueError`` naming it."""
    try:
        if not isinstance(name, str) or not name.strip():
            raise ValueError
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name such as 'Asia/Shanghai')"
        ) from None


_TIME = (
    r"(?:\s*T?\s*(\d{1,2})\s*[:：时時点點]\s*(\d{1,2})"
    r"(?:\s*[:：分]\s*(\d{1,2})(?:[.,](\d{1,6}))?)?)?"
)
_ZONE = r"(?:\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})(?![\d:]))?"
# 2020-12-11 18:56, 2005-5-28 16:05:36, 2020/12/11, 2020.12.11, 2020年12月11日 18:56, 2020-12-11T10:56:00Z
_FULL_DATE = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*[日号號]?" + _TIME + _ZONE
)
# 12月8日, 12月8日 18:56 (no year)
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]" + _TIME)
# 12-08 18:56 (no year; the time is required, "1-2月" is not a date)
_DASH_MONTH_DAY = re.compile(
    r"(?<![\d\-/.])(\d{1,2})[-/](\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d\-/])"
)
_RELATIVE = re.compile(r"(\d{1,3})\s*(秒|分钟|分鐘|小时|小時|天)前")
# 今天 / 昨天 18:56; the bare word only when it is the whole text ("今日头条" is not a date)
_DAY_WORD = re.compile(
    r"(今天|今日|昨天|昨日|前天)\s*(\d{1,2})\s*[:：]\s*(\d{2})"
    r"|^\s*(今天|今日|昨天|昨日|前天)\s*$"
)
_YEAR_IN_TEXT = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_MIN_YEAR, _MAX_YEAR = 1970, 2100
_RFC822 = re.compile(
    r"\s*(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"\s*(?:[+-]\d{4}|[A-Za-z]{1,5})?\s*$"
)
_DEFAULT_A, _DEFAULT_B = datetime(2001, 1, 1), datetime(2002, 2, 2)


def _as_zone(tz: str | tzinfo) -> tzinfo:
    return zone(tz) if isinstance(tz, str) else tz


def _offset(text: str | None, tz: tzinfo) -> tzinfo:
    if not text:
        return tz
    if text in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(text)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _build(year, month, day, hour, minute, second, fraction, tz: tzinfo) -> datetime:
    micro = int((fraction or "0").ljust(6, "0")[:6])
    return datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro,
        tzinfo=tz,
    )


def _infer_year(month, day, hour, minute, second, tz: tzinfo, reference: datetime) -> datetime | None:
    """A month and day without a year: the reference's year, or the year before if that is >2 days ahead."""
    for year in (reference.year, reference.year - 1):
        try:
            candidate = _build(year, month, day, hour, minute, second, None, tz)
        except ValueError:
            continue  # 2月29日 in a common year, or nonsense
        if candidate <= reference + timedelta(days=2):
            return candidate
    return None


def _from_timestamp(seconds: float, tz: tzinfo) -> datetime | None:
    try:
        result = datetime.fromtimestamp(seconds, tz)
    except (OverflowError, OSError, ValueError):
        return None
    return result if _MIN_YEAR <= result.year <= _MAX_YEAR else None


def _parse_string(text: str, tz: tzinfo, reference: datetime) -> datetime | None:
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{10}(?:\.\d+)?|\d{13}", text):
        value = float(text)
        return _from_timestamp(value / 1000 if len(text) == 13 else value, tz)
    for m in _FULL_DATE.finditer(text):
        year, month, day, hour, minute, second, fraction, offset = m.groups()
        if not _MIN_YEAR <= int(year) <= _MAX_YEAR:
            continue
        try:
            return _build(year, month, day, hour, minute, second, fraction, _offset(offset, tz))
        except ValueError:
            continue
    for pattern in (_MONTH_DAY, _DASH_MONTH_DAY):
        for m in pattern.finditer(text):
            month, day, hour, minute, second = m.groups()[:5]   # _MONTH_DAY also captures a fraction
            try:
                result = _infer_year(month, day, hour, minute, second, tz, reference)
            except ValueError:
                continue
            if result is not None:
                return result
    m = _RELATIVE.search(text)
    if m:
        amount, unit = int(m.group(1)), m.group(2)
        delta = {"秒": timedelta(seconds=amount), "天": timedelta(days=amount)}.get(unit)
        if delta is None:
            delta = timedelta(minutes=amount) if unit.startswith("分") else timedelta(hours=amount)
        return (reference - delta).replace(microsecond=0)
    m = _DAY_WORD.search(text)
    if m:
        days_back = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}[m.group(1) or m.group(4)]
        day = reference.date() - timedelta(days=days_back)
        try:
            hour, minute = int(m.group(2) or 0), int(m.group(3) or 0)
            return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        except ValueError:
            return None
    return _parse_generic(text, tz)


def _parse_generic(text: str, tz: tzinfo) -> datetime | None:
    """RFC 822 and English forms through dateutil; only when the text names a plausible four-digit year."""
    years = {int(y) for y in _YEAR_IN_TEXT.findall(text)}
    if not years or len(text) > 200:
        return None
    result = None
    if _RFC822.match(text):  # most feeds' pubDate: the standard library's parser is fast
        try:
            result = email.utils.parsedate_to_datetime(text)
        except (ValueError, TypeError, IndexError):
            result = None
    if result is not None and result.year in years:
        if result.tzinfo is not None:
            return result
        # naive: "-0000" (UTC, origin unknown) or no zone at all (read in tz)
        return result.replace(tzinfo=UTC if re.search(r"[+-]0000|\b(?:GMT|UTC?)\b", text) else tz)

    from dateutil import parser as dateutil_parser

    for fuzzy in (False, True):
        try:
            # Parsed against two different defaults: a year, month or day the text does not give
            # would come from the default, so the two results differ and the text is rejected.
            result = dateutil_parser.parse(text, fuzzy=fuzzy, default=_DEFAULT_A)
            other = dateutil_parser.parse(text, fuzzy=fuzzy, default=_DEFAULT_B)
        except (ValueError, OverflowError, TypeError):
            continue
        if result.date() != other.date() or result.year not in years:
            continue
        return result if result.tzinfo is not None else result.replace(tzinfo=tz)
    return None


def parse_date(value, tz: str | tzinfo, *, reference: datetime | None = None) -> datetime | None:
    """An aware datetime from what a source printed, or ``None`` when nothing date-like is there.

    Never raises on bad input (an unknown ``tz`` name does raise ``ValueError``).

    * ``datetime``: naive ones are read in ``tz``; aware ones are kept as they are. A ``date`` is
      midnight in ``tz``.
    * ``time.struct_time`` (feedparser's ``*_parsed``, which is UTC): converted to ``tz``.
    * ``int``/``float`` and 10- or 13-digit strings: Unix timestamps (seconds, milliseconds).
    * strings, searched inside longer text too (``"來源:澎湃新聞 2020-12-11 18:56"``):
      ``2020-12-11 18:56``, ``2005-5-28 16:05:36``, ``2020/12/11``, ``2020年12月11日 18:56``,
      ISO 8601 with or without an offset; ``12月8日`` and ``12-08 18:56`` without a year (the
      year of ``reference``, default now, or the year before when that would put the date more
      than two days after the reference); ``3小时前``, ``昨天 18:56``; then RFC 822 and other
      English forms through dateutil (``Sat, 31 Dec 2005 06:15:55+0900``). Text without an
      offset is read in ``tz``.
    """
    tzone = _as_zone(tz)
    try:
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is not None and value.utcoffset() is not None:
                return value
            return value.replace(tzinfo=tzone)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=tzone)
        if isinstance(value, time.struct_time):
            return datetime(*value[:6], tzinfo=UTC).astimezone(tzone)
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return _from_timestamp(float(value), tzone)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            return None
        if reference is None:
            ref = datetime.now(tzone)
        elif reference.tzinfo is None:
            ref = reference.replace(tzinfo=tzone)
        else:
            ref = reference
        return _parse_string(value, tzone, ref)
    except (ValueError, OverflowError, TypeError, OSError):
        return None


def parse_zoned(text: str | None) -> datetime | None:
    """The datetime ``text`` gives with its own UTC offset, or ``None``.

    RFC 822 (``Sat, 31 Dec 2005 06:15:55+0900``, ``... GMT``, ``... EST``) and ISO 8601 / W3C
    (``2011-04-18T11:06:36Z``, ``2020-12-15T08:10:00+08:00``). A text without an offset (``2020-12-11``,
    ``2005-5-28 16:05:36``, RFC 822's ``-0000``) or that cannot be read gives ``None``: the kinds pass it on as
    printed, and ``parse_date`` reads it in the configured zone. Never raises.
    """
    raw = (text or "").strip()
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(raw.replace(" ", "T", 1))
        except ValueError:
            return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def iso_ms(dt: datetime) -> str:
    """ISO 8601 with offset at milliseconds precision: ``"2020-12-11T18:56:00.123+08:00"`` (when a run started).

    Sorts with ``iso``'s strings of the same offset: ``"...:00+08:00"`` before ``"...:00.123+08:00"``.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"iso_ms() needs a timezone-aware datetime, got naive {dt!r}")
    return dt.isoformat(timespec="milliseconds")


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 with offset at seconds precision: ``"2020-12-11T18:56:00+08:00"``; ``None`` for ``None``.

    A naive datetime raises ``ValueError``: every date stored must carry its offset (use
    ``parse_date``).
    """
    if dt is None:
        return None
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"iso() needs a timezone-aware datetime, got naive {dt!r}")
    return dt.replace(microsecond=0).isoformat(timespec="seconds")
