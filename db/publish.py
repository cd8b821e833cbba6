"""Publishing the database with Datasette, read-only, in its own process.

Datasette runs as a child process (``python -m datasette serve``) so a slow query or a crash on the browsing side
never stalls the writer. It opens the file in mutable read-only mode (``mode=ro``), which is safe beside the
monitor's writes; ``-i`` (immutable) is not used because it can return wrong results on a changing file (FACTS.md).
The search tokenizer reaches Datasette through the ``news_monitor`` plug-in entry point installed with the package.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from db.metadata import datasette_metadata

SETTINGS = {
    "suggest_facets": "off",        # 433 ms -> 13 ms per table page on a 1M-row table (FACTS.md)
    "facet_time_limit_ms": "500",
    "sql_time_limit_ms": "3000",
    "default_page_size": "50",
}


def write_metadata(database: Path, directory: Path) -> Path:
    path = directory / "datasette-metadata.json"
    path.write_text(json.dumps(datasette_metadata(database.stem), ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def datasette_command(database: Path, metadata: Path, host: str, port: int) -> list[str]:
    command = [sys.executable, "-m", "datasette", "serve", str(database), "--metadata", str(metadata),
               "--host", host, "--port", str(port)]
    for name, value in SETTINGS.items():
        command += ["--setting", name, value]
    return command


def start_datasette(database: Path, metadata: Path, host: str, port: int) -> subprocess.Popen:
    return subprocess.Popen(datasette_command(database, metadata, host, port))
