"""Full-text search that works for Chinese in either script, in a file every SQLite tool opens.

SQLite's tokenizers alone fail here (FACTS.md): ``unicode61`` makes a run of CJK characters one token, and
``trigram`` cannot match two-character words such as 脱贫. So our code prepares the text and SQLite's built-in
``unicode61`` tokenizer splits it: ``search_text`` folds each character (NFKC, traditional -> simplified, lower-case;
whitespace and punctuation dropped) and puts a space on each side of every CJK character, while Latin letters and
digits stay whole words. One token per folded CJK character, one per Latin/digit word: a phrase of characters then
finds a two-character word, and 脫貧 finds 脱贫.

``items_fts`` is a contentless FTS5 table (``content=''``) over that text: it holds the index only, no second copy of
the titles: about 1.3× the bytes of the text it indexes (``bench/bench_search.py``). Its rowid is ``items.id``; the
store writes it with each new or changed item (``index_rows``, ``unindex_row``). A contentless table forgets a row
only when told the text it indexed, which ``search_text`` computes again from the stored row: a change to the folding
(``monitor.core.fold``, OpenCC's tables) must come with a migration that rebuilds the index (``rebuild_search_index``).

``fts_query`` is the one place a user's query becomes an FTS5 query (Datasette's ``_search`` on the items table,
``export --search``): each space-separated word, or each "quoted phrase", becomes a phrase of folded tokens, as
Datasette's escaped search mode does. ``"脫貧 攻堅"`` is the query ``"脱 贫" "攻 坚"``.

Any SQLite reads the file, the search table included (sqlite3, sqlite-utils, Datasette without our plug-in); to
search it without our code, write the query in the indexed form: ``MATCH '"脱 贫"'``.

Files made before schema 8 have an external-content table with the Python tokenizer ``news_fold`` (the package
``sqlitefts``); ``register_search_tokenizer`` registers it, for the migrations only: SQLite cannot even drop such a
table without its tokenizer.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import unicodedata
from collections.abc import Iterable

from monitor.core.fold import fold_char

TOKENIZE = "unicode61 remove_diacritics 0"   # our folding decides what is the same; SQLite only splits at spaces
CREATE_SEARCH_TABLE = (f"CREATE VIRTUAL TABLE items_fts USING fts5(title, summary, publisher, content='', "
                       f"tokenize='{TOKENIZE}')")
COLUMNS = ("title", "summary", "publisher")


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LN"


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F") and unicodedata.category(ch)[0] == "L"


class _SegmentTable(dict):
    """A ``str.translate`` table: each character to its indexed form (filled in lazily, one entry per character).

    A CJK character (wide letters: Han, kana, Hangul) becomes its folded form between spaces; a Latin letter or digit
    its folded form, joined to its neighbours; anything else a space."""

    def __missing__(self, codepoint: int) -> str:
        folded = fold_char(chr(codepoint))
        if not folded or not _is_word_char(folded[0]):
            value = " "
        elif _is_cjk(folded[0]):
            value = f" {folded} "
        else:
            value = folded
        self[codepoint] = value
        return value


_SEGMENT = _SegmentTable()


def search_text(text: str | None) -> str:
    """``text`` as the search index holds it: folded tokens separated by one space.

    ``search_text("【決戰決勝 脫貧攻堅】ＡＢＣ 2020年")`` is ``"决 战 决 胜 脱 贫 攻 坚 abc 2020 年"``.
    """
    if not text:
        return ""
    return " ".join(text.translate(_SEGMENT).split())


# Datasette's escaped mode (datasette.utils.escape_fts): "quoted phrases" kept together, other words split at spaces.
_WORDS = re.compile(r'\s+|(".*?")')


def fts_query(query: str) -> str:
    """What a user typed, as the FTS5 query for ``items_fts``: each word (or "quoted phrase") a phrase of tokens.

    A word with nothing to search (only punctuation) becomes the empty phrase ``""``, which FTS5 ignores.
    """
    if query.count('"') % 2:
        query += '"'
    words = [word for word in _WORDS.split(query) if word and word != '""']
    return " ".join('"' + search_text(word.strip('"')) + '"' for word in words)


def index_rows(conn: sqlite3.Connection, rows: Iterable[tuple]) -> None:
    """Add ``(id, title, summary, publisher)`` rows to the search index (rows not in it yet)."""
    conn.executemany(
        "INSERT INTO items_fts (rowid, title, summary, publisher) VALUES (?, ?, ?, ?)",
        ((item_id, search_text(title), search_text(summary), search_text(publisher))
         for item_id, title, summary, publisher in rows),
    )


def unindex_row(conn: sqlite3.Connection, item_id: int, title: str | None, summary: str | None,
                publisher: str | None) -> None:
    """Take a row out of the search index, given the values it was indexed with (a contentless table needs them)."""
    conn.execute(
        "INSERT INTO items_fts (items_fts, rowid, title, summary, publisher) VALUES ('delete', ?, ?, ?, ?)",
        (item_id, search_text(title), search_text(summary), search_text(publisher)),
    )


def rebuild_search_index(conn: sqlite3.Connection) -> None:
    """Empty ``items_fts`` and index every item again (inside the caller's write transaction)."""
    conn.execute("INSERT INTO items_fts (items_fts) VALUES ('delete-all')")
    index_rows(conn, conn.execute("SELECT id, title, summary, publisher FROM items ORDER BY id"))


# --- before schema 8: the Python tokenizer --------------------------------------------------------------------------

LEGACY_TOKENIZER = "news_fold"


class FoldingTokenizer:
    """The tokenizer of files before schema 8: (token, byte start, byte end), one token per folded CJK character, one
    per Latin/digit word (the tokens ``search_text`` now writes). sqlitefts only calls ``tokenize``."""

    def tokenize(self, text: str, flags: int):
        word: list[str] = []
        word_start = 0
        position = 0
        for ch in text:
            size = len(ch.encode("utf-8"))
            folded = fold_char(ch)
            if folded and _is_word_char(folded[0]) and not _is_cjk(folded[0]):
                if not word:
                    word_start = position
                word.append(folded)
            else:
                if word:
                    yield "".join(word), word_start, position
                    word = []
                if folded and _is_word_char(folded[0]):
                    yield folded, position, position + size
            position += size
        if word:
            yield "".join(word), word_start, position


@functools.cache
def _legacy_tokenizer():
    """The C binding of the old tokenizer, built once per process on first use (cffi): not at import."""
    from sqlitefts import fts5

    return fts5.make_fts5_tokenizer(FoldingTokenizer())


def register_search_tokenizer(conn: sqlite3.Connection) -> None:
    """Make ``tokenize="news_fold"`` available on this connection: what a file before schema 8 needs to read, rebuild
    or drop its search table (the migrations; tests that build such files)."""
    from sqlitefts import fts5

    if not fts5.register_tokenizer(conn, LEGACY_TOKENIZER, _legacy_tokenizer()):
        raise RuntimeError("could not register the news_fold FTS5 tokenizer on this SQLite connection")


def uses_legacy_tokenizer(conn: sqlite3.Connection) -> bool:
    """Whether this file's ``items_fts`` is the table of before schema 8 (the ``news_fold`` tokenizer)."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'items_fts'").fetchone()
    return row is not None and LEGACY_TOKENIZER in (row[0] or "")
