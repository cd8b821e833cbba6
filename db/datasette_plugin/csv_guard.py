"""Datasette's CSV with the spreadsheet-formula guard of ``export`` (``db.export.neutralise_formula``).

Datasette writes its CSV itself and offers no hook over the cells, so this ASGI middleware rewrites the CSV as it
streams out: complete records are read back with the csv module, each cell goes through the same function as
``export``, and they are written again (records where no cell can start a formula pass unread). Memory stays flat
(one chunk and one unfinished record are held), so a streamed export of the whole table (``?_stream=on``) is
guarded too.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from urllib.parse import parse_qs

from db.export import neutralise_formula

# A cell a spreadsheet would run starts a record or follows a comma, quoted or not (a CR only quoted: the csv module
# quotes a cell holding one). Text with no such start passes as it came (most of a news export: 3x the rows a
# second); the rest is read and written again.
_MAY_START_A_FORMULA = re.compile(r'(?:^|,)(?:"[=+\-@\t\r]|[=+\-@\t])', re.MULTILINE)


def is_csv_request(scope) -> bool:
    if scope.get("type") != "http":
        return False
    if scope.get("path", "").endswith(".csv"):
        return True
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("_format") == ["csv"]


class CsvRewriter:
    """Bytes of CSV in, the same CSV out with every cell neutralised; records may span chunks."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self._pending = ""        # text after the last complete record
        self._quotes = 0          # quote characters seen in the pending text up to ``_scanned``
        self._scanned = 0

    def feed(self, data: bytes, final: bool = False) -> bytes:
        self._pending += self._decoder.decode(data, final=final)
        end = len(self._pending) if final else self._complete_records_end()
        if not end:
            return b""
        complete, self._pending = self._pending[:end], self._pending[end:]
        self._quotes, self._scanned = 0, 0
        if not _MAY_START_A_FORMULA.search(complete):
            return complete.encode("utf-8", errors="surrogateescape")
        out = io.StringIO()
        writer = csv.writer(out)
        for record in csv.reader(io.StringIO(complete, newline="")):
            writer.writerow([neutralise_formula(cell) for cell in record])
        return out.getvalue().encode("utf-8", errors="surrogateescape")

    def _complete_records_end(self) -> int:
        """Index just after the last newline that ends a record (an even count of quotes before it), or 0."""
        text, end = self._pending, 0
        last = text.rfind("\n")
        if last >= 0 and text.count('"', 0, last) % 2 == 0:     # the usual case: the last newline ends a record
            return last + 1
        position = self._scanned
        quotes = self._quotes
        while True:
            newline = text.find("\n", position)
            if newline < 0:
                break
            quotes += text.count('"', position, newline)
            position = newline + 1
            if quotes % 2 == 0:
                end = position
        if end:
            return end
        self._scanned, self._quotes = position, quotes
        return 0


# Bytes gathered before they are guarded and passed on: Datasette sends a streamed CSV one record per message, and
# guarding and sending each one (a socket write per record) cost more than Datasette's own work per row.
FLUSH_BYTES = 64 * 1024


def guard_csv(app):
    """ASGI middleware: CSV answers (``.csv``, ``_format=csv``) with their cells neutralised, sent on in chunks of
    ``FLUSH_BYTES`` (the first chunk, which carries the header line, at once: a client sees the answer begin)."""

    async def wrapped(scope, receive, send):
        if not is_csv_request(scope):
            await app(scope, receive, send)
            return
        rewriter: CsvRewriter | None = None
        gathered = bytearray()
        started = False

        async def guarded_send(message):
            nonlocal rewriter, started
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                content_type = headers.get(b"content-type", b"").decode("latin-1")
                if message.get("status") == 200 and content_type.startswith(("text/plain", "text/csv")):
                    rewriter = CsvRewriter()
                    message = dict(message, headers=[(k, v) for k, v in message.get("headers") or []
                                                     if k.lower() != b"content-length"])
            elif message["type"] == "http.response.body" and rewriter is not None:
                gathered.extend(message.get("body", b""))
                more = message.get("more_body", False)
                if more and started and len(gathered) < FLUSH_BYTES:
                    return
                started = True
                message = dict(message, body=rewriter.feed(bytes(gathered), final=not more))
                gathered.clear()
            await send(message)

        await app(scope, receive, guarded_send)

    return wrapped
