"""Export at scale: `export` of N items (default 100,000) as a whole process, its wall time and peak memory.

The items are written straight into a database made with the store's schema (identity is not what is measured
here), then `run_monitor.py export` writes them as CSV (to a file, and to standard output) and as JSON lines. Peak
resident memory is read from the child's rusage: an export that streams stays flat whatever N is, so the figure is
also printed for N / 10 to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from db.store import Store  # noqa: E402
from monitor.core import dates  # noqa: E402


def make_database(path: Path, items: int) -> None:
    Store(path, dates.zone("Asia/Shanghai")).close()   # the schema, as the monitor makes it
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO items (title, url, url_key, title_key, publisher, published_at, first_seen_at, last_seen_at,"
            " topics, sources, summary, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scraped')",
            ((f"第{i}号 决战决胜脱贫攻坚 乡村振兴 =SUM(A{i})" if i % 50 == 0 else f"第{i}号 决战决胜脱贫攻坚 乡村振兴",
              f"http://news.example.cn/{i}.html", f"http://news.example.cn/{i}.html", f"key{i}", "人民网",
              "2020-12-15T09:10:00+08:00", "2020-12-15T09:10:00+08:00", "2020-12-15T09:10:00+08:00",
              json.dumps(["poverty"]), json.dumps(["feed"]), "摘要" * 40) for i in range(items)))
    conn.close()


def export(config: Path, *options: str) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one `export` process."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, str(PROJECT / "run_monitor.py"), "--config", str(config), "export",
                              *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)   # ru_maxrss: the child's peak, in KiB on Linux
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"export {' '.join(options)} failed with status {status}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for count in (args.items // 10, args.items):
            directory = Path(folder) / str(count)
            directory.mkdir()
            make_database(directory / "news.db", count)
            config = directory / "config.yaml"
            config.write_text("database: news.db\ntimezone: Asia/Shanghai\nsources: []\n", encoding="utf-8")
            for label, options in (("csv to a file", ("-o", str(directory / "out.csv"))),
                                   ("csv to stdout", ()), ("jsonl to stdout", ("--format", "jsonl"))):
                wall, peak = export(config, *options)
                print(f"{count:>8,} items, {label:<16}: {wall:6.2f} s ({count / wall:8,.0f} rows/s), "
                      f"peak RSS {peak:6.1f} MiB")


if __name__ == "__main__":
    main()
