"""Datasette at 1,000,000 items (issue 12): every page a reader opens, served as ``serve`` serves the file (A) and by
bare Datasette (B: no metadata, no settings, no news-monitor plug-in) on a copy of the same file, alternately.

    .venv/bin/python bench/bench_datasette.py                      # medians of 5 (about 15 minutes on 2 cores)
    .venv/bin/python bench/bench_datasette.py --rounds 7 --keep /tmp/dset-bench   # keep the prepared files

The corpus is ``bench/bench_identity_scale.py``'s (built first if ``--corpus`` does not hold it: ``--build-only
--items 1000000``); it is copied, never written. That corpus holds items and stories only, so the copy is given what a
running monitor adds (``enrich``): 40 sources and their runs, about 2.85 sightings per item (the issue's 2.85 M), the
matching ``sources`` arrays, one or two of eight topics on 90% of items (``topics`` and ``item_topics``), summaries,
related-headline links, title edits, and the full search index. It is then opened with ``Store`` (the migrations run,
timed). B gets a second copy of A: bare Datasette opens it as it is (the search index uses SQLite's own tokenizer),
though without our plug-in it has no search box on items. Kept files (``--keep``) are prepared again when their
schema is not the current one.

Each round requests every page once from A and once from B (the order reversed every other round) after one warm-up
request each; the table gives medians and each page's target. A CSV export of the newest 100,000 items (``_stream=on``)
is checked to hold every row exactly once; one streamed export of the whole table is timed once.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db import search  # noqa: E402
from db.metadata import QUERIES  # noqa: E402
from db.publish import datasette_command, tied_to_parent, write_metadata  # noqa: E402
from db.schema import SCHEMA_VERSION  # noqa: E402
from db.store import Store  # noqa: E402
from monitor.core import dates  # noqa: E402

ZONE = dates.zone("Asia/Shanghai")
SOURCES = [f"{kind}-{n:02d}" for n, kind in enumerate(["rss", "html", "sitemap", "json", "related"] * 8)]
TOPICS = ["脱贫攻坚", "乡村振兴", "疫情防控", "生态环境", "教育", "医疗保障", "安全生产", "基层党建"]
RULES = ["url"] * 80 + ["title"] * 12 + ["near"] * 4 + ["truncated"] * 2 + ["seed"] * 2
SUMMARY = "记者从有关部门获悉，各地认真贯彻落实决策部署，扎实推进各项工作，取得明显成效。群众获得感、幸福感持续增强。"
BARE = "import sys; sys._called_from_test = True; from datasette.cli import cli; cli()"   # no entry-point plug-ins


def enrich(path: Path, seed: int = 12) -> None:
    """Add what a running monitor adds to the identity corpus (items and stories only), in plain SQL."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    legacy = search.uses_legacy_tokenizer(conn)      # a corpus from before schema 8: migration 8 indexes it anew
    if legacy:
        search.register_search_tokenizer(conn)
    started = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO sources (name, kind, url, schedule, topics) VALUES (?, ?, ?, 'every 15m', '[]')",
                         [(name, name.split("-")[0], f"http://{name}.example.cn/feed") for name in SOURCES])
        run_rows = [(run, SOURCES[run % len(SOURCES)], f"2020-12-{1 + run % 28:02d}T08:00:00.000+08:00")
                    for run in range(1, 100_001)]
        conn.executemany("INSERT INTO runs (id, source, started_at, finished_at, status, items_seen, items_new, "
                         "elapsed_ms) VALUES (?, ?, ?, ?, 'ok', 30, 10, 1200)",
                         [(run, source, when, when) for run, source, when in run_rows])
    items = conn.execute("SELECT id, first_seen_at, title FROM items ORDER BY id").fetchall()
    sightings, updates, topic_rows = [], [], []
    sighting_id = 0
    for item_id, first_seen, title in items:
        count = 1 + min(int(rng.expovariate(1 / 2.3)), 30)     # 2.85 sightings an item on average
        seen_by = [rng.choice(SOURCES) for _ in range(count)]
        for n, source in enumerate(seen_by):
            sighting_id += 1
            rule = "new" if n == 0 else rng.choice(RULES)
            sightings.append((sighting_id, item_id, source, 1 + sighting_id % 100_000,
                              first_seen[:11] + f"{8 + min(n, 15):02d}" + first_seen[13:], title, rule))
        topics = sorted(rng.sample(TOPICS, rng.choice((1, 1, 2)))) if rng.random() < 0.9 else []
        topic_rows.extend((item_id, topic, topic) for topic in topics)
        updates.append((_json(sorted(set(seen_by))), _json(topics), SUMMARY[: rng.randint(30, len(SUMMARY))], item_id))
        if len(sightings) >= 200_000 or item_id == items[-1][0]:
            with conn:
                conn.executemany("INSERT INTO sightings (id, item_id, source, run_id, seen_at, title, matched_by) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?)", sightings)
                conn.executemany("UPDATE items SET sources = ?, topics = ?, summary = ? WHERE id = ?", updates)
                conn.executemany("INSERT INTO item_topics (item_id, topic, matched) VALUES (?, ?, ?)", topic_rows)
            sightings, updates, topic_rows = [], [], []
    last = items[-1][0]
    with conn:
        conn.executemany("INSERT OR IGNORE INTO links (from_item_id, to_item_id, depth, run_id, first_seen_at) "
                         "VALUES (?, ?, ?, ?, '2020-12-15T08:00:00+08:00')",
                         [(rng.randint(1, last), rng.randint(1, last), rng.choice((1, 1, 2)), rng.randint(1, 100_000))
                          for _ in range(50_000)])
        conn.executemany("INSERT INTO title_history (item_id, title, title_key, replaced_at, new_title, source) "
                         "SELECT id, title || '（旧）', title_key, last_seen_at, title, 'rss-00' FROM items "
                         "WHERE id = ?",
                         [(rng.randint(1, last),) for _ in range(5_000)])
    print(f"  enriched: {sighting_id:,} sightings ({time.perf_counter() - started:.0f} s)", flush=True)
    if not legacy:
        started = time.perf_counter()
        with conn:
            search.rebuild_search_index(conn)
        print(f"  search index rebuilt ({time.perf_counter() - started:.0f} s)", flush=True)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _json(values: list[str]) -> str:
    return "[" + ",".join(f'"{v}"' for v in values) + "]"


