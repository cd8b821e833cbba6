"""Reading a response's body: within the byte cap and the deadline, and only if it is text the kinds can read.

* The cap (``http.max_bytes``) counts *decompressed* bytes, so a gzip bomb or an endless body stops early; a
  Content-Length above it is refused before the first byte is read.
* The deadline is checked between chunks (the ``Watchdog`` of ``monitor.fetch.deadline`` cuts a read that blocks).
* A body that is still gzip after the transfer decoding (a ``.gz`` file, a page gzipped without a
  Content-Encoding header) is decompressed within that cap, and binary data (an image, a PDF) is refused as
  ``not_a_page``: every kind reads text, and would otherwise report "0 items" (``as_document``).
"""

from __future__ import annotations

import time

import requests

from monitor.core.encoding import wide_unicode_codec
from monitor.core.errors import FetchError
from monitor.core.gunzip import GZIP_MAGIC, GunzipError, gunzip
from monitor.fetch.deadline import Watchdog
from monitor.fetch.failures import CHECK_SOURCE_URL, timed_out, too_large
from monitor.fetch.settings import HttpSettings

CHUNK_SIZE = 64 * 1024              # decoded bytes per read (urllib3 >= 2.6 bounds decompression to it)
SNIFF_BYTES = 1024                  # the start of a body that is looked at to tell text from binary data

# Binary formats a link may lead to, by their first bytes: only to name them in the error (see _binary_kind).
_BINARY_SIGNATURES = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"RIFF", "a RIFF file (a WebP image, WAV audio...)"),
    (b"PK\x03\x04", "a ZIP archive or an Office document"),
    (GZIP_MAGIC, "gzip data compressed twice"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"\x7fELF", "a program"),
)
_UNICODE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")   # UTF-16 LE/BE (and UTF-32 LE), UTF-32 BE
_TEXT_CONTROLS = frozenset(b"\t\n\x0b\x0c\r\x1b")


def read_body(response: requests.Response, s: HttpSettings, deadline: float, watchdog: Watchdog) -> bytes:
    """Read the decoded body, stopping as soon as it passes max_bytes or the deadline."""
    limit = s.max_bytes
    url = response.url
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    declared = response.headers.get("Content-Length", "").strip()
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > limit:
        raise too_large(url, limit, f"it announces {int(declared)} bytes")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_content(chunk_size=min(CHUNK_SIZE, limit + 1)):
        total += len(chunk)
        if total > limit:
            raise too_large(url, limit, "the body kept coming")
        if watchdog.fired or time.monotonic() > deadline:
            raise timed_out(url, s, "reading the response from")
        chunks.append(chunk)
    # A close-delimited body cut by the watchdog just ends: check, or a truncated page would pass as whole.
    if watchdog.fired or time.monotonic() > deadline:
        raise timed_out(url, s, "reading the response from")
    return b"".join(chunks)


def as_document(body: bytes, url: str, limit: int) -> bytes:
    """The body as the kinds read it: every kind reads text (pages, feeds, JSON, sitemaps).

    A body that is still gzip after the transfer decoding (a ``.gz`` file, or a server that gzips a page without
    saying so in Content-Encoding) is decompressed here, by the one gunzip (``monitor.core.gunzip``), within
    ``max_bytes`` counted after decompression, as for Content-Encoding. Other binary data (an image, a PDF, an
    archive a link led to) is ``not_a_page``: a scraper would find nothing in it and the run would pass as
    "ok, 0 items".
    """
    if body[:2] == GZIP_MAGIC:
        try:
            body = gunzip(body, limit)
        except GunzipError as exc:
            if exc.reason == "too_large":
                raise too_large(url, limit, "counted after gzip decompression") from None
            raise FetchError(f"the response from {url} is gzip data, but {exc}; the server may have cut it short "
                             "or sent a broken file", error_class="decoding", url=url) from None
    what = _binary_kind(body)
    if what:
        raise FetchError(f"the response from {url} is binary data ({what}), not a page, feed or JSON document "
                         f"news-monitor can read; {CHECK_SOURCE_URL}", error_class="not_a_page", url=url)
    return body


def _binary_kind(body: bytes) -> str | None:
    """What a body that is binary data looks like ("a PNG image"); None for text in any encoding.

    Text in the encodings pages use (UTF-8, GBK, Big5, Latin-1...) holds no NUL byte and almost no control
    characters; UTF-16/32 text does hold NULs, so a byte-order mark, a document starting with ``<`` in UTF-32 or
    UTF-16 code units (XML 1.0 appendix F: ``3C 00 00 00``, ``00 00 00 3C``, ``3C 00 3F 00``, ``00 3C 00 3F``;
    ``monitor.core.encoding.wide_unicode_codec``), or NULs on one side of each code unit only (ASCII markup in
    UTF-16), say it is text.
    """
    head = body[:SNIFF_BYTES]
    if not head or head.startswith(_UNICODE_BOMS) or wide_unicode_codec(head) is not None:
        return None
    named = next((name for magic, name in _BINARY_SIGNATURES if head.startswith(magic)), None)
    if named == "a PDF document":
        return named   # its first line is text
    nuls = [i for i, byte in enumerate(head) if byte == 0]
    if nuls and len(nuls) * 10 >= len(head) and len({i % 2 for i in nuls}) == 1:
        return None    # UTF-16 without a byte-order mark
    controls = sum(1 for byte in head if byte < 0x20 and byte not in _TEXT_CONTROLS)
    if nuls or (controls > 4 and controls * 50 > len(head)):   # a stray backspace in a title is still text
        return named or f"it starts with the bytes {head[:8].hex(' ')}"
    return None
