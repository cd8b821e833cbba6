"""Where does one source's CPU go? The sources of ``bench_fetch_concurrency.py``, run one at a time under cProfile.

The same child-process server (50 loopback hosts, 5-item feeds), no delay, no per-host wait; every source is run by
``Monitor.run`` in this thread, so cProfile sees all of it. Printed: the CPU time per source and the share of the
parts of the per-source path (cumulative time of each part's entry point; they do not overlap):

    .venv/bin/python bench/profile_source_cpu.py                 # 500 sources
    .venv/bin/python bench/profile_source_cpu.py --top 25        # and cProfile's own top functions

Nothing leaves the machine: the server binds loopback addresses only.
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import pstats
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fetch_concurrency import serve, source_urls  # noqa: E402

from monitor.config import load_config  # noqa: E402
from monitor.service import Monitor  # noqa: E402

# (label, file suffix, function name): the entry point of each part of the per-source path.
PARTS = [
    ("fetch (Fetcher.fetch: requests, politeness, robots.txt)", "monitor/fetch/fetcher.py", "fetch"),
    ("parse (the rss kind: read_page's decode is in fetch)", "scrapers/registry.py", "items"),
    ("prepare (normalise, topics)", "monitor/prepare/__init__.py", "prepare"),
    ("store: save_items (identity, story index, search index)", "db/store/items.py", "save_items"),
    ("store: run bookkeeping (start_run, finish_run, http cache)", "db/store/runs.py", "start_run"),
    ("", "db/store/runs.py", "finish_run"),
    ("", "db/store/runs.py", "http_cache"),
    ("", "db/store/runs.py", "remember_http_cache"),
    ("notify", "monitor/notify.py", "notify_new_items"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--per-host", type=int, default=10)
    parser.add_argument("--top", type=int, default=0, help="also print cProfile's top functions by own time")
    args = parser.parse_args()
    receive, send = multiprocessing.Pipe(duplex=False)
    counts = multiprocessing.Array("l", 2)
    child = multiprocessing.Process(target=serve, args=(args.hosts, 0.0, 600.0, send, counts), daemon=True)
    child.start()
    try:
        urls = source_urls(receive.recv(), args.per_host, "interleaved")
        with tempfile.TemporaryDirectory() as directory:
            config = {"database": "bench.db", "workers": 1,
                      "http": {"timeout": "30s", "retries": 0, "per_host_delay": "0s", "allow_private_networks": True},
                      "sources": [{"name": f"s{i}", "kind": "rss", "url": url, "every": "1h"}
                                  for i, url in enumerate(urls)]}
            path = Path(directory) / "config.yaml"
            path.write_text(yaml.safe_dump(config), encoding="utf-8")
            monitor = Monitor.open(load_config(path))
            try:
                sources = [monitor.config.source(f"s{i}") for i in range(len(urls))]
                profile = cProfile.Profile(time.process_time)   # CPU time: waits on the server do not count
                cpu = time.process_time()
                profile.enable()
                results = [monitor.run(source) for source in sources]
                profile.disable()
                cpu = time.process_time() - cpu
            finally:
                monitor.close()
    finally:
        child.terminate()
        child.join(5)
    bad = [r.line() for r in results if r.status != "ok"]
    print(f"{len(results)} sources, {len(bad)} not ok{': ' + bad[0] if bad else ''}")
    print(f"CPU {cpu:.2f} s in all, {cpu / len(results) * 1000:.2f} ms per source (under cProfile: slower than "
          "without; the shares are what counts)")
    stats = pstats.Stats(profile)
    total = sum(entry[3] for key, entry in stats.stats.items() if key[2] == "run" and key[0].endswith("service.py"))
    label = ""
    shares: dict[str, float] = {}
    for part, suffix, function in PARTS:
        label = part or label
        shares[label] = shares.get(label, 0.0) + sum(
            entry[3] for key, entry in stats.stats.items() if key[0].endswith(suffix) and key[2] == function)
    print(f"\n| part of Monitor.run ({total / len(results) * 1000:.2f} ms of CPU per source under cProfile) "
          "| share of CPU |")
    print("|---|---|")
    for label, seconds in shares.items():
        print(f"| {label} | {seconds / total:.0%} |")
    print(f"| the rest (pipeline glue, logging) | {1 - sum(shares.values()) / total:.0%} |")
    if args.top:
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
