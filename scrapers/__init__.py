"""Scraper kinds: each module turns fetched bytes into raw items and registers itself by kind."""

from scrapers.base import Kind, Page, RawItem, get_kind, get_scraper, register, registered_kinds

# Built-in kinds register themselves on import, exactly as a plug-in would.
from scrapers import html, jsonapi, related, rss, sitemap  # noqa: E402,F401  isort: skip

__all__ = ["Kind", "get_kind", "Page", "RawItem", "get_scraper", "register", "registered_kinds"]
