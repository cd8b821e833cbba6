"""The seed's HTML form: an article page whose related block is the seed list gives the rows the text form gives."""

from __future__ import annotations

import html
import sqlite3

import pytest

from db.store import Store
from monitor import text
from monitor.cli import main
from monitor.config import HttpSettings
from monitor.errors import SeedError
from monitor.seeding import import_seed, read_seed_file, seed_url
from scrapers.seed import parse_seed_text
from tests.conftest import OWN_FIXTURES
from tests.helpers import write_config

ZONE = text.zone("Asia/Shanghai")
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


def test_seed_from_a_url_through_the_command_line(tmp_path, seed_document, httpserver):
    httpserver.expect_request("/n1/2020/1215/seed.html").respond_with_data(
        seed_page(seed_document), content_type="text/html; charset=utf-8")
    url = httpserver.url_for("/n1/2020/1215/seed.html")
    config = write_config(tmp_path, [])
    assert main(["--config", str(config), "seed", url]) == 0
    assert main(["--config", str(config), "seed", url]) == 0          # the same bytes again: nothing to do
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
