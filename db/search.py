"""Full-text search that works for Chinese in either script.

SQLite's own tokenizers fail here (FACTS.md): ``unicode61`` makes a run of CJK characters one token, and
``trigram`` cannot match two-character words such as 脱贫. So ``items_fts`` uses the ``news_fold`` tokenizer:
one token per folded character (NFKC, traditional -> simplified, lower-case; whitespace and punctuation skipped),
words of Latin letters and digits kept whole. A quoted query is then a phrase of characters, and 脫貧 finds 脱贫.

The tokenizer is Python code registered on each connection (the package ``sqlitefts``): the monitor's writer
registers it, and Datasette registers it through the ``prepare_connection`` hook in ``db/datasette_plugin.py``.
Plain SQLite tools read every table but ``items_fts``.
"""

from __future__ import annotations

import functools
import sqlite3
import unicodedata

from monitor.core.fold import fold_char

TOKENIZER_NAME = "news_fold"


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LN"


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F") and unicodedata.category(ch)[0] == "L"


class FoldingTokenizer:
    """Yields (token, byte start, byte end): one token per CJK character, one per Latin/digit word.

    (sqlitefts only calls ``tokenize``; its ``FTS5Tokenizer`` base class adds nothing, and importing it at module
    level would load cffi in every process that merely imports the store.)
    """

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
def _tokenizer():
    """The C binding of the tokenizer, built once per process on first use (cffi): not at import."""
    from sqlitefts import fts5

    return fts5.make_fts5_tokenizer(FoldingTokenizer())


def register_search_tokenizer(conn: sqlite3.Connection) -> None:
    """Make ``tokenize="news_fold"`` available on this connection (needed to read or write items_fts)."""
    from sqlitefts import fts5

    if not fts5.register_tokenizer(conn, TOKENIZER_NAME, _tokenizer()):
        raise RuntimeError("could not register the news_fold FTS5 tokenizer on this SQLite connection")
