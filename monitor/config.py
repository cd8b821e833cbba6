"""Load and validate config.yaml into frozen settings objects.

Every key is checked once, at start-up: an unknown key or a wrong type raises ``ConfigError`` with the key path
(``sources[2].every``), what was expected and, for typos, the nearest known key. Relative paths in the file are
relative to the directory of the config file, so a service started from any directory finds the same database.
"""

from __future__ import annotations

import io
import re
import zoneinfo
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from monitor.core.errors import ConfigError
from monitor.fetch.settings import HttpSettings
from monitor.prepare.topics import TopicRule
from scrapers import Kind, crawling_kinds, discovering_kinds, get_kind, registered_kinds


@dataclass(frozen=True)
class SourceConfig:
    """One configured source: where to fetch, how to read it, when, and which topics to keep."""

    name: str
    kind: str
    url: str | None
    urls: tuple[str, ...] = ()
    every: float | None = None       # seconds between runs, or
    cron: str | None = None          # a crontab expression
    topics: tuple[str, ...] = ()
    enabled: bool = True
    http: HttpSettings = field(default_factory=HttpSettings)
    select: dict[str, str] = field(default_factory=dict)
    max_items: int = 500             # items kept from one run (the rest are dropped, with a warning)
    follow: str | None = None        # a crawling kind ("related"): also read each item's page and its related block
    max_depth: int = 2               # related / follow: start pages are depth 0
    max_pages: int = 50              # pages fetched per run beyond the start URLs (related pages, child sitemaps)
    allowed_domains: tuple[str, ...] = ()   # related / follow: default, the domains of the start pages
    revisit_after: float = 7 * 86400.0  # related / follow: a page fetched more recently is not fetched again

    @property
    def start_urls(self) -> tuple[str, ...]:
        return ((self.url,) if self.url else ()) + self.urls

    @property
    def schedule(self) -> str:
        """The schedule as a person reads it: ``every 15m`` or ``cron */15 * * * *``."""
        if self.cron:
            return f"cron {self.cron}"
        return f"every {format_duration(self.every or 0)}"


@dataclass(frozen=True)
class DatasetteSettings:
    host: str = "127.0.0.1"
    port: int = 8001
    allow_sql: bool = False          # the SQL box and ?sql= for every visitor; off: canned queries and search only


@dataclass(frozen=True)
class NotifySettings:
    """Where to announce new items (apprise URLs) and about which topics; no URLs: no notifications."""

    urls: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()     # empty: every new item (those matching no topic in a message of their own)
    max_items: int = 20              # items listed in one message; the rest are counted


@dataclass(frozen=True)
class Config:
    path: Path
    database: Path
    timezone: str = "Asia/Shanghai"
    seeds: tuple[Path, ...] = ()
    topics: tuple[TopicRule, ...] = ()
    http: HttpSettings = field(default_factory=HttpSettings)
    sources: tuple[SourceConfig, ...] = ()
    datasette: DatasetteSettings = field(default_factory=DatasetteSettings)
    workers: int = 8                 # sources scraped at the same time by the service
    notify: NotifySettings = field(default_factory=NotifySettings)

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"{self.path}: no source named {name!r} (configured sources: {known})")


# --- value parsers -----------------------------------------------------------------------------------------

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}


