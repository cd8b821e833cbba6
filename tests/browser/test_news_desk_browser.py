"""The news desk as a reader meets it: `serve` started as a process over a database the pipeline filled (`once`
over local feeds), driven in headless Chromium (Debian's package) by Playwright; screenshots in tests/artifacts/.

Skips, saying why, where Chromium or Playwright is missing (`.ci/run` installs both when it can).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import PROJECT_DIR
from tests.news_desk_data import SCRIPT_TITLE, fill_news_database, make_hostile

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = PROJECT_DIR / "tests" / "artifacts"

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install -y chromium): the browser test cannot run",
                allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(directory: Path, *, hostile: bool):
    """`run_monitor.py serve` on a free port over a database `once` filled (with ``hostile``, one title then given
    a script element and one publisher an img, as hostile_db does); yields its base URL."""
    feeds = HTTPServer(host="127.0.0.1", port=0)
    feeds.start()
    try:
        config = fill_news_database(feeds, directory)
    finally:
        feeds.stop()
    if hostile:
        make_hostile(directory / "news.db")
    port = free_port()
    process = subprocess.Popen([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config),
                                "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/robots.txt", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve did not start: {process.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("browser"), hostile=True) as base:
        yield base


@pytest.fixture(scope="module")
def page():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


def submit(page) -> None:
    with page.expect_navigation():
        page.click(".news-filters input[type=submit]")


def test_a_reader_browses_searches_filters_opens_a_story_and_the_charts(served, page):
    # The first page: / leads to the news desk, whose titles are links to the articles.
    page.goto(served + "/")
    assert page.url == served + "/news"
    titles = page.locator(".news-desk a.news-title")
    assert titles.count() >= 8
    assert titles.first.get_attribute("href").startswith("http://")
    assert page.locator(".news-desk").is_visible()
    page.screenshot(path=str(ARTIFACTS / "news-desk.png"), full_page=True)

    # Search in simplified script finds the traditional-script rows.
    page.fill("input[name=q]", "脱贫")
    submit(page)
    found = page.locator(".news-desk .news-title").all_inner_texts()
    assert "決戰決勝脫貧攻堅要抓好三個重點" in found and "决战决胜脱贫攻坚要抓好三个重点" in found
    page.screenshot(path=str(ARTIFACTS / "news-desk-search.png"), full_page=True)

    # A topic filter.
    page.goto(served + "/news")
    page.select_option("select[name=topic]", "sports")
    submit(page)
    assert page.locator(".news-desk .news-title").all_inner_texts() == ["體育新聞：足球聯賽開幕"]
    assert "topic=sports" in page.url

    # A story reported by two outlets, first report first.
    page.goto(served + "/news")
    with page.expect_navigation():
        page.locator("a.news-story", has_text="2 outlets").first.click()
    assert "/news/story?story_id=" in page.url
    assert page.locator(".news-story-items .news-title").all_inner_texts() == [
        "決戰決勝脫貧攻堅要抓好三個重點", "决战决胜脱贫攻坚要抓好三个重点"]
    page.screenshot(path=str(ARTIFACTS / "story.png"), full_page=True)

    # The dashboard: every chart drawn, with bars.
    page.goto(served + "/-/dashboards/news")
    charts = page.locator("section.news-chart svg.chart")
    assert charts.count() >= 5
    for index in range(charts.count()):
        chart = charts.nth(index)
        assert chart.is_visible() and chart.bounding_box()["height"] > 20
        assert chart.locator("rect.bar").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # The items table: titles readable and linked, the identity keys not shown.
    page.goto(served + "/news/items")
    headers = page.locator("table.rows-and-columns th").evaluate_all("ths => ths.map(th => th.dataset.column)")
    assert "title" in headers and "url_key" not in headers
    assert page.locator("details.news-columns").is_visible()
    assert not page.locator("details.news-columns dl").is_visible()     # folded until clicked
    page.screenshot(path=str(ARTIFACTS / "items-table.png"))


def test_no_script_from_a_title_runs(served, page):
    """Dialogs would open if any alert() from the fixtures' titles ran; none may."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path in ("/news", "/news/items", "/-/dashboards/news", "/news?q=扶貧"):
        page.goto(served + path)
        if path == "/news":
            assert page.get_by_text(SCRIPT_TITLE, exact=True).is_visible()   # shown, as text
    assert dialogs == []


def test_screenshots_for_the_readme_when_asked(page, tmp_path):
    """NEWS_MONITOR_DOC_SHOTS=1 refreshes the README's docs/news-desk.png and docs/dashboard.png."""
    import os

    if not os.environ.get("NEWS_MONITOR_DOC_SHOTS"):
        pytest.skip("set NEWS_MONITOR_DOC_SHOTS=1 to refresh the README's screenshots in docs/")
    docs = PROJECT_DIR / "docs"
    docs.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1200, "height": 800})
    with serving(tmp_path, hostile=False) as served:
        page.goto(served + "/news")
        page.screenshot(path=str(docs / "news-desk.png"))
        page.goto(served + "/-/dashboards/news?days=14")
        page.screenshot(path=str(docs / "dashboard.png"), full_page=True)
    assert (docs / "news-desk.png").stat().st_size > 10_000
