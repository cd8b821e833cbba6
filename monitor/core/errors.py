"""The exception tree of news-monitor.

Library code raises these; only the command line (monitor/cli.py) turns them into messages and exit codes.

    NewsMonitorError
    ├── ConfigError        config.yaml is invalid (names the key path)
    ├── FetchError         a fetch failed (carries an error class such as ``timeout`` or ``http_500``)
    ├── ScrapeError        fetched bytes could not be read as the source's kind (``not_a_feed``, ``parse``)
    ├── SeedError          a seed document could not be read
    └── StoreError         the database failed in a known way (``disk_full``, ``locked``, ``corrupt``, ``not_ours``)
"""


class NewsMonitorError(Exception):
    "Base class of every error news-monitor raises on purpose."


class ConfigError(NewsMonitorError):
    "The configuration file is invalid; the message names the key path and what was expected."


class FetchError(NewsMonitorError):
    "A URL could not be fetched; ``error_class`` is a short machine-readable reason."

    def __init__(self, message: str, *, error_class: str = "fetch", url: str | None = None,
                 http_status: int | None = None):
        super().__init__(message)
        self.error_class = error_class
        self.url = url
        self.http_status = http_status


class ScrapeError(NewsMonitorError):
    "Fetched bytes could not be turned into items (not a feed, broken selectors, bad JSON...)."

    def __init__(self, message: str, *, error_class: str = "parse"):
        super().__init__(message)
        self.error_class = error_class


class SeedError(NewsMonitorError):
    "A seed document could not be read or is not in a known form."


class StoreError(NewsMonitorError):
    """The database could not be used, for a reason of its own rather than a source's: ``error_class`` is one of
    ``DATABASE_ERROR_CLASSES``; the message names the file and what to do."""

    def __init__(self, message: str, *, error_class: str, path: object = None):
        super().__init__(message)
        self.error_class = error_class
        self.path = path


# The database's faults: a run that ends with one says nothing about its source (no backoff, no `failing` flag).
DATABASE_ERROR_CLASSES = frozenset({"disk_full", "locked", "corrupt", "not_ours", "readonly"})
