"""The one HTTP client every source uses (see ``monitor.fetch.fetcher``): politeness, limits, conditional GET."""

from monitor.fetch.fetcher import Fetcher, FetchResult
from monitor.fetch.settings import HttpSettings

__all__ = ["Fetcher", "FetchResult", "HttpSettings"]
