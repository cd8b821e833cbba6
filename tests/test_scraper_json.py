"""scrapers.jsonapi (kind ``json``): dotted paths over JSON and JSONP, on our API fixtures and through the pipeline."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from monitor.config import load_config
from monitor.core.errors import ScrapeError
from monitor.core.model import RawItem
from monitor.core.page import Page, read_page
from monitor.service import Monitor
from scrapers import get_kind
from scrapers.jsonapi import scrape_json, timestamp, unwrap_jsonp
from tests.conftest import OWN_FIXTURES
from tests.helpers import write_config

API = (OWN_FIXTURES / "json" / "news_api.json").read_bytes()
JSONP_GBK = (OWN_FIXTURES / "json" / "callback_gbk.jsonp").read_bytes()
API_URL = "http://www.example.com/api/news?page=1"
API_SELECT = {"item": "data.list", "title": "title", "link": "url", "summary": "digest", "published": "pubTime",
              "publisher": "source.name"}


def scraped(body: bytes | str, select: dict, url: str = API_URL,
            content_type: str | None = None) -> tuple[Page, list[RawItem]]:
    """The page as read (``page.codec``: the encoding its bytes were decoded with) and the items scraped from it."""
    page = read_page(url, body.encode("utf-8") if isinstance(body, str) else body, content_type)
    return page, scrape_json(page, {"select": select})


def scrape(body: bytes | str, select: dict, url: str = API_URL, content_type: str | None = None) -> list[RawItem]:
    return scraped(body, select, url, content_type)[1]


def scrape_error(body: bytes | str, select: dict, **kwargs) -> ScrapeError:
    with pytest.raises(ScrapeError) as caught:
        scrape(body, select, **kwargs)
    return caught.value


def test_json_kind_is_registered_with_its_select_fields():
    kind = get_kind("json")
    assert kind.scrape is scrape_json
    assert kind.required_select == {"item"}
    assert kind.select_fields == {"item", "title", "link", "summary", "published", "publisher"}
    assert kind.discover is None


# --- the API fixture ---------------------------------------------------------------------------------------------

def test_api_fixture_items_and_fields():
    page, items = scraped(API, API_SELECT)
    # The item with an empty title and the one with no title key are skipped.
    assert [item.title for item in items] == [
        "决战决胜脱贫攻坚要抓好三个重点",
        '精准扶贫：贵州最后9个深度贫困县退出"贫困县"序列',      # <em> stripped, &quot; unescaped
        "鄉村振興：廣東農村的新變化",                          # surrounding spaces removed
        "S&P",                                              # a literal ampersand is not an entity
    ]
    first, second, third, fourth = items
    assert first.url == "http://www.example.com/n1/2020/1215/c1001-31967196.html"
    assert second.url == "http://www.example.com/n1/2020/1123/c1001-31966001.html?spm=api.list.2"
    assert third.url == "https://other.example.net/news/8812?utm_source=api&id=8812"
    assert fourth.url is None                                # javascript:void(0)
    assert first.summary == "当前，脱贫攻坚已进入 全面收官阶段。"
    assert second.summary is None                             # null
    assert [item.publisher for item in items] == ["人民网", "新华网", None, "财经频道"]   # "source": null -> None
    assert first.published == datetime(2020, 12, 15, 0, 10, tzinfo=UTC)      # 13 digits: milliseconds
    assert second.published == "2020-11-23 18:30:00"                         # text: read later in the zone
    assert third.published == datetime(2020, 11, 10, 9, 20, tzinfo=UTC)       # 10 digits: seconds
    assert fourth.published == datetime(2020, 11, 21, 23, 6, 40, tzinfo=UTC)  # a 13-digit string
    assert page.codec == "utf-8"
    assert all(item.extra == {} for item in items)      # only the configured fields are read


def test_list_indexes_in_field_paths():
    items = scrape(API, dict(API_SELECT, summary="images.0.url", publisher="images.-1.url"))
    assert items[0].summary == "/img/2020/1215/a.jpg"
    assert items[0].publisher == "/img/2020/1215/b.jpg"
    assert items[1].summary is None                    # images is an empty list: index 0 is missing, not an error


def test_default_field_paths_are_title_then_url_or_link():
    body = json.dumps({"items": [{"title": "有链接", "url": "/a"}, {"title": "只有link", "link": "/b"},
                                 {"title": "两者都有", "url": "/c", "link": "/d"}]})
    items = scrape(body, {"item": "items"})
    assert [(item.title, item.url) for item in items] == [
        ("有链接", "http://www.example.com/a"), ("只有link", "http://www.example.com/b"),
        ("两者都有", "http://www.example.com/c"),
    ]
    # A link given as "" means "no links"; a configured path is used alone (no fallback to "link").
    assert [item.url for item in scrape(body, {"item": "items", "link": ""})] == [None, None, None]
    assert [item.url for item in scrape(body, {"item": "items", "link": "url"})] == [
        "http://www.example.com/a", None, "http://www.example.com/c"]


def test_top_level_list_and_list_of_strings():
    body = json.dumps([{"name": "一"}, {"name": "二"}])
    assert [i.title for i in scrape(body, {"item": ".", "title": "name"})] == ["一", "二"]
    assert [i.title for i in scrape(body, {"item": "", "title": "name"})] == ["一", "二"]
    assert [i.title for i in scrape(json.dumps(["甲", "乙", ""]), {"item": "", "title": "."})] == ["甲", "乙"]


def test_scalar_and_list_values_become_text():
    body = json.dumps({"list": [{"title": 2020, "authors": ["张三", "李四"], "hot": True, "meta": {"a": 1}}]})
    [item] = scrape(body, {"item": "list", "publisher": "authors", "summary": "meta"})
    assert item.title == "2020"
    assert item.publisher == "张三, 李四"
    assert item.summary is None                          # an object gives nothing


def test_long_summary_is_capped():
    body = json.dumps({"list": [{"title": "长摘要", "digest": "字" * 5000}]})
    [item] = scrape(body, {"item": "list", "summary": "digest"})
    assert len(item.summary) == 2000 and item.summary.endswith("…")


def test_empty_list_is_no_items_not_an_error():
    assert scrape('{"data": {"list": []}}', {"item": "data.list"}) == []


def test_timestamps():
    assert timestamp(1607991000) == timestamp(1607991000000) == datetime(2020, 12, 15, 0, 10, tzinfo=UTC)
    assert timestamp(1607991000.5) == datetime(2020, 12, 15, 0, 10, 0, 500000, tzinfo=UTC)
    assert timestamp(1607991000000000) == datetime(2020, 12, 15, 0, 10, tzinfo=UTC)    # microseconds
    body = json.dumps({"list": [{"title": "a", "t": 0}, {"title": "b", "t": True}, {"title": "c", "t": "昨天 18:56"}]})
    assert [i.published for i in scrape(body, {"item": "list", "published": "t"})] == [None, None, "昨天 18:56"]


# --- JSONP and encodings -----------------------------------------------------------------------------------------

def test_gbk_jsonp_without_charset():
    page, items = scraped(JSONP_GBK, {"item": ".", "link": "docurl", "published": "time", "publisher": "source"},
                          content_type="application/javascript")
    assert [item.title for item in items] == ["朱镕基旧居前的精准扶贫故事", "陶喆公益演唱会为乡村振兴募款",
                                              "易地扶贫搬迁群众过上新生活，脱贫攻坚成果得到巩固"]
    assert items[0].url == "https://news.example.cn/20/1217/08/FT1.html"
    assert items[0].published == "12/17/2020 08:05:00"
    assert items[0].publisher == "示例新闻网"
    assert page.codec == "gb18030"


def test_header_charset_is_used():
    body = '{"list": [{"title": "臺灣新聞：鄉村振興"}]}'.encode("big5")
    [item] = scrape(body, {"item": "list"}, content_type="application/json; charset=big5")
    assert item.title == "臺灣新聞：鄉村振興"


@pytest.mark.parametrize("wrapped", [
    'cb({"list": [{"title": "标题"}]});',
    '/**/ jQuery1123_456 ( {"list": [{"title": "标题"}]} )',
    'try{cb({"list": [{"title": "标题"}]});}catch(e){}',
    'window.callback({"list": [{"title": "标题"}]})',
    'var newsData = {"list": [{"title": "标题"}]};',
    'newsData={"list":[{"title":"标题"}]}',
    ')]}\'\n{"list": [{"title": "标题"}]}',
    'while(1);{"list": [{"title": "标题"}]}',
    '\ufeff  {"list": [{"title": "标题"}]}\n',
])
def test_jsonp_and_script_wrappers(wrapped):
    assert [item.title for item in scrape(wrapped, {"item": "list"})] == ["标题"]


def test_unwrap_leaves_plain_json_alone():
    assert unwrap_jsonp('  {"a": "f(x)"} ') == '{"a": "f(x)"}'
    assert unwrap_jsonp("[1, 2]") == "[1, 2]"


def test_control_characters_inside_strings_are_accepted():
    [item] = scrape('{"list": [{"title": "第一行\n第二行\t完"}]}', {"item": "list"})
    assert item.title == "第一行 第二行 完"


# --- errors ------------------------------------------------------------------------------------------------------

def test_html_page_is_not_json():
    error = scrape_error("<!DOCTYPE html><html><head><title>系统维护中</title></head><body>稍后再试</body></html>",
                         API_SELECT)
    assert error.error_class == "not_json"
    assert "an HTML page titled '系统维护中'" in str(error) and API_URL in str(error)


@pytest.mark.parametrize("body, described", [
    ("", "an empty body"),
    ("Service Unavailable", "text starting with 'Service Unavailable'"),
])
def test_other_bodies_are_not_json(body, described):
    error = scrape_error(body, API_SELECT)
    assert error.error_class == "not_json" and described in str(error)


def test_broken_json_says_where():
    error = scrape_error('{"data": {"list": [{"title": "a"}, ', API_SELECT)
    assert error.error_class == "not_json"
    assert "broken JSON" in str(error) and "line 1 column" in str(error)


def test_missing_path_names_the_path_the_failing_key_and_the_keys_there():
    error = scrape_error(API, dict(API_SELECT, item="data.items"))
    assert error.error_class == "selector_empty"
    message = str(error)
    assert "'data.items'" in message and "'items' is not in data" in message
    assert "keys ['page', 'total', 'list']" in message
    assert "'data.list' (6 elements)" in message         # the list that is there is suggested


def test_missing_path_quotes_the_api_error_message():
    error = scrape_error('{"code": 40001, "msg": "invalid token"}', API_SELECT)
    assert error.error_class == "selector_empty"
    assert "'data' is not in the top level" in str(error) and "keys ['code', 'msg']" in str(error)
    assert "msg='invalid token'" in str(error)


def test_index_out_of_range_is_missing():
    error = scrape_error('{"pages": [{"list": []}]}', {"item": "pages.3.list"})
    assert error.error_class == "selector_empty" and "a list of 1 elements" in str(error)


def test_path_to_an_object_is_not_a_list():
    error = scrape_error(API, dict(API_SELECT, item="data"))
    assert error.error_class == "not_a_list"
    assert "an object with keys ['page', 'total', 'list']" in str(error)
    assert "'data.list' (6 elements)" in str(error)
    assert scrape_error('{"data": "none"}', {"item": "data"}).error_class == "not_a_list"


def test_no_title_anywhere_is_selector_empty():
    error = scrape_error(API, dict(API_SELECT, title="headline"))
    assert error.error_class == "selector_empty"
    assert "'headline'" in str(error) and "keys ['id', 'title', 'url'" in str(error)


def test_bad_paths():
    assert scrape_error(API, dict(API_SELECT, item="data..list")).error_class == "bad_selector"
    assert scrape_error(API, {"title": "title"}).error_class == "bad_selector"    # no item path at all


# --- end to end --------------------------------------------------------------------------------------------------

def test_json_source_end_to_end(httpserver, tmp_path):
    httpserver.expect_request("/api/news").respond_with_data(API, content_type="application/json")
    httpserver.expect_request("/api/163").respond_with_data(JSONP_GBK, content_type="application/javascript")
    sources = [
        {"name": "api", "kind": "json", "url": httpserver.url_for("/api/news") + "?page=1", "every": "30m",
         "select": API_SELECT},
        {"name": "jsonp", "kind": "json", "url": httpserver.url_for("/api/163"), "every": "30m",
         "select": {"item": ".", "link": "docurl", "published": "time", "publisher": "source"},
         "topics": ["poverty"]},
    ]
    monitor = Monitor.open(load_config(write_config(tmp_path, sources)))
    try:
        api, jsonp = monitor.run_once()
        assert (api.status, api.items_seen, api.items_new) == ("ok", 4, 4)
        assert (jsonp.status, jsonp.items_seen) == ("ok", 3)     # all three match the topic (精准扶贫, 乡村振兴...)
        assert jsonp.encoding == "gb18030"

        def item(title_like: str):
            return monitor.store.conn.execute("SELECT * FROM items WHERE title LIKE ?", (title_like,)).fetchone()

        first = item("决战决胜%")
        assert first["url"] == httpserver.url_for("/n1/2020/1215/c1001-31967196.html")
        assert first["publisher"] == "人民网"
        assert first["published_at"] == "2020-12-15T08:10:00+08:00"    # 1607991000000 ms, in Asia/Shanghai
        assert first["summary"] == "当前，脱贫攻坚已进入 全面收官阶段。"
        guizhou = item("%贵州%")
        assert guizhou["published_at"] == "2020-11-23T18:30:00+08:00"
        assert guizhou["url_key"].endswith("/n1/2020/1123/c1001-31966001.html")     # spm dropped
        assert item("%廣東%")["url_key"] == "http://other.example.net/news/8812?id=8812"   # utm_source dropped
        zhu = item("朱镕基%")
        assert (zhu["publisher"], zhu["published_at"]) == ("示例新闻网", "2020-12-17T08:05:00+08:00")
        topics = monitor.store.conn.execute(
            "SELECT topic FROM item_topics WHERE item_id = ?", (zhu["id"],)).fetchall()
        assert [row[0] for row in topics] == ["poverty"]
    finally:
        monitor.close()


def test_json_source_that_returns_html_is_a_failed_run(httpserver, tmp_path):
    httpserver.expect_request("/api/news").respond_with_data(
        "<html><head><title>登录</title></head></html>", content_type="text/html; charset=utf-8")
    sources = [{"name": "api", "kind": "json", "url": httpserver.url_for("/api/news"), "every": "30m",
                "select": API_SELECT}]
    monitor = Monitor.open(load_config(write_config(tmp_path, sources)))
    try:
        [result] = monitor.run_once()
        assert (result.status, result.error_class) == ("error", "not_json")
        run = monitor.store.conn.execute("SELECT status, error_class, error FROM runs WHERE id = ?",
                                         (result.run_id,)).fetchone()
        assert (run["status"], run["error_class"]) == ("error", "not_json")
        assert "an HTML page titled '登录'" in run["error"]
    finally:
        monitor.close()
