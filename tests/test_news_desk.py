"""The reader's side of Datasette (issue 13): the news desk, story pages, the items table's defaults, the dashboard,
and hostile titles shown as text everywhere; on a database the real pipeline filled from local feeds (`once`)."""

from __future__ import annotations

import re
import sqlite3
from html import unescape

import pytest

from tests.news_desk_data import SCRIPT_TITLE, get, hostile_db_fixture, news_db_fixture  # noqa: F401 (fixtures)


def desk_titles(html: str) -> list[str]:
    return [unescape(t) for t in re.findall(r'class="news-title"[^>]*>([^<]*)<', html)]


def test_root_leads_to_the_news_desk(news_db):
    response = get(news_db, "/")
    assert response.status_code == 302 and response.headers["location"] == "/news"


def test_the_desk_leads_with_the_latest_items_linked_with_publisher_date_topics_and_story_size(news_db):
    html = get(news_db, "/news").text
    assert html.index('class="news-desk"') < html.index('id="tables"')   # the desk first, the tables below
    titles = desk_titles(html)
    assert titles[0] == "體育新聞：足球聯賽開幕" and len(titles) == 9     # newest first, every item
    assert '<a class="news-title" href="http://cn.example.org/n1/2020/1215/c1001-1.html">' \
           "决战决胜脱贫攻坚要抓好三个重点</a>" in html
    item = html[html.index("决战决胜脱贫攻坚要抓好三个重点</a>"):][:900]
    assert "人民网" in item and "2020-12-15 09:10" in item         # publisher, time in Asia/Shanghai
    assert ">poverty</a>" in item and "2 outlets</a>" in item      # topics; the story's size, linked
    assert "<textarea" not in html                                  # no SQL box unless allowed


def test_the_desk_shows_times_in_the_configured_zone(news_db):
    html = get(news_db, "/news", timezone="Europe/London").text
    item = html[html.index("决战决胜脱贫攻坚要抓好三个重点</a>"):][:900]
    assert "2020-12-15 01:10" in item


def test_the_desk_searches_either_script_and_filters(news_db):
    simplified = desk_titles(get(news_db, "/news?q=脱贫").text)
    traditional = desk_titles(get(news_db, "/news?q=脫貧").text)
    assert simplified == traditional
    assert "決戰決勝脫貧攻堅要抓好三個重點" in simplified and "决战决胜脱贫攻坚要抓好三个重点" in simplified
    assert desk_titles(get(news_db, "/news?topic=sports").text) == ["體育新聞：足球聯賽開幕"]
    assert set(desk_titles(get(news_db, "/news?publisher=新华网").text)) == {"乡村振兴：合作社带动增收"}
    by_source = desk_titles(get(news_db, "/news?source=cn-feed").text)
    assert len(by_source) == 4 and "體育新聞：足球聯賽開幕" not in by_source
    dated = desk_titles(get(news_db, "/news?since=2020-12-16&until=2020-12-16").text)
    assert set(dated) == {"鄉村振興：村裡來了新產業", "精准扶贫：一个村的变化"}
    both = desk_titles(get(news_db, "/news?q=振兴&topic=poverty&since=2020-12-18").text)
    assert both == ["乡村振兴：合作社带动增收"]
    bad = get(news_db, "/news?since=someday").text
    assert "since &#39;someday&#39;: expected a date" in bad and desk_titles(bad) == []


def test_the_desk_pages_to_older_items(news_db, monkeypatch):
    from db.datasette_plugin import desk

    monkeypatch.setattr(desk, "PAGE_SIZE", 4)
    first = get(news_db, "/news").text
    older = unescape(re.search(r'class="news-older" href="\?([^"]+)"', first).group(1))
    second = get(news_db, "/news?" + older).text
    assert len(desk_titles(first)) == 4 and len(desk_titles(second)) == 4
    assert not set(desk_titles(first)) & set(desk_titles(second))


def test_items_table_hides_key_columns_and_folds_column_descriptions(news_db):
    html = get(news_db, "/news/items").text
    headers = re.findall(r'<th [^>]*data-column="([^"]+)"', html)
    assert "title" in headers and not {"url_key", "title_key", "publisher_key", "core_key"} & set(headers)
    notes = html[html.index('<details class="news-columns">'):html.index("</details>", html.index("news-columns"))]
    assert "Publication time, ISO 8601 with offset" in notes          # one click away...
    assert html.index('<details class="news-columns">') < html.index('class="rows-and-columns"')
    assert '<dl class="column-descriptions">' not in html.replace(notes, "")   # ...and nowhere else
    every = unescape(re.search(r'href="(/news/items\?_col=[^"]+)"', notes).group(1))
    assert "url_key" in re.findall(r'<th [^>]*data-column="([^"]+)"', get(news_db, every).text)
    assert '<a class="news-title" href="http://tw.example.org/news/1001.html">' \
           "決戰決勝脫貧攻堅要抓好三個重點</a>" in html
    assert '<time datetime="2020-12-15T07:30:00+08:00"' in html


