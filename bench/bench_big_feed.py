"""How long, and how much memory, does one run of a 100,000-item feed take?

The feed (RSS 2.0, unique Chinese titles and links, ~20 MB) is written to a temporary directory and served from a
thread on 127.0.0.1; a config with one `rss` source (``http.max_bytes: 30MiB``, ``max_items`` raised to hold
them all) runs ``run_monitor.py once`` as a child process. Printed: the wall time, the child's peak resident
memory (``ru_maxrss``), the items stored and the feed's size.

    .venv/bin/python bench/bench_big_feed.py                     # 100,000 items
    .venv/bin/python bench/bench_big_feed.py --items 20000
    .venv/bin/python bench/bench_big_feed.py --project /path/to/an/older/checkout    # its code, same feed

Nothing leaves the machine: the server binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

PROJECT = Path(__file__).resolve().parent.parent
CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
         "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本"
         "去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比"
         "或但质气第向道命此变条只没结解问意建月公无")


def write_feed(path: Path, count: int) -> None:
    rnd = random.Random(14)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>big</title>'
                  "<link>http://127.0.0.1/</link><description>bench</description>\n")
        for i in range(count):
            title = "".join(rnd.choice(CHARS) for _ in range(rnd.randint(14, 30)))
            out.write(f"<item><title>{escape(title)} {i}</title><link>http://news.example/a/{i}.html</link>"
                      f"<description>{escape(title)}</description>"
                      f"<pubDate>Tue, 15 Dec 2020 {i % 24:02d}:{i % 60:02d}:00 +0800</pubDate></item>\n")
        out.write("</channel></rss>\n")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--project", type=Path, default=PROJECT, help="the checkout whose run_monitor.py runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        write_feed(scratch / "feed.xml", args.items)
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(scratch)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        config = {
            "database": str(scratch / "news.db"), "timezone": "Asia/Shanghai", "topics": {},
            "http": {"timeout": "10m", "retries": 0, "per_host_delay": 0, "allow_private_networks": True,
                     "max_bytes": "30MiB"},
            "sources": [{"name": "big", "kind": "rss", "url": f"http://127.0.0.1:{server.server_port}/feed.xml",
                         "every": "1h", "max_items": args.items}],
        }
        (scratch / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, str(args.project / "run_monitor.py"), "--config",
                                  str(scratch / "config.yaml"), "once"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, cwd=args.project)
        output = child.stdout.read().decode()
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.monotonic() - started
        server.shutdown()
        stored = sqlite3.connect(scratch / "news.db").execute("SELECT count(*) FROM items").fetchone()[0]
        size = (scratch / "feed.xml").stat().st_size
        print(f"project:   {args.project}")
        print(f"feed:      {args.items} items, {size / 2**20:.1f} MiB")
        print(f"result:    {output.strip()} (exit status {os.waitstatus_to_exitcode(status)})")
        print(f"stored:    {stored} items")
        print(f"wall time: {elapsed:.1f} s")
        print(f"peak RSS:  {usage.ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
