"""The values identity decides on: a stored item's row, and a candidate (a row and how its headline compares).

Rows come from the store's look-ups; identity reads them by column name only (``Row``), never writes them, and never
asks for more rows. The ranking of candidates (``Candidate.rank``) is the order in which they are tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Protocol

from monitor.identity.headlines import Headline
from monitor.identity.matching import Match

_RULE_ORDER = {"title": 0, "truncated": 1, "near": 2}


class Row(Protocol):
    """A stored item's identity columns, read by name (a ``sqlite3.Row`` or any mapping): id, title, title_key,
    core_key, title_cut, url_key, publisher, publisher_key, published_at, first_seen_at, origin, story_id."""

    def __getitem__(self, column: str) -> Any: ...


def event_day(published_at: str | None, seen_at: str) -> int:
    """The day an item is placed at for story windows: its publication date, else the day it was first seen."""
    return _day_number((published_at or seen_at)[:10])


@lru_cache(maxsize=4096)
def _day_number(day: str) -> int:
    """Cached: every candidate's day is asked for, and a window holds a few dozen distinct days."""
    return date.fromisoformat(day).toordinal()


@dataclass(slots=True)
class Candidate:
    """A stored item that may be the same item as, or the same story as, an incoming one."""

    row: Row
    headline: Headline | None    # None: its stored core key showed it could not match (never compared)
    day: int
    match: Match | None          # identity.compare(incoming, this); None: not one story by headline

    @property
    def item_id(self) -> int:
        return self.row["id"]

    def rank(self, day: int) -> tuple:
        """Sort key against an incoming item of ``day``: the best rule, the higher score, the nearer day (a recurring
        title's issues are all the same title: a copy of one belongs with the issue of its day), the newer item."""
        if self.match is None:
            return (9,)
        return _RULE_ORDER[self.match.rule], -self.match.score, abs(self.day - day), -self.item_id
