"""config.yaml validation: every mistake named by its key path, exit status 2, and `check` touching nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.cli import main
from monitor.config import load_config, parse_duration, parse_size
from monitor.core.errors import ConfigError
from tests.conftest import PROJECT_DIR

GOOD_SOURCE = {"name": "feed", "kind": "rss", "url": "http://127.0.0.1:9/feed.xml", "every": "15m"}


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def config_error(tmp_path: Path, data) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, data))
    return str(caught.value)


def with_source(**changes) -> dict:
    source = dict(GOOD_SOURCE, name="c") | changes
    sources = [GOOD_SOURCE, GOOD_SOURCE | {"name": "b"}, source]
    return {"database": "news.db", "topics": {"t": {"any": ["脫貧"]}}, "sources": sources}


def test_the_shipped_config_is_valid():
    config = load_config(PROJECT_DIR / "config.yaml")
    assert config.database == PROJECT_DIR / "data" / "news.db"
    assert config.seeds == (PROJECT_DIR / "data" / "seed-headlines.json",)
    assert {s.kind for s in config.sources} >= {"rss", "html"}
    assert all(s.topics == ("poverty-alleviation",) for s in config.sources)


def test_a_full_config_is_read_into_settings(tmp_path):
    config = load_config(write(tmp_path, {
        "database": "data/x.db",
        "timezone": "Asia/Taipei",
        "topics": {"poverty": {"any": ["脫貧攻堅"], "all": ["扶貧"], "exclude": ["廣告"]}},
        "http": {"timeout": "10s", "max_bytes": "512KiB", "retries": 1, "per_host_delay": 0.5, "user_agent": "ua"},
        "sources": [
            {"name": "a", "kind": "html", "url": "https://example.org/list", "cron": "*/10 * * * *",
             "topics": ["poverty"], "http": {"timeout": "5s"},
             "select": {"item": "li", "title": "a", "link": "a@href"}},
        ],
        "datasette": {"port": 9000},
    }))
    source = config.sources[0]
    assert config.database == tmp_path / "data" / "x.db"
    assert config.http.timeout == 10 and config.http.max_bytes == 512 * 1024 and config.http.user_agent == "ua"
    assert source.http.timeout == 5 and source.http.max_bytes == 512 * 1024   # inherits what it does not override
    assert source.schedule == "cron */10 * * * *"
    assert source.select == {"item": "li", "title": "a", "link": "a@href"}
    assert config.topics[0].all == ("扶貧",) and config.datasette.port == 9000


@pytest.mark.parametrize(("data", "expected"), [
    (with_source(evry="15m"), "sources[2].evry: unknown key; did you mean 'every'?"),
    (with_source(kind="rsss"), "sources[2].kind: unknown kind 'rsss'; known kinds: "),
    (with_source(every="soon"), "sources[2].every: expected a duration such as 30s, 15m, 2h or 1d, got 'soon'"),
    (with_source(every=None, cron="every day"), "sources[2].cron: expected a crontab expression"),
    (with_source(cron="* * * * *"), "sources[2]: source 'c' needs exactly one of 'every'"),
    (with_source(url="ftp://example.org/x"), "sources[2].url: expected an http:// or https:// URL"),
    (with_source(url=None), "sources[2].url: source 'c' needs a url"),
    (with_source(topics=["nope"]), "sources[2].topics[0]: no topic named 'nope'"),
    (with_source(enabled="yes"), "sources[2].enabled: expected true or false, got 'yes'"),
    (with_source(select={"item": "li"}), "sources[2].select: kind 'rss' takes no 'select' mapping"),
    (with_source(kind="html"), "sources[2].select.item: required for kind 'html'"),
    (with_source(kind="html", select={"item": "li", "titel": "a"}),
     "sources[2].select.titel: unknown key; did you mean 'title'?"),
    (with_source(http={"max_bytes": "lots"}), "sources[2].http.max_bytes: expected a size such as 512KiB or 10MiB"),
    (with_source(http={"retries": -1}), "sources[2].http.retries: expected a whole number >= 0, got int -1"),
    (with_source(name="feed"), "sources[2].name: 'feed' is already the name of sources[0]"),
    ({"database": "x.db", "timezone": "Mars/Olympus"}, "timezone: unknown time zone 'Mars/Olympus'"),
    ({"database": "x.db", "topics": {"t": {"any": []}}}, "topics.t: a topic needs at least one keyword"),
    ({"database": "x.db", "topics": {"t": {"anyy": ["a"]}}}, "topics.t.anyy: unknown key; did you mean 'any'?"),
    ({"database": "x.db", "sources": {"name": "x"}}, "sources: expected a list of sources, got dict"),
    ({"sources": []}, "database: required key is missing"),
    ({"database": "x.db", "datasete": {}}, "datasete: unknown key; did you mean 'datasette'?"),
    ("database: [unclosed", "not valid YAML"),
    (with_source(kind="related", url=None), "sources[2]: a related source needs url, urls or topics"),
    (with_source(max_depth=3), "sources[2].max_depth: only used by kind: related or follow: related"),
    (with_source(allowed_domains=["example.org"]),
     "sources[2].allowed_domains: only used by kind: related or follow: related"),
    (with_source(revisit_after="1d"), "sources[2].revisit_after: only used by kind: related or follow: related"),
    (with_source(max_pages=5), "sources[2].max_pages: only used by kind: related, follow: related or kind: sitemap"),
    ("- database: x.db\n- sources: []\n", ": the top level must be a mapping of settings (database, sources, ...), "
                                          "got list"),
    ("just words", ": the top level must be a mapping of settings (database, sources, ...), got 'just words'"),
])
def test_mistakes_name_the_key_path(tmp_path, data, expected):
    message = config_error(tmp_path, data)
    assert expected in message
    assert str(tmp_path / "config.yaml") in message


def test_spider_keys_where_they_are_used(tmp_path):
    """max_depth, allowed_domains and revisit_after belong to the spider; max_pages also caps a sitemap's children."""
    spider = {"max_depth": 1, "max_pages": 5, "allowed_domains": ["example.org"], "revisit_after": "1d"}
    config = load_config(write(tmp_path, with_source(follow="related", **spider)))
    assert config.sources[2].max_depth == 1 and config.sources[2].allowed_domains == ("example.org",)
    config = load_config(write(tmp_path, with_source(kind="related", url=None, topics=["t"], **spider)))
    assert config.sources[2].start_urls == () and config.sources[2].revisit_after == 86400
    assert load_config(write(tmp_path, with_source(kind="sitemap", max_pages=5))).sources[2].max_pages == 5


