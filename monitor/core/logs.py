"""Logging set-up: plain text or one JSON object per line (``--log-format json``), and the run being logged.

``in_run`` marks the source (and, once known, the run id) that the current thread works for; every JSON line logged
meanwhile carries them, so it can be filtered by source or run without parsing its message. (The formatter reads
them, not a handler filter: a handler may be swapped, as tqdm does while a progress bar is shown.) APScheduler's
own INFO lines (``Adding job tentatively``, ``Running job ...``, one or more per run) are kept at WARNING unless
``-v``: they drowned the service log; so are apprise's (``Notifying 1 service(s)``), whose outcome we log.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

FORMATS = ("text", "json")
_CHATTY = ("apscheduler", "apprise")   # libraries whose INFO lines say nothing the monitor's own lines do not
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_current: contextvars.ContextVar[dict | None] = contextvars.ContextVar("news_monitor_run", default=None)


@contextlib.contextmanager
def in_run(source: str):
    """Records logged inside carry ``source`` (and ``run`` once ``note_run`` names it)."""
    token = _current.set({"source": source})
    try:
        yield
    finally:
        _current.reset(token)


def note_run(run_id: int) -> None:
    """The run id of the run ``in_run`` marks, once the store has given it."""
    context = _current.get()
    if context is not None:
        context["run"] = run_id


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, and source/run when known (from
    ``extra=`` or the thread's ``in_run``; a handler formats in the thread that logged)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _current.get() or {}
        for key in ("source", "run"):
            value = getattr(record, key, None) or context.get(key)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(*, verbose: bool = False, fmt: str = "text") -> None:
    """A handler on standard error in ``fmt``; DEBUG with ``verbose``, else INFO (APScheduler's, apprise's at
    WARNING).

    As ``logging.basicConfig``: where the process already has handlers of its own (pytest's, a host program's),
    they are left alone and none is added; a second call replaces the handler an earlier one added.
    """
    for chatty in _CHATTY:
        logging.getLogger(chatty).setLevel(logging.NOTSET if verbose else logging.WARNING)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "news_monitor", False)]:
        root.removeHandler(old)
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.news_monitor = True
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
