"""Progress bars for long work in a terminal (``once`` over many sources, ``seed`` of a large file, ``export`` to a
file), and nothing at all when standard error is not a terminal (cron, systemd, a pipe, a test).

tqdm, imported only when a bar is shown: it is the lighter of the two libraries the issue allowed (about 3 ms to
import beside the service's own imports, against 15 ms for rich). While a bar is shown, log lines are written
above it (tqdm's logging redirect) instead of through it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator


class Progress:
    """What the work reports to; does nothing when no bar is shown."""

    def __init__(self, bar=None):
        self._bar = bar

    def advance(self, count: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def at(self, done: int, total: int | None = None) -> None:
        """``done`` of ``total`` (a total learned only once the work has started, as a seed file's size)."""
        if self._bar is not None:
            if total is not None and self._bar.total != total:
                self._bar.total = total
            self._bar.update(done - self._bar.n)

    def counting(self, rows: Iterable) -> Iterator:
        """``rows`` passed through, each counted."""
        for row in rows:
            self.advance()
            yield row


def in_terminal() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress(description: str, *, total: int | None = None, unit: str = "item"):
    """A bar on standard error while the block runs, if that is a terminal; yields a ``Progress`` either way."""
    if not in_terminal():
        yield Progress()
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    # A terminal that reports no width (a bare pseudo-terminal) would get no bar: give it 80 columns, 24 rows.
    sized = _width() > 0
    with logging_redirect_tqdm(), tqdm(total=total, desc=description, unit=unit, file=sys.stderr,
                                       dynamic_ncols=sized, ncols=None if sized else 80,
                                       nrows=None if sized else 24) as bar:
        yield Progress(bar)


def _width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except OSError:
        return 0
