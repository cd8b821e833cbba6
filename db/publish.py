"""Publishing the database with Datasette, read-only, in its own process.

Datasette runs as a child process (``python -m datasette serve``) so a slow query or a crash on the browsing side
never stalls the writer. It opens the file in mutable read-only mode (``mode=ro``), which is safe beside the
monitor's writes; ``-i`` (immutable) is not used because it can return wrong results on a changing file (FACTS.md).
The search tokenizer reaches Datasette through the ``news_monitor`` plug-in entry point installed with the package.

Datasette names a database after its file's stem: ``data/news.db`` is browsed at ``/news``, ``archive.db`` at
``/archive`` (``browse_url``). A port already taken makes Datasette exit at once; ``port_problem`` finds that out
before it is started, so the caller can say so in words.

Safe to expose: the file is read-only to Datasette, the host is 127.0.0.1 unless config.yaml says otherwise, every
query has a time limit (``sql_time_limit_ms``), arbitrary SQL is off unless ``datasette.allow_sql`` is true,
``/robots.txt`` disallows crawling (the plug-in), and a password is asked when ``NEWS_MONITOR_PASSWORD_HASH`` holds
a ``datasette-auth-passwords`` hash (``password_protection``).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

from db.metadata import datasette_metadata

SETTINGS = {
    "suggest_facets": "off",        # 433 ms -> 13 ms per table page on a 1M-row table (FACTS.md)
    "facet_time_limit_ms": "500",
    "sql_time_limit_ms": "3000",
    "default_page_size": "50",
    "allow_download": "off",        # the whole file is not offered for download
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


def start_datasette(database: Path, metadata: Path, host: str, port: int) -> subprocess.Popen:
    process = subprocess.Popen(datasette_command(database, metadata, host, port))
    log.info("Datasette serving %s at %s", database, browse_url(database, host, port))
    return process
