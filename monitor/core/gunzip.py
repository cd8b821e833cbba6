"""The one decompressor of gzip bodies: a .xml.gz sitemap, or a page a server gzipped without saying so."""

from __future__ import annotations

import zlib

GZIP_MAGIC = b"\x1f\x8b"
GUNZIP_CHUNK = 1024 * 1024   # output bytes per decompression step


class GunzipError(ValueError):
    """A gzip body that cannot be decompressed: ``reason`` is ``too_large``, ``truncated`` or ``corrupt``."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress a gzip body (all its members), stopping as soon as the output passes ``limit`` bytes.

    The one decompressor of gzip bytes that arrive as the body itself (the fetcher for every source, the sitemap
    kind for pages given to it directly). Output is produced at most ``GUNZIP_CHUNK`` bytes at a time, so a gzip
    bomb costs about ``limit`` bytes of memory and the time to inflate them, never more.
    """
    out = bytearray()
    data = body
    try:
        while data[:2] == GZIP_MAGIC:   # a file may hold several gzip members, one after the other
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while data and not decompressor.eof:
                out += decompressor.decompress(data, GUNZIP_CHUNK)
                if len(out) > limit:
                    raise GunzipError("too_large", f"it decompresses to more than {limit} bytes")
                data = decompressor.unconsumed_tail
            if not decompressor.eof:
                raise GunzipError("truncated", "it ends before the compressed data does")
            data = decompressor.unused_data
    except zlib.error as exc:
        raise GunzipError("corrupt", f"it cannot be decompressed ({exc})") from exc
    return bytes(out)
