"""What every scraper kind shares: the raw item it produces and the registry of kinds.

A scraper turns fetched bytes into ``RawItem`` objects. It never touches the database, never fetches and never
sleeps; bad input raises ``monitor.core.errors.ScrapeError``. Built-in kinds register themselves exactly as a user's
plug-in would, with ``@register("kind")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitor.core.model import RawItem
from monitor.core.page import Page


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
