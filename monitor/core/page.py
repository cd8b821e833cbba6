"""A fetched document as every kind reads it: the bytes decoded once, where a response becomes a ``Page``.

``read_page`` is the one place bytes become text (``monitor.core.encoding.decode_document``: the charset from the
HTTP header, a BOM, the XML declaration, ``<meta>``, sniffing). The kinds read ``page.text``; the run records
``page.codec`` on ``runs.encoding``, even when the kind then finds nothing or fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.core.encoding import charset_from_content_type, decode_document


@dataclass(frozen=True)
class Page:
    """A document and what the fetcher learned about it (what a scraper kind may read)."""

    url: str                      # the final URL, after redirects; relative links resolve against it
    body: bytes                   # the bytes as received (transfer encoding and gzip undone)
    text: str                     # the body decoded (see ``read_page``)
    codec: str                    # the Python codec ``text`` was decoded with: "utf-8", "gb18030", "big5hkscs"...
    content_type: str | None = None   # the Content-Type header, e.g. "text/html; charset=gb2312"

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header names, if any (it may lie: ``codec`` is what was used)."""
        return charset_from_content_type(self.content_type)


def read_page(url: str, body: bytes, content_type: str | None = None) -> Page:
    """The page at ``url`` with ``body`` decoded once (see ``monitor.core.encoding`` for the order of evidence)."""
    text, codec = decode_document(body, charset_from_content_type(content_type))
    return Page(url=url, body=body, text=text, codec=codec, content_type=content_type)