def parse_duration(value: Any, *, allow_zero: bool = False) -> float:
    """``30s``, ``15m``, ``2h``, ``1d`` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration such as 30s, 15m, 2h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(value))
        if not match:
            raise ValueError("a duration such as 30s, 15m, 2h or 1d")
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError("a positive duration such as 30s, 15m, 2h or 1d")
    return seconds


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_size(value: Any) -> int:
    """``512KiB``, ``10MiB`` or a number of bytes -> bytes."""
    if isinstance(value, bool):
        raise ValueError("a size such as 512KiB or 10MiB")
    if isinstance(value, int):
        size = value
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(value))
        if not match or match.group(2).lower() not in _SIZE_UNITS:
            raise ValueError("a size such as 512KiB or 10MiB")
        size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    if size <= 0:
        raise ValueError("a positive size such as 512KiB or 10MiB")
    return size


# --- the validator -----------------------------------------------------------------------------------------


class _Reader:
    """Walks the YAML tree, keeping the key path for error messages."""

    def __init__(self, file: Path):
        self.file = file

    def fail(self, path: str, message: str) -> ConfigError:
        return ConfigError(f"{self.file}: {path}: {message}")

    def mapping(self, value: Any, path: str, known: list[str], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping of keys ({', '.join(known)}), got {_kind(value)}")
        for key in value:
            if key not in known:
                import difflib  # only to suggest a key for a typo

                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
                raise self.fail(_join(path, key), f"unknown key{hint}")
        for key in required:
            if key not in value or value[key] is None:
                raise self.fail(_join(path, key), "required key is missing")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected a non-empty string, got {_kind(value)}")
        return value.strip()

    def strings(self, value: Any, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list of strings, got {_kind(value)}")
        return tuple(self.string(item, f"{path}[{i}]") for i, item in enumerate(value))

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {_kind(value)}")
        return value

    def integer(self, value: Any, path: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(path, f"expected a whole number >= {minimum}, got {_kind(value)}")
        return value

    def converted(self, parser, value: Any, path: str):
        try:
            return parser(value)
        except ValueError as error:
            raise self.fail(path, f"expected {error}, got {_kind(value)}") from None

    def url(self, value: Any, path: str) -> str:
        url = self.string(value, path)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise self.fail(path, f"expected an http:// or https:// URL, got {url!r}")
        return url


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _describe(value: Any) -> str:
    """A value for a message, cut short: a whole YAML list or a page of text would drown the message."""
    kind = _kind(value)
    return kind if len(kind) <= 60 else kind[:57] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool | int | float):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__


# The keys config.yaml takes, level by level: validation refuses any other (with a "did you mean").
_TOP_KEYS = ["database", "timezone", "seeds", "topics", "http", "sources", "datasette", "workers", "notify"]
_TOPIC_KEYS = ["any", "all", "exclude"]
_HTTP_KEYS = [f.name for f in fields(HttpSettings)]
_SOURCE_KEYS = ["name", "kind", "url", "urls", "every", "cron", "topics", "enabled", "http", "select", "max_items",
                "follow", "max_depth", "max_pages", "allowed_domains", "revisit_after"]
_DATASETTE_KEYS = ["host", "port", "allow_sql"]
_NOTIFY_KEYS = [f.name for f in fields(NotifySettings)]


def config_keys() -> list[str]:
    """Every key config.yaml takes, written as the README's reference writes it (``http.timeout``,
    ``sources[].every``, ``topics.NAME.any``): what the documentation is checked against."""
    nested = {"topics": [f"topics.NAME.{key}" for key in _TOPIC_KEYS],
              "http": [f"http.{key}" for key in _HTTP_KEYS],
              "sources": [f"sources[].{key}" for key in _SOURCE_KEYS],
              "datasette": [f"datasette.{key}" for key in _DATASETTE_KEYS],
              "notify": [f"notify.{key}" for key in _NOTIFY_KEYS]}
    return [key for top in _TOP_KEYS for key in nested.get(top, [top])]
_SOURCE_DEFAULTS = SourceConfig(name="", kind="", url=None)   # the defaults of keys a source leaves out
# Read only by the spider (monitor/spider.py), which runs for a crawling kind (kind: related) and for follow: related;
# max_pages is also read by the pipeline's page queue for kinds that discover more pages of their own (a sitemap
# index's children).
_SPIDER_KEYS = ("max_depth", "allowed_domains", "revisit_after")


def _read_http(reader: _Reader, value: Any, path: str, base: HttpSettings) -> HttpSettings:
    raw = reader.mapping(value, path, _HTTP_KEYS)
    changes: dict[str, Any] = {}
    for key, item in raw.items():
        key_path = _join(path, key)
        if key == "user_agent":
            changes[key] = reader.string(item, key_path)
        elif key == "timeout":
            changes[key] = reader.converted(parse_duration, item, key_path)
        elif key == "per_host_delay":
            changes[key] = reader.converted(lambda v: parse_duration(v, allow_zero=True), item, key_path)
        elif key == "max_bytes":
            changes[key] = reader.converted(parse_size, item, key_path)
        elif key == "retries":
            changes[key] = reader.integer(item, key_path)
        elif key == "per_host_concurrency":
            changes[key] = reader.integer(item, key_path, minimum=1)
        elif key in ("allow_private_networks", "respect_robots"):
            changes[key] = reader.boolean(item, key_path)
    return replace(base, **changes)


def _read_topics(reader: _Reader, value: Any) -> tuple[TopicRule, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise reader.fail("topics", f"expected a mapping of topic names to rules, got {_kind(value)}")
    rules = []
    for name, rule in value.items():
        path = f"topics.{name}"
        raw = reader.mapping(rule, path, _TOPIC_KEYS)
        topic = TopicRule(
            name=reader.string(name, path),
            any=reader.strings(raw.get("any"), f"{path}.any"),
            all=reader.strings(raw.get("all"), f"{path}.all"),
            exclude=reader.strings(raw.get("exclude"), f"{path}.exclude"),
        )
        if not topic.any and not topic.all:
            raise reader.fail(path, "a topic needs at least one keyword under 'any' or 'all'")
        rules.append(topic)
    return tuple(rules)


def _read_source(reader: _Reader, value: Any, path: str, http: HttpSettings, topics: set[str]) -> SourceConfig:
    raw = reader.mapping(value, path, _SOURCE_KEYS, required=("name", "kind"))
    name = reader.string(raw["name"], f"{path}.name")
    kind_name = reader.string(raw["kind"], f"{path}.kind")
    try:
        kind = get_kind(kind_name)
    except KeyError:
        raise reader.fail(
            f"{path}.kind", f"unknown kind {kind_name!r}; known kinds: {', '.join(registered_kinds())}"
        ) from None
    url = reader.url(raw["url"], f"{path}.url") if raw.get("url") is not None else None
    listed = reader.strings(raw.get("urls"), f"{path}.urls")
    urls = tuple(reader.url(u, f"{path}.urls[{i}]") for i, u in enumerate(listed))
    if not url and not urls and kind.needs_url:
        raise reader.fail(f"{path}.url", f"source {name!r} needs a url (or urls)")
    every = reader.converted(parse_duration, raw["every"], f"{path}.every") if raw.get("every") is not None else None
    cron = reader.string(raw["cron"], f"{path}.cron") if raw.get("cron") is not None else None
    if (every is None) == (cron is None):
        raise reader.fail(
            path, f"source {name!r} needs exactly one of 'every' (e.g. 15m) or 'cron' (e.g. '*/15 * * * *')"
        )
    if cron:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(cron)
        except ValueError as error:
            raise reader.fail(f"{path}.cron", f"expected a crontab expression like '*/15 * * * *': {error}") from None
    source_topics = reader.strings(raw.get("topics"), f"{path}.topics")
    for i, topic in enumerate(source_topics):
        if topic not in topics:
            raise reader.fail(
                f"{path}.topics[{i}]",
                f"no topic named {topic!r} under 'topics:' (defined: {', '.join(sorted(topics)) or 'none'})",
            )
    select: dict[str, str] = {}
    if "select" in raw:
        if not kind.select_fields:
            raise reader.fail(f"{path}.select", f"kind {kind_name!r} takes no 'select' mapping")
        select_raw = reader.mapping(raw["select"], f"{path}.select", sorted(kind.select_fields))
        select = {key: reader.string(item, f"{path}.select.{key}") for key, item in select_raw.items()}
    for key in sorted(kind.required_select - set(select)):
        raise reader.fail(f"{path}.select.{key}", f"required for kind {kind_name!r}")
    follow = reader.string(raw["follow"], f"{path}.follow") if raw.get("follow") is not None else None
    if follow is not None and follow not in crawling_kinds():
        raise reader.fail(f"{path}.follow", f"expected one of {', '.join(crawling_kinds())}, got {follow!r}")
    _check_spider_keys(reader, raw, path, kind, follow, bool(url or urls), bool(source_topics))
    return SourceConfig(
        name=name,
        kind=kind_name,
        url=url,
        urls=urls,
        every=every,
        cron=cron,
        topics=source_topics,
        enabled=reader.boolean(raw["enabled"], f"{path}.enabled") if "enabled" in raw else True,
        http=_read_http(reader, raw["http"], f"{path}.http", http) if "http" in raw else http,
        select=select,
        max_items=reader.integer(raw["max_items"], f"{path}.max_items", minimum=1) if "max_items" in raw
        else _SOURCE_DEFAULTS.max_items,
        follow=follow,
        max_depth=reader.integer(raw["max_depth"], f"{path}.max_depth") if "max_depth" in raw
        else _SOURCE_DEFAULTS.max_depth,
        max_pages=reader.integer(raw["max_pages"], f"{path}.max_pages") if "max_pages" in raw
        else _SOURCE_DEFAULTS.max_pages,
        allowed_domains=tuple(d.lower().lstrip(".") for d in reader.strings(raw.get("allowed_domains"),
                                                                             f"{path}.allowed_domains")),
        revisit_after=reader.converted(parse_duration, raw["revisit_after"], f"{path}.revisit_after")
        if "revisit_after" in raw else _SOURCE_DEFAULTS.revisit_after,
    )


def _check_spider_keys(reader: _Reader, raw: dict, path: str, kind: Kind, follow: str | None, has_url: bool,
                       has_topics: bool) -> None:
    """Cross-field rules of the spider: a crawling source needs somewhere to start, and the spider's keys on a
    source that never runs the spider are mistakes (they would be silently ignored)."""
    if kind.crawl and not has_url and not has_topics:
        raise reader.fail(path, f"a {kind.name} source needs url, urls or topics (with topics only, it starts from "
                                "the stored items of those topics that have a page URL)")
    if kind.crawl or follow:
        return
    crawling = " or ".join(f"kind: {name}" for name in crawling_kinds())
    following = " or ".join(f"follow: {name}" for name in crawling_kinds())
    advice = f"remove it, or add {following} to follow the items' pages"
    for key in _SPIDER_KEYS:
        if key in raw:
            raise reader.fail(f"{path}.{key}", f"only used by {crawling} or {following}; {advice}")
    if "max_pages" in raw and not kind.discover:
        kinds = " or ".join(f"kind: {name}" for name in discovering_kinds())
        raise reader.fail(f"{path}.max_pages", f"only used by {crawling}, {following}"
                                               f"{' or ' + kinds if kinds else ''}; {advice}")


def _read_notify(reader: _Reader, value: Any, topics: set[str]) -> NotifySettings:
    """The ``notify:`` block. Each URL is checked with apprise itself (imported only when the block is there: it
    costs start-up time every other command need not pay); messages name the scheme, never the URL's secrets."""
    raw = reader.mapping(value, "notify", _NOTIFY_KEYS, required=("urls",))
    urls = reader.strings(raw["urls"], "notify.urls")
    if not urls:
        raise reader.fail("notify.urls", "expected at least one apprise URL (json://host/path, mailto://...)")
    import apprise

    for i, url in enumerate(urls):
        if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
            scheme = url.partition("://")[0] if "://" in url else url[:20]
            raise reader.fail(f"notify.urls[{i}]", f"not a notification URL apprise can use (scheme {scheme!r}); "
                                                   "see apprise's list of services for the URL forms")
    wanted = reader.strings(raw.get("topics"), "notify.topics")
    for i, topic in enumerate(wanted):
        if topic not in topics:
            raise reader.fail(f"notify.topics[{i}]", f"no topic named {topic!r} under 'topics:' "
                                                     f"(defined: {', '.join(sorted(topics)) or 'none'})")
    max_items = reader.integer(raw["max_items"], "notify.max_items", minimum=1) if "max_items" in raw \
        else NotifySettings.max_items
    return NotifySettings(urls=urls, topics=wanted, max_items=max_items)


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raises ConfigError naming the file and key path of the first problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such config file (pass --config PATH)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{file}: cannot read the config file: {error}") from None
    stream = io.StringIO(text)
    stream.name = str(file)     # YAML's messages name the file ("<unicode string>" for a bare string)
    try:
        data = yaml.safe_load(stream)
    except yaml.YAMLError as error:
        raise ConfigError(f"{file}: not valid YAML: {error}") from None
    return parse_config(data if data is not None else {}, file)


