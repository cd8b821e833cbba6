"""The seed's HTML form: an article page whose related block is the seed list gives the rows the text form gives."""

from __future__ import annotations

import html
import json
import sqlite3
from pathlib import Path

import pytest
from werkzeug import Request, Response

from db.store import Store
from monitor.cli import main
from monitor.config import load_config
from monitor.core import dates, fold
from monitor.core.errors import SeedError
from monitor.fetch.settings import HttpSettings
from monitor.seeding import import_seed, read_seed_file, seed_url
from monitor.service import Monitor
from scrapers.seed import parse_seed_text
from tests.conftest import OWN_FIXTURES, REAL_FIXTURES, shared_file
from tests.helpers import write_config

ZONE = dates.zone("Asia/Shanghai")
TEMPLATE = (OWN_FIXTURES / "related" / "seed_page.html").read_text(encoding="utf-8")
COMPARED = ("title", "publisher", "published_at", "summary", "title_cut", "origin", "title_key")
LOCAL_HTTP = HttpSettings(timeout=5.0, retries=0, per_host_delay=0.0, allow_private_networks=True)


def seed_page(seed_document) -> bytes:
    """The seed's list as an article page: each headline a link, its snippet under it (built from the text form)."""
    content = seed_document.read_text(encoding="utf-8")
    seed = parse_seed_text(content)
    items = "\n".join(
        f'    <li><a href="http://www.example.com/related/{i}.html">{html.escape(h.listed_title)}</a>'
        f"<p>{html.escape(h.summary or '')}</p></li>"
        for i, h in enumerate(seed.related)
    )
    first_paragraph = [line for line in content.splitlines() if line.strip()][2]
    page = TEMPLATE.format(title=html.escape(seed.article.title), publisher=html.escape(seed.article.publisher),
                           published=seed.article.published, heading=seed.heading,
                           first_paragraph=html.escape(first_paragraph), items=items)
    return page.encode("utf-8")


def imported_rows(tmp_path, name: str, source) -> tuple[dict[str, sqlite3.Row], int]:
    store = Store(tmp_path / f"{name}.db", ZONE)
    try:
        import_seed(store, source, ZONE, http=LOCAL_HTTP)
        rows = {row["title"]: row for row in store.conn.execute("SELECT * FROM items")}
        links = store.conn.execute("SELECT count(*) FROM links").fetchone()[0]
    finally:
        store.close()
    return rows, links


def test_html_form_gives_the_same_rows_as_the_text_form(tmp_path, seed_document):
    page = tmp_path / "seed.html"
    page.write_bytes(seed_page(seed_document))
    from_text, text_links = imported_rows(tmp_path, "text", seed_document)
    from_html, html_links = imported_rows(tmp_path, "html", page)
    assert len(from_text) == 21 and text_links == html_links == 20
    assert set(from_html) == set(from_text)
    for title, row in from_text.items():
        assert {c: from_html[title][c] for c in COMPARED} == {c: row[c] for c in COMPARED}, title
    # The HTML form also knows where each headline lives.
    article = "決戰決勝脫貧攻堅要抓好三個重點"
    assert all(row["url"].startswith("http://www.example.com/related/") for t, row in from_html.items()
               if t != article)
    assert from_text[article]["published_at"] == "2020-12-15T00:00:00+08:00"


def test_html_form_completes_the_text_forms_rows(tmp_path, seed_document):
    page = tmp_path / "seed.html"
    page.write_bytes(seed_page(seed_document))
    store = Store(tmp_path / "both.db", ZONE)
    try:
        import_seed(store, seed_document, ZONE)
        second = import_seed(store, page, ZONE)
        assert (second.items_seen, second.items_new, second.links_new) == (21, 0, 0)
        with_url = store.conn.execute("SELECT count(*) FROM items WHERE url IS NOT NULL").fetchone()[0]
        assert with_url == 20
    finally:
        store.close()