def test_a_related_source_without_a_start_fails_check(tmp_path, capsys):
    path = write(tmp_path, with_source(kind="related", url=None))
    assert main(["--config", str(path), "check"]) == 2
    assert f"config error: {path}: sources[2]: a related source needs url, urls or topics" in capsys.readouterr().err


def test_values():
    assert parse_duration("30s") == 30 and parse_duration("15m") == 900 and parse_duration("2h") == 7200
    assert parse_duration("1d") == 86400 and parse_duration(45) == 45
    assert parse_size("512KiB") == 524288 and parse_size("10MiB") == 10 * 1024 * 1024 and parse_size(100) == 100
    for bad in ("", "5 parsecs", -1, True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_bad_config_exits_2_with_the_key_path(tmp_path, capsys):
    path = write(tmp_path, with_source(evry="15m"))
    for command in (["check"], ["once"], ["status"], ["run"]):
        assert main(["--config", str(path), *command]) == 2
        assert "sources[2].evry: unknown key; did you mean 'every'?" in capsys.readouterr().err
    assert not (tmp_path / "news.db").exists()
    assert main(["--config", str(tmp_path / "missing.yaml"), "check"]) == 2
    assert "no such config file" in capsys.readouterr().err


def test_check_prints_the_plan_and_touches_nothing(tmp_path, capsys):
    seed = tmp_path / "seed.json"
    seed.write_text("{}", encoding="utf-8")
    path = write(tmp_path, with_source() | {"seeds": ["seed.json"]})
    assert main(["--config", str(path), "check"]) == 0
    out = capsys.readouterr().out
    assert "source:    feed [rss] every 15m" in out and "http://127.0.0.1:9/feed.xml" in out
    assert "topic:     t: any=['脫貧']" in out and "ok: 3 sources, 1 topics" in out
    assert "datasette: http://127.0.0.1:8001/news\n" in out      # the browse URL: Datasette names it after news.db
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "seed.json"]


def test_check_reports_a_missing_seed_file(tmp_path, capsys):
    path = write(tmp_path, {"database": "x.db", "seeds": ["nowhere.json"]})
    assert main(["--config", str(path), "check"]) == 2
    assert f"config error: {path}: seeds[0]: no such file {tmp_path / 'nowhere.json'}" in capsys.readouterr().err