def parse_config(data: Any, file: Path) -> Config:
    """Validate already-loaded YAML data (``file`` names it in messages and anchors relative paths)."""
    reader = _Reader(file)
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of settings (database, sources, ...), "
                          f"got {_describe(data)}")
    raw = reader.mapping(data, "", _TOP_KEYS, required=("database",))
    base_dir = file.resolve().parent
    database = base_dir / reader.string(raw["database"], "database")
    timezone = reader.string(raw.get("timezone", Config.timezone), "timezone")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise reader.fail("timezone", f"unknown time zone {timezone!r}; expected a name like Asia/Shanghai") from None
    seeds = tuple(base_dir / s for s in reader.strings(raw.get("seeds"), "seeds"))
    topics = _read_topics(reader, raw.get("topics"))
    http = _read_http(reader, raw["http"], "http", HttpSettings()) if raw.get("http") is not None else HttpSettings()
    sources_raw = raw.get("sources") or []
    if not isinstance(sources_raw, list):
        raise reader.fail("sources", f"expected a list of sources, got {_kind(sources_raw)}")
    topic_names = {t.name for t in topics}
    sources = tuple(
        _read_source(reader, item, f"sources[{i}]", http, topic_names) for i, item in enumerate(sources_raw)
    )
    seen: dict[str, int] = {}
    for i, source in enumerate(sources):
        if source.name in seen:
            raise reader.fail(
                f"sources[{i}].name", f"{source.name!r} is already the name of sources[{seen[source.name]}]"
            )
        seen[source.name] = i
    datasette = DatasetteSettings()
    if raw.get("datasette") is not None:
        ds = reader.mapping(raw["datasette"], "datasette", _DATASETTE_KEYS)
        datasette = DatasetteSettings(
            host=reader.string(ds.get("host", datasette.host), "datasette.host"),
            port=reader.integer(ds.get("port", datasette.port), "datasette.port", minimum=1),
            allow_sql=reader.boolean(ds.get("allow_sql", datasette.allow_sql), "datasette.allow_sql"),
        )
    workers = reader.integer(raw["workers"], "workers", minimum=1) if "workers" in raw else Config.workers
    notify = _read_notify(reader, raw["notify"], topic_names) if raw.get("notify") is not None else NotifySettings()
    return Config(
        workers=workers,
        notify=notify,
        path=file,
        database=database,
        timezone=timezone,
        seeds=seeds,
        topics=topics,
        http=http,
        sources=sources,
        datasette=datasette,
    )