def test_seed_from_a_url_through_the_command_line(tmp_path, seed_document, httpserver, capsys):
    httpserver.expect_request("/n1/2020/1215/seed.html").respond_with_data(
        seed_page(seed_document), content_type="text/html; charset=utf-8")
    url = httpserver.url_for("/n1/2020/1215/seed.html")
    config = write_config(tmp_path, [])
    assert main(["--config", str(config), "seed", url]) == 0
    assert f"{url}: 21 items (21 new), 20 new links" in capsys.readouterr().out
    assert main(["--config", str(config), "seed", url]) == 0          # the same bytes again: nothing to do
    assert f"{url}: already imported, nothing to do" in capsys.readouterr().out
    store = Store(tmp_path / "news.db", ZONE)
    try:
        assert store.conn.execute("SELECT count(*) FROM items").fetchone()[0] == 21
        assert store.conn.execute("SELECT path FROM seed_imports").fetchone()[0] == url
    finally:
        store.close()


def test_seed_url_tells_urls_from_files():
    from pathlib import Path

    assert seed_url("https://www.example.com/a.html") == "https://www.example.com/a.html"
    assert seed_url("HTTP://www.example.com/a.html") == "HTTP://www.example.com/a.html"
    assert seed_url("seeds/a.html") is None
    assert seed_url(Path("seeds/a.html")) is None


def test_html_page_without_a_related_block_is_refused_clearly(tmp_path):
    page = tmp_path / "plain.html"
    page.write_text("<html><head><title>一篇文章</title></head><body><h1>一篇文章</h1><p>正文</p></body></html>",
                    encoding="utf-8")
    with pytest.raises(SeedError, match="no related-headlines block found"):
        read_seed_file(page)


def test_unreachable_seed_url_is_a_seed_error():
    with pytest.raises(SeedError, match="cannot fetch the seed page"):
        read_seed_file("http://127.0.0.1:9/none.html", LOCAL_HTTP)


# --- a saved page whose related block links relatively ----------------------------------------------------------

RELATIVE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>脱贫攻坚的三个重点_示例网</title></head>
<body><h1>脱贫攻坚的三个重点</h1><p>2020-12-15 09:30 来源：示例日报</p><p>正文。</p>
<div class="box"><h3>相关新闻</h3><ul>
  <li><a href="news/2020/1211/a1.html">某县脱贫攻坚收官：贫困村全部出列</a> 2020-12-11 18:56</li>
  <li><a href="/news/2020/1208/a2.html">乡村振兴开新局 产业帮扶见实效</a> 2020-12-08 10:00</li>
</ul></div>
{weaker}
</body></html>"""
# A weaker block with absolute links, which a reader that drops relative links would take instead.
WEAKER_BLOCK = """<div class="box"><h3>推荐新闻</h3><ul>
  <li><a href="http://ads.example.net/1.html">热门：明星婚礼现场曝光啦</a></li>
  <li><a href="http://ads.example.net/2.html">热门：新款手机发布会回顾</a></li>
