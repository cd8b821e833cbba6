"""How close do 500 slow sources on 50 hosts come to the ideal wall time?

A child process serves RSS feeds on 50 loopback addresses (127.0.0.2 ... 127.0.0.51: 50 hosts to the fetcher),
every response (robots.txt included) delayed by 200 ms. The parent writes a config with 500 ``rss`` sources (10
per host) to a temporary directory and runs them once through the real pipeline (``Monitor.run_once``:
fetcher, politeness, robots.txt, scraper, store), ``workers`` at a time. It prints the wall time, the ideal
(every response's delay divided by the number of workers, or one host's serial time if that is longer) and their
ratio. The issue asks for a ratio of at most 1.5.

    .venv/bin/python bench/bench_fetch_concurrency.py                       # the issue's case
    .venv/bin/python bench/bench_fetch_concurrency.py --order grouped       # sources listed host by host
    .venv/bin/python bench/bench_fetch_concurrency.py --mode fetcher        # the Fetcher alone, no pipeline

Everything binds loopback addresses only; the server process stops itself after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import load_config  # noqa: E402
from monitor.fetch import Fetcher  # noqa: E402
from monitor.fetch.settings import HttpSettings  # noqa: E402
from monitor.service import Monitor  # noqa: E402


def feed(host_index: int, source_index: int) -> bytes:
    items = "".join(
        f"<item><title>新闻 {host_index}-{source_index}-{n} 脱贫攻坚</title>"
        f"<link>http://news{host_index}.example.cn/{source_index}/{n}.html</link>"
        f"<pubDate>Tue, 15 Dec 2020 0{n}:00:00 +0800</pubDate></item>"
        for n in range(5))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed {host_index}'
            f"</title>{items}</channel></rss>").encode()


def serve(hosts: int, delay: float, max_seconds: float, ready, counts) -> None:
    """The child process: one threaded server per loopback address, each response delayed by ``delay``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            time.sleep(delay)
            host_index = self.server.host_index
            if self.path == "/robots.txt":
                body, status, kind = b"User-agent: *\nDisallow: /private/\n", 200, "robots"
            else:
                source_index = int(self.path.rsplit("/", 1)[1].split(".")[0])
                body, status, kind = feed(host_index, source_index), 200, "feed"
            with counts.get_lock():
                counts[0 if kind == "robots" else 1] += 1
            self.send_response(status)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    servers = []
    for index in range(hosts):
        server = ThreadingHTTPServer((f"127.0.0.{index + 2}", 0), Handler)
        server.daemon_threads = True
        server.request_queue_size = 256
        server.host_index = index
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        servers.append(server)
    ready.send([(s.server_address[0], s.server_port) for s in servers])
    time.sleep(max_seconds)   # self-stopping: the parent terminates us sooner


def source_urls(addresses: list[tuple[str, int]], per_host: int, order: str) -> list[str]:
    pairs = [(h, s) for s in range(per_host) for h in range(len(addresses))]   # interleaved: host by host in turn
    if order == "grouped":
        pairs.sort()
    return [f"http://{addresses[h][0]}:{addresses[h][1]}/feed/{h * per_host + s}.xml" for h, s in pairs]


def run_pipeline(urls: list[str], workers: int, per_host_delay: float, timeout: float) -> tuple[float, Counter]:
    with tempfile.TemporaryDirectory() as directory:
        config = {
            "database": "bench.db",
            "workers": workers,
            "http": {"timeout": f"{timeout:g}s", "retries": 0, "per_host_delay": f"{per_host_delay:g}s",
                     "allow_private_networks": True},
            "sources": [{"name": f"s{i}", "kind": "rss", "url": url, "every": "1h"} for i, url in enumerate(urls)],
        }
        path = Path(directory) / "config.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        monitor = Monitor.open(load_config(path))
        try:
            started, cpu_started = time.monotonic(), time.process_time()
            results = monitor.run_once()
            wall = time.monotonic() - started
            print(f"CPU time of the monitor process: {time.process_time() - cpu_started:.2f} s "
                  f"({(time.process_time() - cpu_started) / len(urls) * 1000:.1f} ms per source)")
        finally:
            monitor.close()
    return wall, Counter(r.status if r.status != "error" else f"error:{r.error_class}" for r in results)


def run_fetcher(urls: list[str], workers: int, per_host_delay: float, timeout: float) -> tuple[float, Counter]:
    settings = HttpSettings(timeout=timeout, retries=0, per_host_delay=per_host_delay, allow_private_networks=True)
    statuses: Counter = Counter()

    def one(url: str) -> str:
        try:
            fetcher.fetch(url)
            return "ok"
        except Exception as exc:   # the benchmark reports failures, it does not stop on them
            return f"error:{getattr(exc, 'error_class', type(exc).__name__)}"

    with Fetcher(settings) as fetcher, ThreadPoolExecutor(max_workers=workers) as pool:
        started = time.monotonic()
        statuses.update(pool.map(one, urls))
        wall = time.monotonic() - started
    return wall, statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--per-host", type=int, default=10, help="sources per host")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds the server waits before each answer")
    parser.add_argument("--workers", type=int, default=32, help="config.workers: sources run at once")
    parser.add_argument("--per-host-delay", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--order", choices=("interleaved", "grouped"), default="interleaved",
                        help="interleaved: consecutive sources are on different hosts; grouped: host by host")
    parser.add_argument("--mode", choices=("pipeline", "fetcher"), default="pipeline")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="the server process stops after this")
    args = parser.parse_args()
    if not 1 <= args.hosts <= 250:
        parser.error("--hosts must be between 1 and 250 (addresses 127.0.0.2 ... 127.0.0.251)")
    logging.basicConfig(level=logging.WARNING)

    receive, send = multiprocessing.Pipe(duplex=False)
    counts = multiprocessing.Array("l", 2)
    child = multiprocessing.Process(target=serve, args=(args.hosts, args.delay, args.max_seconds, send, counts),
                                    daemon=True)
    child.start()
    try:
        if not receive.poll(30):
            print("the server process did not start", file=sys.stderr)
            return 1
        addresses = receive.recv()
        urls = source_urls(addresses, args.per_host, args.order)
        run = run_pipeline if args.mode == "pipeline" else run_fetcher
        wall, statuses = run(urls, args.workers, args.per_host_delay, args.timeout)
    finally:
        child.terminate()
        child.join(5)

    robots, feeds = counts[0], counts[1]
    answered = robots + feeds
    per_host_serial = (args.per_host + 1) * max(args.delay, args.per_host_delay)
    ideal = max(answered * args.delay / args.workers, per_host_serial)
    print(f"{len(urls)} sources on {args.hosts} hosts, {args.order}, {args.mode}, workers={args.workers}, "
          f"server delay {args.delay * 1000:.0f} ms, per_host_delay {args.per_host_delay:g} s")
    print(f"responses: {feeds} feeds + {robots} robots.txt; results: {dict(statuses)}")
    print(f"wall time {wall:.2f} s; ideal {ideal:.2f} s "
          f"({answered} x {args.delay:g} s / {args.workers} workers, or one host's {per_host_serial:.1f} s)")
    if ideal > 0:
        print(f"ratio {wall / ideal:.2f}x (aim: <= 1.5x)")
    print(f"per source: {wall / len(urls) * 1000:.1f} ms of wall time")
    return 0 if statuses.get("ok", 0) == len(urls) else 1


if __name__ == "__main__":
    sys.exit(main())