def prepare(corpus: Path, work: Path) -> tuple[Path, Path, float]:
    """A (served as ``serve`` serves it) and B (without the search index) in ``work``; the migration's seconds."""
    a, b = work / "a" / "news.db", work / "b" / "news.db"
    a.parent.mkdir(parents=True, exist_ok=True)
    b.parent.mkdir(parents=True, exist_ok=True)
    if a.exists() and _schema_version(a) != SCHEMA_VERSION:      # kept by a run of an older release
        for stale in (a, b):
            stale.unlink(missing_ok=True)
    if not a.exists():
        shutil.copyfile(corpus, work / "enriching.db")
        enrich(work / "enriching.db")
        started = time.perf_counter()
        Store(work / "enriching.db", ZONE).close()            # the migrations, as at the monitor's start
        migrated = time.perf_counter() - started
        (work / "migration-seconds").write_text(f"{migrated:.1f}")
        os.replace(work / "enriching.db", a)
    migrated = float((work / "migration-seconds").read_text())
    if not b.exists():
        shutil.copyfile(a, work / "b" / "copying.db")
        os.replace(work / "b" / "copying.db", b)
    return a, b, migrated


def _schema_version(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, command: list[str], port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                                        preexec_fn=tied_to_parent())     # ends with the bench, however it ends
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/-/versions.json", timeout=5).read()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"Datasette did not start: {' '.join(command)}")

    def get(self, path: str) -> tuple[float, bytes, int]:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(self.base + path, timeout=300) as response:
                body, status = response.read(), response.status
        except urllib.error.HTTPError as error:
            body, status = error.read(), error.code
        return time.perf_counter() - started, body, status

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def pages(a: Path) -> list[tuple[str, str, str | None, str]]:
    """(label, path on A, path on B or None, target) for every page of the table."""
    conn = sqlite3.connect(f"file:{a}?mode=ro", uri=True)
    story = conn.execute("SELECT id FROM stories WHERE items > 2 ORDER BY id DESC LIMIT 1").fetchone()[0]
    linked = conn.execute("SELECT from_item_id, to_item_id FROM links LIMIT 1").fetchone()
    conn.close()
    q = urllib.parse.quote
    html, json_, facet, query = "≤ 100 ms", "≤ 50 ms", "≤ 150 ms", "≤ 200 ms"
    rows = [
        ("items, HTML", "/news/items", "/news/items", html),
        ("items, JSON", "/news/items.json", "/news/items.json", json_),
        ("items, JSON, _facet=publisher", "/news/items.json?_facet=publisher", "/news/items.json?_facet=publisher",
         facet),
        ("items, JSON, _facet_array=topics", "/news/items.json?_facet_array=topics",
         "/news/items.json?_facet_array=topics", facet),
        ("items?publisher=人民日报, HTML", f"/news/items?publisher={q('人民日报')}",
         f"/news/items?publisher={q('人民日报')}", html),
        ("sightings, HTML", "/news/sightings", "/news/sightings", html),
        ("stories, HTML", "/news/stories", "/news/stories", html),
        ("news desk (database page), HTML", "/news", "/news", html),
    ]
    params = {"item_id": str(linked[0]), "story_id": str(story), "rule": "truncated", "topic": ""}
    for name, spec in [*QUERIES.items(), ("new_items", {"sql": ":topic"})]:
        needed = {p for p in params if f":{p}" in spec["sql"]}
        args = urllib.parse.urlencode({p: params[p] for p in sorted(needed)})
        if name == "related_from":
            args = f"item_id={linked[1]}"
        path = f"/news/{name}.json?_shape=array" + (f"&{args}" if args else "")
        rows.append((f"canned query {name}" + (f" ({args})" if args else ""), path, None, query))
    for word in ("脱贫", "脫貧", "乡村振兴"):
        rows.append((f"search _search={word}, HTML", f"/news/items?_search={q(word)}", None, html))
    return rows