</ul></div>"""


def saved_page(tmp_path, weaker: str = "") -> Path:
    path = tmp_path / "saved.html"
    path.write_text(RELATIVE_PAGE.format(weaker=weaker), encoding="utf-8")
    return path


@pytest.mark.parametrize("weaker", ["", WEAKER_BLOCK], ids=["only-block", "weaker-absolute-block-too"])
def test_relative_links_without_a_base_url_say_so_and_name_the_remedy(tmp_path, weaker):
    with pytest.raises(SeedError) as caught:
        read_seed_file(saved_page(tmp_path, weaker))
    message = str(caught.value)
    assert "no related-headlines block found" not in message      # it was found: its links are the problem
    assert "相关新闻, 2 headlines" in message
    assert "relative addresses (such as /news/2020/1211/a1.html)" in message
    assert "has no base URL" in message and "canonical" in message
    assert "--base-url" in message and "seed the page by its URL" in message


def test_relative_links_message_through_the_command_line(tmp_path, capsys):
    page = saved_page(tmp_path)
    config = write_config(tmp_path, [])
    assert main(["--config", str(config), "seed", str(page)]) == 1
    err = capsys.readouterr().err
    assert str(page) in err and "relative addresses" in err and "--base-url" in err
    # The remedy the message names works from the command line too.
    assert main(["--config", str(config), "seed", "--base-url", "https://www.example.cn/n1/2020/1215/c1001-1.html",
                 str(page)]) == 0
    conn = sqlite3.connect(tmp_path / "news.db")
    try:
        assert conn.execute("SELECT count(*) FROM items WHERE url LIKE 'https://www.example.cn/%'").fetchone()[0] == 3
    finally:
        conn.close()


def test_base_url_resolves_the_relative_links_and_is_part_of_the_import(tmp_path):
    page = saved_page(tmp_path, WEAKER_BLOCK)
    seed, _, _ = read_seed_file(page, base_url="https://www.example.cn/n1/2020/1215/c1001-1.html")
    assert seed.heading == "相关新闻"                              # the related block, not the weaker one
    assert seed.article.url == "https://www.example.cn/n1/2020/1215/c1001-1.html"
    assert [(h.title, h.url, h.published) for h in seed.related] == [
        ("某县脱贫攻坚收官：贫困村全部出列", "https://www.example.cn/n1/2020/1215/news/2020/1211/a1.html",
         "2020-12-11 18:56"),
        ("乡村振兴开新局 产业帮扶见实效", "https://www.example.cn/news/2020/1208/a2.html", "2020-12-08 10:00"),
    ]
    store = Store(tmp_path / "news.db", ZONE)
    try:
        first = import_seed(store, page, ZONE, base_url="https://www.example.cn/n1/2020/1215/c1001-1.html")
        assert (first.already_imported, first.items_new, first.links_new) == (False, 3, 2)
        again = import_seed(store, page, ZONE, base_url="https://www.example.cn/n1/2020/1215/c1001-1.html")
        assert again.already_imported
        # Another base URL gives other links: the file is read again, not reported as imported.
        elsewhere = import_seed(store, page, ZONE, base_url="https://mirror.example.org/a/b.html")
        assert not elsewhere.already_imported
    finally:
        store.close()


def test_a_bad_base_url_is_refused():
    with pytest.raises(SeedError, match="base URL 'www.example.cn/a.html' is not an http:// or https:// address"):
        read_seed_file("unused.html", base_url="www.example.cn/a.html")


def test_real_saved_page_with_relative_links(tmp_path):
    """澎湃's 相关推荐 links are relative (newsDetail_forward_5417616) and the page names no canonical URL."""
    page = tmp_path / "thepaper.html"
    page.write_bytes(shared_file(REAL_FIXTURES / "html" / "thepaper_article_related_relative_links.html").read_bytes())
    with pytest.raises(SeedError, match=r"相关推荐, 3 headlines\) links with relative addresses "
                                        r"\(such as /newsDetail_forward_5417616\)"):
        read_seed_file(page)
    seed, _, _ = read_seed_file(page, base_url="https://www.thepaper.cn/newsDetail_forward_5420361")
    assert seed.article.title == "新年伊始，习近平的重要文章谈了啥？"
    assert [h.url for h in seed.related] == [
        "https://www.thepaper.cn/newsDetail_forward_5417616", "https://www.thepaper.cn/newsDetail_forward_5401961",
        "https://www.thepaper.cn/newsDetail_forward_5118857",
    ]


# --- importing twice --------------------------------------------------------------------------------------------

def test_the_same_url_with_changed_bytes_is_read_again_without_duplicates(tmp_path, httpserver):
    """A live page's bytes change between fetches (a counter, an ad): the list is read again, and adds nothing."""
    fetches: list[int] = []

    def handler(request: Request) -> Response:
        fetches.append(1)
        body = RELATIVE_PAGE.format(weaker=f"<!-- served {len(fetches)} -->").encode("utf-8")
        return Response(body, headers={"Content-Type": "text/html; charset=utf-8"})

    httpserver.expect_request("/n1/2020/1215/c1001-1.html").respond_with_handler(handler)
    url = httpserver.url_for("/n1/2020/1215/c1001-1.html")
    store = Store(tmp_path / "news.db", ZONE)
    try:
        first = import_seed(store, url, ZONE, http=LOCAL_HTTP)
        assert (first.items_seen, first.items_new, first.links_new) == (3, 3, 2)
        second = import_seed(store, url, ZONE, http=LOCAL_HTTP)
        assert not second.already_imported                       # other bytes: perhaps a longer list
        assert (second.items_seen, second.items_new, second.links_new) == (3, 0, 0)
        assert store.conn.execute("SELECT count(*) FROM items").fetchone()[0] == 3
    finally:
        store.close()


