"""Kind ``related``: article pages, their metadata and their related-headlines block.

Almost every Chinese news article lists earlier coverage under a heading (相关新闻, 相关推荐, 相關焦點...). Following
those lists, relevance-gated, is how the spider (``monitor.spider``) grows a corpus beyond what feeds list: a
``related`` source's start pages, and ``follow: related`` on any other source. This kind only reads one fetched page;
fetching, the gate and the graph are the spider's.

Options (``select:`` in config.yaml), all optional::

    select:
      related: "div#rwb_xgxw li"   # one element per related headline; the headings are tried when it matches none
      title: "h1.title"            # field selectors (scrapers.markup) for the article's own metadata
      published: "span.date"
      publisher: "span.source"

``read_article(page, options)`` returns an :class:`~monitor.core.model.Article`: what the page says about itself
(``scrapers.article``) and the headlines of its related block (``scrapers.related_block``), each a ``RawItem`` with
its title, absolute URL, the date printed beside it and the item's other text as summary.

``extra``: a related headline carries none. The article itself, as the spider stores it
(``Article.as_raw_item``), carries ``canonical_url``: the address the page names as its own.
"""

from __future__ import annotations

from typing import Any

from monitor.core.model import Article
from monitor.core.page import Page
from scrapers.article import read_article_page
from scrapers.registry import add_kind

SELECT_FIELDS = ("related", "title", "published", "publisher")


def read_article(page: Page, options: dict[str, Any] | None = None) -> Article:
    """Read an article page: its metadata and its related headlines (see the module docstring)."""
    return read_article_page(page, options)[0]


# Reads article pages for the spider (monitor.spider): a `related` source's start pages, and `follow: related`.
add_kind("related", crawl=read_article, select_fields=SELECT_FIELDS, needs_url=False)