def test_publisher_facet_is_shown_once_when_asked_for_again(news_db):
    html = get(news_db, "/news/items?_facet=publisher").text
    facets = [name.strip() for name in re.findall(r'<p class="facet-info-name">\s*<strong>([^<(]+)', html)]
    assert facets == ["publisher", "topics", "sources"]
    assert "origin" in get(news_db, "/news/items?_facet=origin").text    # other facets are still added


def test_story_page_lists_every_outlet_first_report_first(news_db):
    desk = get(news_db, "/news").text
    story_url = unescape(re.search(r'href="(/news/story\?story_id=\d+)">2 outlets', desk).group(1))
    html = get(news_db, story_url).text
    assert "2 outlets" in html
    # 07:30 at 中央通訊社, then 09:10 at 人民网
    assert desk_titles(html) == ["決戰決勝脫貧攻堅要抓好三個重點", "决战决胜脱贫攻坚要抓好三个重点"]
    assert "中央通訊社" in html and "人民网" in html
    assert "There is no story" in get(news_db, "/news/story?story_id=99999").text


def test_dashboard_draws_its_charts_from_the_database(news_db):
    response = get(news_db, "/-/dashboards/news")
    assert response.status_code == 200
    html = response.text
    for chart in ("items-by-topic", "items-by-publisher", "new-stories", "runs-by-status", "failing-sources"):
        section = html[html.index(f'id="{chart}"'):]
        svg = section[:section.index("</svg>")]
        assert svg.count('class="bar"') >= 1, chart
    assert "2020-12-15 · poverty: 2</title>" in html          # two poverty items published on the 15th
    assert "gone-feed" in html and "http_404" in html           # the failing source
    assert "2020-12-18 · sports: 1</title>" in get(news_db, "/-/dashboards/news?days=3").text


def test_the_health_report_is_served_as_json(news_db):
    response = get(news_db, "/-/news-health.json")
    report = response.json()
    assert response.status_code == 200 and report["healthy"] is True   # one failure is not yet `failing`
    sources = {source["name"]: source for source in report["sources"]}
    assert set(sources) == {"tw-feed", "cn-feed", "gone-feed"}
    assert sources["gone-feed"]["consecutive_failures"] == 1 and sources["gone-feed"]["last_success_at"] is None
    assert sources["tw-feed"]["last_success_at"] and report["database_bytes"] > 0 and report["last_write_at"]


def test_the_health_page_says_503_when_a_source_is_failing(news_db, tmp_path):
    failing_db = tmp_path / "news.db"     # a copy: the module's database stays as the pipeline left it
    with sqlite3.connect(news_db) as source, sqlite3.connect(failing_db) as copy:
        source.backup(copy)
        copy.execute("UPDATE sources SET consecutive_failures = 3, flags = 'failing' WHERE name = 'gone-feed'")
    response = get(failing_db, "/-/news-health.json")
    assert response.status_code == 503 and response.json()["healthy"] is False
    assert any("gone-feed" in problem for problem in response.json()["problems"])


@pytest.mark.parametrize("url", ["/news", "/news/items", "/news/items?_col=title&_col=publisher",
                                 "/news/story?story_id={story}", "/-/dashboards/news",
                                 "/news/items?_search=脫貧", "/news/new_items"])
def test_hostile_titles_and_publishers_are_text_everywhere(hostile_db, url):
    story = sqlite3.connect(hostile_db).execute(
        "SELECT story_id FROM items WHERE title = ?", (SCRIPT_TITLE,)).fetchone()[0]
    html = get(hostile_db, url.format(story=story)).text
    assert "<script>alert" not in html and "<img src=x" not in html
    if "story" in url or url in ("/news", "/news/items"):
        assert "&lt;script&gt;alert(" in html


def test_a_link_that_is_not_a_web_address_is_not_linked(news_db):
    for url in ("/news", "/news/items"):
        html = get(news_db, url).text
        assert "精準扶貧觀察" in html and 'href="javascript:' not in html


def test_robots_txt_disallows_crawling(news_db):
    response = get(news_db, "/robots.txt")
    assert response.status_code == 200 and response.text == "User-agent: *\nDisallow: /\n"