# --- one headline from the seed, a feed and a page's related block --------------------------------------------

SITE = OWN_FIXTURES / "related" / "site"
SEED_TEXT = """決戰決勝脫貧攻堅要抓好三個重點

2020-12-15 示例日報

正文第一段。

相關焦點

• 某縣脫貧攻堅收官：貧困村全部出列
   某縣脫貧攻堅收官：貧困村全部出列 全縣貧困村全部出列。 2020-12-11 18:56 來源:示例晚報
• 南召縣召開決戰決勝脫貧攻堅誓師大會
   南召縣召開決戰決勝脫貧攻堅誓師大會。
"""


def test_one_headline_from_the_seed_a_feed_and_a_related_block_is_one_item(tmp_path, httpserver):
    host = f"{httpserver.host}:{httpserver.port}".encode()
    for name in ("feed.xml", "news/start.html"):
        kind = "application/rss+xml" if name.endswith(".xml") else "text/html; charset=utf-8"
        httpserver.expect_request(f"/{name}").respond_with_data(
            (SITE / name).read_bytes().replace(b"{HOST}", host), content_type=kind)
    seed_file = tmp_path / "seed.txt"
    seed_file.write_text(SEED_TEXT, encoding="utf-8")
    sources = [
        {"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "1h"},
        {"name": "spider", "kind": "related", "url": httpserver.url_for("/news/start.html"), "every": "6h",
         "max_depth": 1},
    ]
    monitor = Monitor.open(load_config(write_config(tmp_path, sources)))
    try:
        assert import_seed(monitor.store, seed_file, monitor.zone).items_new == 3
        [feed] = monitor.run_once(["feed"])
        [spider] = monitor.run_once(["spider"])
        assert feed.status == spider.status == "ok", (feed.error, spider.error)
        conn = monitor.store.conn
        rows = conn.execute("SELECT * FROM items WHERE title_key = ?",
                            (fold.fold_text("某县脱贫攻坚收官：贫困村全部出列"),)).fetchall()
        assert len(rows) == 1
        item = rows[0]
        sightings = conn.execute("SELECT source, matched_by, url FROM sightings WHERE item_id = ? ORDER BY id",
                                 (item["id"],)).fetchall()
        links = conn.execute("SELECT f.title, l.depth FROM links l JOIN items f ON f.id = l.from_item_id "
                             "WHERE l.to_item_id = ? ORDER BY f.title", (item["id"],)).fetchall()
        article_rows = conn.execute("SELECT count(*) FROM items WHERE title_key = ?",
                                    (fold.fold_text("决战决胜脱贫攻坚要抓好三个重点"),)).fetchone()[0]
    finally:
        monitor.close()
    # The seed row (no URL) is completed by the feed (rule 3); the related block's link is the same URL (rule 1).
    assert [(s["source"], s["matched_by"]) for s in sightings] == [("seed", "new"), ("feed", "seed"),
                                                                     ("spider", "url")]
    a1 = httpserver.url_for("/news/a1.html")
    assert [s["url"] for s in sightings] == [None, a1, a1]
    assert sorted(json.loads(item["sources"])) == ["feed", "seed", "spider"]
    assert item["origin"] == "seed" and item["url"] == a1
    assert item["publisher"] == "示例晚報"                      # what the seed's snippet said is kept
    assert item["published_at"] == "2020-12-11T18:56:00+08:00"
    # The seed's article and the spider's start page are one row too (the same headline in the other script), so
    # the seed's list and the page's related block give one link, kept in the seed's words.
    assert [tuple(link) for link in links] == [("決戰決勝脫貧攻堅要抓好三個重點", 1)]
    assert article_rows == 1
