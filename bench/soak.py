"""Soak: the service against 50 changing local sources for a while; does it lose, duplicate or leak?

A thread of this process serves 50 RSS feeds on 127.0.0.1. Every fetch of a feed adds ``--new`` items to it (unique
Chinese titles and links) and shows its latest 30, so an item stays listed for several runs; ``--faults`` of the
answers are HTTP 503 (a source failing now and then). ``run_monitor.py run --no-datasette`` runs as a child process
with the 50 sources every ``--every`` seconds; its resident memory (VmRSS) is sampled every 5 s. After
``--minutes`` it is stopped with SIGTERM and the database is read. Printed: runs by status, errors by class, items
served and stored, duplicates (rows sharing a ``url_key``: must be 0), lost rows (served links not stored: must be
0), and memory at start, after the warm-up and at the end, with a line per minute.

    .venv/bin/python bench/soak.py                  # 10 minutes
    .venv/bin/python bench/soak.py --minutes 2 --warmup 0.5

Nothing leaves the machine: the server binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

PROJECT = Path(__file__).resolve().parent.parent
SOURCES = 50
SHOWN = 30               # items a feed lists: its latest
CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
         "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性"
         "好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第"
         "向道命此变条只没结解问意建月公无")


class Feeds:
    """The 50 changing feeds, and every link they ever served."""

    def __init__(self, new_per_fetch: int, faults: float):
        self.new_per_fetch, self.faults = new_per_fetch, faults
        self.items: list[list[tuple[str, str]]] = [[] for _ in range(SOURCES)]
        self.served: set[str] = set()
        self.lock = threading.Lock()
        self.random = random.Random(14)
        self.answers = Counter()

    def body(self, source: int) -> bytes | None:
        with self.lock:
            if self.random.random() < self.faults:
                self.answers["503"] += 1
                return None
            listed = self.items[source]
            for _ in range(self.new_per_fetch):
                n = len(listed)
                title = "".join(self.random.choice(CHARS) for _ in range(self.random.randint(14, 30)))
                listed.append((title, f"http://soak.example/s{source}/{n}.html"))
            shown = listed[-SHOWN:]
            self.served.update(link for _, link in shown)
            self.answers["200"] += 1
        entries = "".join(f"<item><title>{escape(title)}</title><link>{link}</link></item>" for title, link in shown)
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>soak {source}</title>'
                f"<link>http://soak.example/</link><description>soak</description>{entries}</channel></rss>"
                ).encode()


def serve(feeds: Feeds) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = feeds.body(int(self.path[2:-4])) if self.path.startswith("/s") else b""
            if body is None or not self.path.startswith("/s"):
                self.send_response(503 if body is None else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="minutes before the warm-up figure (default 2)")
    parser.add_argument("--every", type=int, default=10, help="seconds between runs of a source (default 10)")
    parser.add_argument("--new", type=int, default=1, help="new items per fetch of a feed (default 1)")
    parser.add_argument("--faults", type=float, default=0.02, help="share of answers that are HTTP 503")
    parser.add_argument("--project", type=Path, default=PROJECT)
    args = parser.parse_args()
    feeds = Feeds(args.new, args.faults)
    server = serve(feeds)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        config = {
            "database": str(scratch / "news.db"), "timezone": "Asia/Shanghai", "topics": {}, "workers": 8,
            "http": {"timeout": "10s", "retries": 0, "per_host_delay": 0, "allow_private_networks": True},
            "sources": [{"name": f"s{i}", "kind": "rss", "url": f"http://127.0.0.1:{server.server_port}/s{i}.xml",
                         "every": f"{args.every}s"} for i in range(SOURCES)],
        }
        (scratch / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        with open(scratch / "service.log", "wb") as log:
            child = subprocess.Popen([sys.executable, str(args.project / "run_monitor.py"), "--config",
                                      str(scratch / "config.yaml"), "run", "--no-datasette"],
                                     stdout=log, stderr=subprocess.STDOUT, cwd=args.project)
        started = time.monotonic()
        samples: list[tuple[float, float]] = []
        try:
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(5)                       # the first sample once the service has started
                if child.poll() is not None:
                    raise SystemExit(f"the service ended early:\n{(scratch / 'service.log').read_text()[-3000:]}")
                memory = rss_mb(child.pid)
                if memory is not None:
                    samples.append((time.monotonic() - started, memory))
        finally:
            child.send_signal(signal.SIGTERM)
            child.wait(timeout=120)
        server.shutdown()
        report(args, feeds, samples, scratch, child.returncode)


def report(args, feeds: Feeds, samples: list[tuple[float, float]], scratch: Path, status: int) -> None:
    conn = sqlite3.connect(scratch / "news.db")
    runs = Counter(dict(conn.execute("SELECT status, count(*) FROM runs GROUP BY status")))
    errors = Counter(dict(conn.execute(
        "SELECT error_class, count(*) FROM runs WHERE status = 'error' GROUP BY error_class")))
    items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    duplicates = conn.execute("SELECT count(*) FROM (SELECT url_key FROM items WHERE url_key IS NOT NULL "
                              "GROUP BY url_key HAVING count(*) > 1)").fetchone()[0]
    stored = {url for (url,) in conn.execute("SELECT url FROM items")}
    lost = len(feeds.served - stored)
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    tracebacks = (scratch / "service.log").read_text(errors="replace").count("Traceback")

    def at(minute: float) -> float:
        return min(samples, key=lambda sample: abs(sample[0] - minute * 60))[1]

    start, warm, end = samples[0][1], at(args.warmup), samples[-1][1]
    print(f"soak: {SOURCES} sources every {args.every} s, {args.new} new item(s) per fetch, {args.faults:.0%} "
          f"answers 503, {args.minutes:g} min (warm-up {args.warmup:g} min)")
    print(f"service exit status: {status}; tracebacks in its log: {tracebacks}; integrity_check: {integrity}")
    print(f"runs: {sum(runs.values())} ({', '.join(f'{k} {v}' for k, v in sorted(runs.items()))})")
    print(f"errors by class: {dict(sorted(errors.items())) or 'none'}; answers served: {dict(feeds.answers)}")
    print(f"items: {len(feeds.served)} served, {items} stored; duplicates: {duplicates}; lost rows: {lost}")
    print(f"memory (RSS): start ({samples[0][0]:.0f} s) {start:.1f} MB, after warm-up {warm:.1f} MB, end {end:.1f} MB; "
          f"growth after warm-up {100 * (end - warm) / warm:+.1f}%")
    print("per minute: " + ", ".join(f"{minute}m {at(minute):.0f}"
                                     for minute in range(0, int(args.minutes) + 1)) + " MB")


if __name__ == "__main__":
    main()
