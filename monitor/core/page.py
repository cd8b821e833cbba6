"""A fetched document as every kind reads it: the bytes decoded once, where a response becomes a ``Page``.

``read_page`` is the one place bytes become text (``monitor.core.encoding.decode_body``: the charset from the
HTTP header, a BOM, the XML declaration, ``<meta>``, sniffing). The kinds read ``page.text``; the run records
``page.codec`` on ``runs.encoding``, even when the kind then finds nothing or fails, and ``page.replaced_bytes`` (the
bytes of a UTF-8 document with a few bad ones, read as U+FFFD) on ``runs.replaced_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.core.encoding import charset_from_content_type, decode_body


@dataclass(frozen=True)
class Page:
    """A document and what the fetcher learned about it (what a scraper kind may read)."""

    url: str                      # the final URL, after redirects; relative links resolve against it
    body: bytes                   # the bytes as received (transfer encoding and gzip undone)
    text: str                     # the body decoded (see ``read_page``)
    codec: str                    # the Python codec ``text`` was decoded with: "utf-8", "gb18030", "big5hkscs"...
    content_type: str | None = None   # the Content-Type header, e.g. "text/html; charset=gb2312"
    replaced_bytes: int = 0       # bytes ``codec`` could not read, each sequence replaced by U+FFFD in ``text``

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header names, if any (it may lie: ``codec`` is what was used)."""
        return charset_from_content_type(self.content_type)


def read_page(url: str, body: bytes, content_type: str | None = None) -> Page:
    """The page at ``url`` with ``body`` decoded once (see ``monitor.core.encoding`` for the order of evidence)."""
    decoded = decode_body(body, charset_from_content_type(content_type))
    return Page(url=url, body=body, text=decoded.text, codec=decoded.codec, content_type=content_type,
                replaced_bytes=decoded.replaced_bytes)
