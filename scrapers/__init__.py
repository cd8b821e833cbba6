"""Scraper kinds: each module turns fetched bytes into raw items and registers itself by kind.

Every module of this package is imported here, so a new kind is one file in ``scrapers/`` with an
``@register("kind")`` function and no other change; the built-in kinds register the same way. Modules whose name
starts with ``_`` are not imported. ``SUPPORT_MODULES`` names the modules that are not kinds (the registry itself,
the helpers the kinds share, the seed-document parser), so the test that every module registers a kind knows which
ones not to ask. Kinds never import each other: what two kinds need lives in a support module (or in
``monitor.core``).
"""

import importlib
import pkgutil

from monitor.core.model import RawItem
from monitor.core.page import Page
from scrapers.registry import (
    Kind,
    add_kind,
    crawling_kinds,
    discovering_kinds,
    get_kind,
    get_scraper,
    register,
    registered_kinds,
)

SUPPORT_MODULES = frozenset({"registry", "markup", "article", "related_block", "seed", "feedlxml"})


def _import_kind_modules() -> list[str]:
    """Import every public module of the package (each registers its kinds on import); returns their names."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    return names


MODULES = _import_kind_modules()

__all__ = ["Kind", "add_kind", "crawling_kinds", "discovering_kinds", "get_kind", "Page", "RawItem", "get_scraper",
           "register", "registered_kinds", "MODULES", "SUPPORT_MODULES"]