def newest_bound(a: Path, count: int) -> str:
    conn = sqlite3.connect(f"file:{a}?mode=ro", uri=True)
    bound = conn.execute("SELECT published_at FROM items ORDER BY published_at DESC LIMIT 1 OFFSET ?",
                         (count - 1,)).fetchone()[0]
    conn.close()
    return bound


def csv_ids(body: bytes) -> list[str]:
    reader = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    header = next(reader)
    column = header.index("id") if "id" in header else header.index("rowid")
    return [row[column] for row in reader]


def facet_timed_out(body: bytes) -> bool:
    """Whether Datasette left out a facet that ran past ``facet_time_limit_ms`` (JSON or HTML)."""
    text = body.decode("utf-8", "replace").replace(" ", "")
    return ('"facets_timed_out":[' in text and '"facets_timed_out":[]' not in text) or "Thesefacetstimedout" in text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "corpus-1m.db",
                        help="bench_identity_scale.py's corpus (read only)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="prepare the files here and keep them for the next run")
    parser.add_argument("--csv-items", type=int, default=100_000)
    parser.add_argument("--no-full-export", action="store_true", help="skip the one export of every row")
    parser.add_argument("--verbose", action="store_true", help="each request's time as it is measured")
    args = parser.parse_args()
    if not args.corpus.exists():
        subprocess.run([sys.executable, "bench/bench_identity_scale.py", "--build-only", "--items", "1000000",
                        "--db", str(args.corpus)], cwd=ROOT, check=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="news-monitor-dset-"))
    try:
        return run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work: Path) -> int:
    started = time.perf_counter()
    a, b, migrated = prepare(args.corpus, work)
    conn = sqlite3.connect(f"file:{a}?mode=ro", uri=True)
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("items", "sightings", "item_topics", "stories", "runs", "links")}
    conn.close()
    port_a, port_b = free_port(), free_port()
    metadata = write_metadata(a, a.parent)
    server_a = Server(datasette_command(a, metadata, "127.0.0.1", port_a), port_a)
    server_b = Server([sys.executable, "-c", BARE, "serve", str(b), "--host", "127.0.0.1", "--port", str(port_b)],
                      port_b)
    try:
        table = pages(a)
        bound = newest_bound(a, args.csv_items)
        csv_path = f"/news/items.csv?_stream=on&published_at__gte={urllib.parse.quote(bound)}"
        table.append((f"CSV _stream=on, newest {args.csv_items:,} items", csv_path, csv_path, "≥ 25,000 rows/s"))
        times: dict[tuple[str, str], list[float]] = {}
        notes: dict[tuple[str, str], str] = {}
        for server in (server_a, server_b):            # warm-up: the file's pages into the OS cache
            for _, path_a, path_b, _ in table:
                path = path_a if server is server_a else path_b
                if path:
                    server.get(path)
        for round_ in range(args.rounds):
            order = [("A", server_a), ("B", server_b)]
            for name, server in order if round_ % 2 == 0 else order[::-1]:
                for label, path_a, path_b, _ in table:
                    path = path_a if name == "A" else path_b
                    if not path:
                        continue
                    took, body, status = server.get(path)
                    if args.verbose:
                        print(f"  round {round_ + 1} {name} {took * 1000:8,.0f} ms  {label}", file=sys.stderr,
                              flush=True)
                    times.setdefault((label, name), []).append(took)
                    if status != 200:
                        notes[(label, name)] = f"HTTP {status}"
                    elif label.startswith("CSV"):
                        ids = csv_ids(body)
                        notes[(label, name)] = f"{len(ids):,} rows, {len(set(ids)):,} distinct"
                        times[(label, name)][-1] = len(ids) / took if took else 0
                    elif facet_timed_out(body):
                        notes[(label, name)] = "a facet timed out"
        full = None
        if not args.no_full_export:
            took, body, status = server_a.get("/news/items.csv?_stream=on")
            ids = csv_ids(body)
            full = (len(ids), len(set(ids)), took, status)
    finally:
        server_a.stop()
        server_b.stop()

    print(f"\n{platform.node()}: {os.cpu_count()} CPUs, {platform.platform()}, Python {sys.version.split()[0]}, "
          f"SQLite {sqlite3.sqlite_version}; load average {os.getloadavg()[0]:.2f}; medians of {args.rounds}; "
          f"{time.perf_counter() - started:.0f} s")
    print("corpus: " + ", ".join(f"{n:,} {t}" for t, n in counts.items())
          + f"; migrations on opening it: {migrated:.1f} s")
    print("reproduce: .venv/bin/python bench/bench_identity_scale.py --build-only --items 1000000 && "
          f".venv/bin/python bench/bench_datasette.py --rounds {args.rounds}\n")
    print("| page | A: as `serve` serves it | B: bare Datasette | target |\n|---|---|---|---|")
    for label, _, path_b, target in table:
        cells = []
        for name in ("A", "B"):
            values = times.get((label, name))
            if not values:
                reason = ("no canned queries without the metadata" if label.startswith("canned")
                          else "no search box without the plug-in")
                cells.append(f"n/a ({reason})" if path_b is None and name == "B" else "n/a")
                continue
            figure = statistics.median(values)
            text = f"{figure:,.0f} rows/s" if label.startswith("CSV") else f"{figure * 1000:,.0f} ms"
            note = notes.get((label, name))
            cells.append(f"{text} ({note})" if note else text)
        print(f"| {label} | {cells[0]} | {cells[1]} | {target} |")
    if full:
        rows, distinct, took, status = full
        print(f"\nA, every row (/news/items.csv?_stream=on): HTTP {status}, {rows:,} rows ({distinct:,} distinct) "
              f"in {took:.0f} s ({rows / took:,.0f} rows/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
