"""Which process a run belongs to, and whether that process is still there.

A run is written ``running`` when it starts and closed when it ends; a process killed meanwhile leaves it
``running``, so every process closes such runs as ``interrupted`` when it opens the store. Several processes share
one file (a ``once`` from cron beside the ``run`` service), so that sweep must close only the runs of owners that
are gone: each run records its owner (``runs.owner``), ``host/pid/start/store``:

* ``host``: the machine's name; ``pid``: the process id;
* ``start``: when the kernel started that process (Linux: the boot id and the start time in clock ticks, from
  ``/proc``), so a process id reused by a later process is not taken for the owner; empty where unknown;
* ``store``: which ``Store`` of that process (a number counted from 1): a store closed while its process goes on
  (the tests, a reload) leaves runs nobody will finish.

A run of another host (a container with its own host name sharing the volume) cannot be checked from here: it is
left alone until it is ``FOREIGN_STALE`` old, far longer than any run lasts.
"""

from __future__ import annotations

import functools
import itertools
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

FOREIGN_STALE = timedelta(days=1)   # a run of another host still `running` after this long is taken as interrupted

_numbers = itertools.count(1)
_open_stores: set[int] = set()        # the numbers of this process's stores that are open
_lock = threading.Lock()


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    start: str          # "" where the platform does not tell
    store: int

    def __str__(self) -> str:
        return f"{self.host}/{self.pid}/{self.start}/{self.store}"

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        """The owner ``runs.owner`` names; None for a row written before owners were recorded, or unreadable."""
        parts = (text or "").rsplit("/", 3)
        if len(parts) != 4 or not parts[1].isdigit() or not parts[3].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2], int(parts[3]))


def open_store() -> Owner:
    """A new owner for a store this process opens; ``closed_store`` when it is closed."""
    with _lock:
        number = next(_numbers)
        _open_stores.add(number)
    host, pid, start = _this_process()
    return Owner(host, pid, start, number)


def closed_store(owner: Owner) -> None:
    with _lock:
        _open_stores.discard(owner.store)


def is_gone(owner: Owner | None, *, age: timedelta) -> bool:
    """True when nobody can finish the owner's runs any more: no owner recorded, its store closed, its process
    ended (or its id now another process's), or another host's run ``FOREIGN_STALE`` old (``age``: the run's)."""
    if owner is None:
        return True
    host, pid, start = _this_process()
    if owner.host != host:
        return age > FOREIGN_STALE
    if owner.pid == pid and owner.start == start:
        with _lock:
            return owner.store not in _open_stores
    return not _process_runs(owner.pid, owner.start)


def _this_process() -> tuple[str, int, str]:
    pid = os.getpid()       # not cached with the rest: a forked child is another owner
    return _host(), pid, _start_of(pid)


@functools.cache
def _host() -> str:
    return socket.gethostname()


@functools.cache
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None: no such process or no /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


@functools.lru_cache(maxsize=1)
def _own_start(pid: int) -> str:
    return _start_of_stat(_stat(pid))


def _start_of(pid: int) -> str:
    return _own_start(pid) if pid == os.getpid() else _start_of_stat(_stat(pid))


def _start_of_stat(fields: list[str] | None) -> str:
    if not fields or len(fields) < 20 or not _boot_id():
        return ""
    return f"{_boot_id()}:{fields[19]}"      # field 22 of stat: the start time in clock ticks since boot


def _process_runs(pid: int, start: str) -> bool:
    """Whether the process ``pid`` that started at ``start`` still runs (a zombie does not)."""
    if start:
        fields = _stat(pid)
        if fields is None:
            return False
        return fields[0] not in ("Z", "X") and _start_of_stat(fields) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # another user's process: there
        return True
    except OSError:
        return False
    return True
