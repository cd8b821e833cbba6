"""Source health: when to back a failing source off, and when to tell the operator a source looks wrong.

Peers fail here in two ways users keep reporting: Miniflux stops polling a feed after 3 errors until someone
refreshes it by hand (its issue 1628), and a route that silently returns nothing goes unnoticed for months (RSSHub
14361). So a failing source is never dropped: its next run is pushed out exponentially, up to a day, and it comes
back to its schedule on the first success. And a source is flagged where the operator looks (``status``,
``sources.flags`` in Datasette) when it fails repeatedly, when its selectors suddenly match nothing, or when it has
found nothing new for much longer than usual.
"""

from __future__ import annotations

from datetime import datetime, timedelta

BACKOFF_AFTER = 2                  # consecutive failures before runs are pushed out
MAX_BACKOFF = timedelta(hours=24)
FAILING_AFTER = 3                  # consecutive failures before the source is flagged `failing`
STALE_FACTOR = 4                   # "much longer than usual": this many times the usual gap between new items
STALE_MIN_HISTORY = 3              # runs with new items needed before a source can be judged stale
STALE_FLOOR = timedelta(hours=6)   # never flag stale sooner than this


def backoff_delay(consecutive_failures: int, interval: timedelta) -> timedelta | None:
    """How long to wait before the next try, or None to keep the normal schedule.

    The first failure keeps the schedule (a blip); from the second on, the wait doubles from the source's own
    interval: 2×, 4×, 8× ... capped at MAX_BACKOFF.
    """
    if consecutive_failures < BACKOFF_AFTER:
        return None
    doublings = min(consecutive_failures - BACKOFF_AFTER + 1, 20)   # 2**20 intervals exceed any cap; no overflow
    return min(interval * 2**doublings, MAX_BACKOFF)


def health_flags(*, consecutive_failures: int, last_error_class: str | None, ever_found_items: bool,
                 new_item_times: list[datetime], now: datetime) -> list[str]:
    """The flags a source gets after a run; ``new_item_times`` are the start times of its runs with new items.

    * ``failing``: FAILING_AFTER or more failures in a row.
    * ``selectors_broken``: the last run's selectors matched nothing on a source that used to give items
      (a layout change).
    * ``stale``: nothing new for STALE_FACTOR times the usual gap between runs with new items.
    """
    flags = []
    if consecutive_failures >= FAILING_AFTER:
        flags.append("failing")
    if consecutive_failures and last_error_class == "selector_empty" and ever_found_items:
        flags.append("selectors_broken")
    if len(new_item_times) >= STALE_MIN_HISTORY:
        times = sorted(new_item_times)
        usual = _median(sorted(b - a for a, b in zip(times, times[1:], strict=False)))
        if now - times[-1] > max(usual * STALE_FACTOR, STALE_FLOOR):
            flags.append("stale")
    return flags


def _median(ordered: list[timedelta]) -> timedelta:
    """The median of sorted gaps (``statistics.median`` would import fractions and decimal at every finished run)."""
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
