"""Soak: the service against 50 changing local sources for a while; does it lose, duplicate or leak?

A thread of this process serves 50 RSS feeds on 127.0.0.1. Every fetch of a feed adds ``--new`` items to it (unique
Chinese titles and links) and shows its latest 30, so an item stays listed for several runs; ``--faults`` of the
answers are HTTP 503 (a source failing now and then). ``run_monitor.py run --no-datasette`` runs as a child process
with the 50 sources every ``--every`` seconds; its resident memory (VmRSS) is sampled every 5 s. After
``--minutes`` it is stopped with SIGTERM and the database is read. Printed: runs by status, errors by class, items
served and stored, duplicates (rows sharing a ``url_key``: must be 0), lost rows (served links not stored: must be
0), and memory at start, after the warm-up and at the end, with a line per minute.

``--cycles N`` runs until the feeds have been fetched 50 * N times instead (memory over time: ``--every 1`` makes a
poll cycle of the 50 feeds about a second); the warm-up is then ``--warmup-cycles`` cycles and a line is printed
per tenth of the run. ``--probe FILE`` starts the service through ``bench/memory_probe.py`` and asks it where its
memory is (a JSON line in FILE) at the start, after the warm-up and at every line printed; ``--tracemalloc`` adds
the Python allocations that grew, by source line (slower: not for the memory figures themselves).

    .venv/bin/python bench/soak.py                  # 10 minutes
    .venv/bin/python bench/soak.py --minutes 2 --warmup 0.5
    .venv/bin/python bench/soak.py --cycles 1000 --every 1 --shown 10
    .venv/bin/python bench/soak.py --probe /tmp/probe.jsonl --tracemalloc --env MALLOC_ARENA_MAX=2

Nothing leaves the machine: the server binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
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

    def __init__(self, new_per_fetch: int, faults: float, shown: int = SHOWN):
        self.new_per_fetch, self.faults, self.shown = new_per_fetch, faults, shown
        self.items: list[list[tuple[str, str]]] = [[] for _ in range(SOURCES)]
        self.served: set[str] = set()
        self.lock = threading.Lock()
        self.random = random.Random(14)
        self.answers = Counter()
        self.fetches = [0] * SOURCES

    def cycles(self) -> int:
        """Poll cycles completed: fetches of the 50 feeds, divided by 50 (a feed whose runs lag behind is made up
        for by the others)."""
        with self.lock:
            return sum(self.fetches) // SOURCES

    def body(self, source: int) -> bytes | None:
        with self.lock:
            self.fetches[source] += 1
            if self.random.random() < self.faults:
                self.answers["503"] += 1
                return None
            listed = self.items[source]
            for _ in range(self.new_per_fetch):
                n = len(listed)
                title = "".join(self.random.choice(CHARS) for _ in range(self.random.randint(14, 30)))
                listed.append((title, f"http://soak.example/s{source}/{n}.html"))
            shown = listed[-self.shown:]
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
    parser.add_argument("--cycles", type=int, help="run until every feed was fetched this many times instead")
    parser.add_argument("--warmup-cycles", type=int, default=50, help="with --cycles: cycles of warm-up (50)")
    parser.add_argument("--every", type=int, default=10, help="seconds between runs of a source (default 10)")
    parser.add_argument("--new", type=int, default=1, help="new items per fetch of a feed (default 1)")
    parser.add_argument("--faults", type=float, default=0.02, help="share of answers that are HTTP 503")
    parser.add_argument("--shown", type=int, default=SHOWN, help=f"items a feed lists, its latest (default {SHOWN})")
    parser.add_argument("--probe", type=Path, help="JSON lines from bench/memory_probe.py in the service")
    parser.add_argument("--tracemalloc", action="store_true", help="with --probe: trace Python allocations")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="set in the service's environment (MALLOC_ARENA_MAX=2, ...)")
    parser.add_argument("--project", type=Path, default=PROJECT)
    args = parser.parse_args()
    feeds = Feeds(args.new, args.faults, args.shown)
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
        command = [sys.executable, str(args.project / "run_monitor.py")]
        env = dict(os.environ, **dict(pair.split("=", 1) for pair in args.env))
        if args.probe:
            args.probe.unlink(missing_ok=True)
            env["NEWS_MONITOR_PROBE"] = str(args.probe)
            command = [sys.executable, *(["-X", "tracemalloc"] if args.tracemalloc else []),
                       str(PROJECT / "bench" / "memory_probe.py")]
        with open(scratch / "service.log", "wb") as log:
            child = subprocess.Popen([*command, "--config", str(scratch / "config.yaml"), "run", "--no-datasette"],
                                     stdout=log, stderr=subprocess.STDOUT, cwd=args.project, env=env)
        started = time.monotonic()
        samples: list[tuple[float, float, int]] = []     # (seconds, RSS MB, cycles done)
        probes = Probes(child, args)
        try:
            while not done(args, feeds, started):
                time.sleep(5 if args.cycles is None else 1)   # the first sample once the service has started
                if child.poll() is not None:
                    raise SystemExit(f"the service ended early:\n{(scratch / 'service.log').read_text()[-3000:]}")
                memory = rss_mb(child.pid)
                if memory is not None:
                    samples.append((time.monotonic() - started, memory, feeds.cycles()))
                    probes.maybe(samples[-1])
            probes.ask()
        finally:
            child.send_signal(signal.SIGTERM)
            child.wait(timeout=120)
        server.shutdown()
        report(args, feeds, samples, scratch, child.returncode)
        probes.report()


def done(args, feeds: Feeds, started: float) -> bool:
    if args.cycles is not None:
        return feeds.cycles() >= args.cycles
    return time.monotonic() - started >= args.minutes * 60


class Probes:
    """SIGUSR1 to the service (``--probe``) at its first sample, after the warm-up, and at every reported line."""

    def __init__(self, child: subprocess.Popen, args):
        self.child, self.args = child, args
        self.next = 0.0

    def ask(self) -> None:
        if self.args.probe:
            self.child.send_signal(signal.SIGUSR1)
            time.sleep(3 if self.args.tracemalloc else 0.5)    # the snapshot takes a while

    def maybe(self, sample: tuple[float, float, int]) -> None:
        seconds, _, cycles = sample
        position = cycles if self.args.cycles is not None else seconds / 60
        if self.args.probe and position >= self.next:
            self.ask()
            if self.args.cycles is not None:
                step = max(1, self.args.cycles // 10)
                self.next = self.args.warmup_cycles if position < self.args.warmup_cycles else position + step
            else:
                self.next = self.args.warmup if position < self.args.warmup else int(position) + 1

    def report(self) -> None:
        if not self.args.probe or not self.args.probe.exists():
            return
        lines = [json.loads(line) for line in self.args.probe.read_text().splitlines()]
        print(f"probe ({self.args.probe}): " + "; ".join(
            f"{line['t']:.0f}s rss {line['rss_mb']:.1f} malloc used {line.get('heap_in_use_mb', 0):.1f} "
            f"free {line.get('heap_free_mb', 0):.1f} (arenas {line.get('arenas', 0)}), pymalloc used "
            f"{line.get('pymalloc_used_mb', 0):.1f} of {line.get('pymalloc_arenas_mb', 0):.1f}, sqlite "
            f"{line.get('sqlite_mb', 0):.1f}"
            + (f" traced {line['traced_mb']:.1f}" if "traced_mb" in line else "")
            + (f" trimmed {line['rss_after_trim_mb']:.1f}" if "rss_after_trim_mb" in line else "")
            for line in lines) + " MB")
        print("  (one line per probe; sqlite is included in malloc used)")
        print(f"  caches at the end: {lines[-1]['caches']}; windows: {lines[-1]['windows']}")
        for where, kib, count in lines[-1].get("grew", [])[:15]:
            print(f"  grew {kib:+8,} KiB {count:+8,} blocks  {where}")


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

    if args.cycles is None:
        def at(minute: float) -> float:
            return min(samples, key=lambda sample: abs(sample[0] - minute * 60))[1]
        warm_label, warm, marks = f"{args.warmup:g} min", at(args.warmup), range(0, int(args.minutes) + 1)
        length = f"{args.minutes:g} min (warm-up {args.warmup:g} min)"
    else:
        def at(cycle: float) -> float:
            return next((sample[1] for sample in samples if sample[2] >= cycle), samples[-1][1])
        step = max(1, args.cycles // 10)
        warm_label, warm = f"{args.warmup_cycles} cycles", at(args.warmup_cycles)
        marks = range(0, args.cycles + 1, step)
        length = (f"{args.cycles} poll cycles in {samples[-1][0] / 60:.1f} min (warm-up {args.warmup_cycles} cycles, "
                  f"{next((s[0] for s in samples if s[2] >= args.warmup_cycles), 0) / 60:.1f} min)")

    start, end = samples[0][1], samples[-1][1]
    print(f"soak: {SOURCES} sources every {args.every} s listing their latest {args.shown}, {args.new} new item(s) "
          f"per fetch, {args.faults:.0%} "
          f"answers 503, {length}" + (f"; service environment {' '.join(args.env)}" if args.env else ""))
    print(f"service exit status: {status}; tracebacks in its log: {tracebacks}; integrity_check: {integrity}")
    print(f"runs: {sum(runs.values())} ({', '.join(f'{k} {v}' for k, v in sorted(runs.items()))})")
    print(f"errors by class: {dict(sorted(errors.items())) or 'none'}; answers served: {dict(feeds.answers)}")
    print(f"items: {len(feeds.served)} served, {items} stored; duplicates: {duplicates}; lost rows: {lost}")
    print(f"memory (RSS): start ({samples[0][0]:.0f} s) {start:.1f} MB, after warm-up ({warm_label}) {warm:.1f} MB, "
          f"end {end:.1f} MB; growth after warm-up {end - warm:+.1f} MB, {100 * (end - warm) / warm:+.1f}%")
    unit = "m" if args.cycles is None else " cycles"
    print(("per minute: " if args.cycles is None else "per tenth: ")
          + ", ".join(f"{mark}{unit} {at(mark):.0f}" for mark in marks) + " MB")

if __name__ == "__main__":
    main()
