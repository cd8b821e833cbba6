"""Publishing the database with Datasette, read-only, in its own process.

Datasette runs as a child process (``python -m datasette serve``) so a slow query or a crash on the browsing side
never stalls the writer. It opens the file in mutable read-only mode (``mode=ro``), which is safe beside the
monitor's writes; ``-i`` (immutable) is not used because it can return wrong results on a changing file (FACTS.md).
Search in either script reaches Datasette through the ``news_monitor`` plug-in entry point installed with the package
(the file itself opens in any Datasette).

Datasette names a database after its file's stem: ``data/news.db`` is browsed at ``/news``, ``archive.db`` at
``/archive`` (``browse_url``). A port already taken makes Datasette exit at once; ``port_problem`` finds that out
before it is started, so the caller can say so in words.

Safe to expose: the file is read-only to Datasette, the host is 127.0.0.1 unless config.yaml says otherwise, every
query has a time limit (``sql_time_limit_ms``), arbitrary SQL is off unless ``datasette.allow_sql`` is true,
``/robots.txt`` disallows crawling (the plug-in), and a password is asked when ``NEWS_MONITOR_PASSWORD_HASH`` holds
a ``datasette-auth-passwords`` hash (``password_protection``).

Datasette dies with the process that started it, however that one ends (``kill -9`` included): on Linux the child
asks the kernel for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``, ``tied_to_parent``), so a restarted
service finds the port free. The metadata file Datasette reads lives in a ``news-monitor-<pid>-*`` temporary folder
(``datasette_workdir``); a folder whose process is gone (killed before it could remove it) is removed by the next
start.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from db.metadata import datasette_metadata

SETTINGS = {
    "suggest_facets": "off",        # 433 ms -> 13 ms per table page on a 1M-row table (FACTS.md)
    "facet_time_limit_ms": "500",
    "sql_time_limit_ms": "3000",
    "default_page_size": "50",
    "allow_download": "off",        # the whole file is not offered for download
    "max_csv_mb": "0",              # a streamed CSV (?_stream=on) holds every row: Datasette's 100 MB cut it short
}
PASSWORD_HASH_ENV = "NEWS_MONITOR_PASSWORD_HASH"   # a hash from datasette-auth-passwords' /-/password-tool
PASSWORD_USER_ENV = "NEWS_MONITOR_USER"            # the user name to log in with (default: reader)


log = logging.getLogger(__name__)


def write_metadata(database: Path, directory: Path, *, timezone: str = "Asia/Shanghai", allow_sql: bool = False,
                   environ=os.environ) -> Path:
    metadata = datasette_metadata(database.stem, timezone=timezone, allow_sql=allow_sql)
    protection = password_protection(environ)
    if protection:
        metadata["allow"] = protection["allow"]
        metadata["plugins"].update(protection["plugins"])
    path = directory / "datasette-metadata.json"
    path.write_text(json.dumps(metadata, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def password_protection(environ) -> dict | None:
    """With ``NEWS_MONITOR_PASSWORD_HASH`` set: every request needs that user's password, given with HTTP Basic
    authentication (the browser asks for it; a feed reader takes it as ``https://reader:PASSWORD@host/...``).

    The metadata names the variable (``$env``), never the hash, so the hash stays out of the temporary file; the
    Datasette process inherits the variable from the service."""
    if not environ.get(PASSWORD_HASH_ENV):
        return None
    user = environ.get(PASSWORD_USER_ENV) or "reader"
    return {"allow": {"id": user},
            "plugins": {"datasette-auth-passwords": {f"{user}_password_hash": {"$env": PASSWORD_HASH_ENV},
                                                     "http_basic_auth": True}}}


def datasette_command(database: Path, metadata: Path, host: str, port: int) -> list[str]:
    command = [sys.executable, "-m", "datasette", "serve", str(database), "--metadata", str(metadata),
               "--host", host, "--port", str(port)]
    for name, value in SETTINGS.items():
        command += ["--setting", name, value]
    return command


def browse_url(database: Path, host: str, port: int) -> str:
    """Where Datasette shows ``database``: its name there is the file's stem, encoded as Datasette encodes it."""
    name = database.stem
    if not _TILDE_SAFE.issuperset(name):   # letters, digits, _ and - are their own encoding: no Datasette to import
        from datasette.utils import tilde_encode

        name = tilde_encode(name)
    address = f"[{host}]" if ":" in host else host
    return f"http://{address}:{port}/{name}"


_TILDE_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def port_problem(host: str, port: int) -> str | None:
    """Why Datasette could not listen on ``host``:``port`` (found by binding a socket there), or None if it can.

    The socket is bound with SO_REUSEADDR, as Datasette's server binds, so a port left in TIME_WAIT by an earlier
    Datasette is not mistaken for a taken one.
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.create_server((host, port), family=family):
            return None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return f"port {port} on {host} is in use"
        return f"cannot listen on {host} port {port} ({error.strerror or error})"


WORKDIR_PREFIX = "news-monitor-"
_WORKDIR = re.compile(re.escape(WORKDIR_PREFIX) + r"(\d+)-")


@contextlib.contextmanager
def datasette_workdir() -> Iterator[Path]:
    """A temporary folder for Datasette's metadata, named after this process; removed at the end, and the folders
    of processes that no longer exist (a ``kill -9`` gives no chance to remove them) are removed first."""
    remove_stale_workdirs()
    with tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-") as workdir:
        yield Path(workdir)


def remove_stale_workdirs(parent: Path | None = None) -> list[Path]:
    """Remove our temporary folders (``news-monitor-<pid>-*``, ours by owner) whose process is gone."""
    parent = Path(parent or tempfile.gettempdir())
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _WORKDIR.match(entry.name)
        try:
            if not match or entry.is_symlink() or not entry.is_dir() or entry.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        if not _process_exists(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # someone else's process
        return True
    return True


_PR_SET_PDEATHSIG = 1


def tied_to_parent():
    """A ``preexec_fn`` that makes the child get SIGTERM when this process dies (Linux; None elsewhere).

    Everything is looked up before the fork: the function runs in the child, where only async-signal-safe work
    is safe. If the parent died between the fork and the ``prctl``, the child ends itself at once.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return set_death_signal


def start_tied(command: list[str]) -> subprocess.Popen:
    """``command`` as a child process that dies with this one (``tied_to_parent``)."""
    return subprocess.Popen(command, preexec_fn=tied_to_parent())


def start_datasette(database: Path, metadata: Path, host: str, port: int) -> subprocess.Popen:
    process = start_tied(datasette_command(database, metadata, host, port))
    log.info("Datasette serving %s at %s", database, browse_url(database, host, port))
    return process
