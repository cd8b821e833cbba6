"""The performance bench of issue 12: one command, its own data, one table; each figure beside its floor or peer.

    .venv/bin/python bench/run.py            # every part, medians of 7
    .venv/bin/python bench/run.py --quick    # medians of 5, smaller ingest batches, fewer poll cycles

What it measures (whole processes from the command line unless said otherwise; every figure of one row measured
alternately in the same run, A B F A B F ..., the order reversed on every other round):

* **poll**: a 500-item Chinese RSS feed from a local server (a thread of this process on 127.0.0.1) through
  ``run_monitor.py once`` with a temporary config: the first poll (empty database), a re-poll whose summaries
  changed, an unchanged poll answered 304, and identical bytes from a URL without validators. Beside it the peer
  ``feed-to-sqlite`` (feedparser + sqlite-utils into one table; installed by this script into its own virtual
  environment under the temp directory, never into the project's) and the floor ``bench/floor_poll.py`` (lxml and
  ``executemany`` in a bare process).
* **start-up**: ``--help``, ``check``, ``status`` and a ``once`` of an empty feed beside ``python -c pass``; and the
  total of ``python -X importtime`` for ``check`` (the top-level imports' cumulative times).
* **ingest**: ``Store.save_items`` in batches of 1,000 (one transaction each) of new items, then of the same items
  again (re-seen), with the full schema and search index, in this process; beside the floor: ``executemany`` of the
  same rows into one plain table per batch.

* **fetch**, **identity**, **memory** (``bench/run_scale.py``: each runs its own bench script as a child and reads
  its figures): 500 sources behind 200 ms at 8, 16 and 32 workers (``bench_fetch_concurrency.py``); 1,000 new items
  against 1,000,000 stored (``bench_identity_scale.py``; its corpus is built once, ~2.5 minutes, and reused); the
  service's memory over poll cycles of 50 changing feeds (``soak.py --cycles``: 1,000 cycles take ~18 minutes here,
  more than the whole command may take, so it runs 200 cycles, 100 with ``--quick``; ``--cycles 1000`` for the
  issue's figure).
* **datasette** (``bench_datasette.py``): the 1,000,000-item corpus (the identity part's) served by ``serve`` and
  by bare ``datasette``, medians of 5 at most, its own table printed as it runs. Its two prepared files (the corpus
  given sightings, topics, runs and links: ~2.5 minutes) are kept in the temp directory and reused by the next run
  while their schema is current.

The seconds each part took are printed above the table. A first run builds the corpus and prepares the Datasette
files (about 12 minutes in all here); later runs reuse them.

The project's modules are compiled to bytecode first, as ``pip install`` does and as Python does itself on a first
run: with ``PYTHONDONTWRITEBYTECODE=1`` in the environment and no ``__pycache__``, every measured process would
compile them from source (about 70 modules, 60-75 ms of each start on the development machine).
``--no-bytecode`` measures that case: it removes the project's ``__pycache__`` directories instead (without
``PYTHONDONTWRITEBYTECODE`` the first measured process writes them again).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import run_scale  # bench/run_scale.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PEER_PACKAGE = "feed-to-sqlite==0.6.2"
ITEMS = 500

# ---------------------------------------------------------------------------------------------------------------
# Data: a Chinese feed of 500 items, version 2 with every summary changed.

PLACES = ("北京 上海 广东 四川 河南 湖北 贵州 云南 甘肃 江西 南阳 扬州 黔东南 大凉山").split()  # noqa: SIM905
ORGANS = ["市委", "省政府", "县政府", "国务院", "人民银行", "教育部", "卫健委", "农业农村部"]
VERBS = ["召开", "出台", "印发", "部署", "推进", "启动", "发布", "开展"]
SUBJECTS = ("脱贫攻坚 乡村振兴 精准扶贫 疫情防控 稳就业 新基建 生态保护 垃圾分类 数字经济 冬季供暖").split()  # noqa: SIM905
EVENTS = ["工作会议", "实施方案", "专项行动", "新闻发布会", "调研座谈会", "推进会", "三年规划", "指导意见"]
COMMON = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
          "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本"
          "去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比"
          "或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
          "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做"
          "必战先回则任取据处理府研质")

CHANNEL = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>基准新闻</title>"
           "<link>http://127.0.0.1/</link><description>bench</description>\n{items}</channel></rss>\n")
ITEM = ("<item><title>{title}</title><link>http://news.example.cn/2020/12/{n}.html</link>"
        "<guid>http://news.example.cn/2020/12/{n}.html</guid><pubDate>{date}</pubDate>"
        "<description>{summary}</description></item>\n")


def headlines(count: int, seed: int = 12) -> list[str]:
    """Distinct Chinese headlines: templated ones (place, organ, verb, subject, event) and free-form ones."""
    rng = random.Random(seed)
    titles: list[str] = []
    seen: set[str] = set()
    while len(titles) < count:
        if rng.random() < 0.5:
            title = (rng.choice(PLACES) + rng.choice(ORGANS) + rng.choice(VERBS) + rng.choice(SUBJECTS)
                     + rng.choice(EVENTS) + " " + "".join(rng.choices(COMMON, k=rng.randint(4, 10))))
        else:
            title = "".join(rng.choices(COMMON, k=rng.randint(12, 24)))
        if title not in seen:
            seen.add(title)
            titles.append(title)
    return titles


def feed(version: int, count: int = ITEMS) -> bytes:
    rng = random.Random(100 + version)
    start = datetime(2020, 12, 15, 8, tzinfo=timezone(timedelta(hours=8)))
    items = []
    for n, title in enumerate(headlines(count)):
        summary = "".join(rng.choices(COMMON, k=60))
        items.append(ITEM.format(title=title, n=n, date=format_datetime(start - timedelta(minutes=7 * n)),
                                 summary=summary))
    return CHANNEL.format(items="".join(items)).encode("utf-8")


class FeedServer:
    """A local server: /feed.xml (ETag, 304 on If-None-Match), /plain.xml (no validators), /empty.xml."""

    def __init__(self):
        self.bodies = {1: feed(1), 2: feed(2)}
        self.empty = CHANNEL.format(items="").encode("utf-8")
        self.version = 1
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?")[0]
                etag = f'"v{server.version}"'
                if path == "/feed.xml" and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                body = {"/feed.xml": server.bodies[server.version], "/plain.xml": server.bodies[server.version],
                        "/empty.xml": server.empty}.get(path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                if path == "/feed.xml":
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


# ---------------------------------------------------------------------------------------------------------------
# Processes and timing.

def timed(command: list[str], **kwargs) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, **kwargs)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return took


def alternate(rounds: int, contenders: dict[str, tuple]) -> dict[str, list[float]]:
    """Run each contender's (prepare, command) once per round, in turn; the order reversed every other round."""
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            prepare, command = contenders[name]
            if prepare:
                prepare()
            times[name].append(timed(command))
    return times


def config(directory: Path, url: str, name: str) -> Path:
    """A config like a user's: one rss source, one topic, a fast HTTP profile for the local server."""
    path = directory / f"{name}.yaml"
    path.write_text(
        f"database: {name}.db\ntimezone: Asia/Shanghai\n"
        "topics:\n  poverty:\n    any: [脫貧攻堅, 精準扶貧, 鄉村振興]\n"
        "http:\n  timeout: 10s\n  retries: 0\n  per_host_delay: 0\n  allow_private_networks: true\n"
        "  respect_robots: false\n"
        f"sources:\n  - name: bench\n    kind: rss\n    url: {url}\n    every: 1h\n    max_items: 1000\n",
        encoding="utf-8")
    return path


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def restore(saved: Path, path: Path) -> None:
    remove_database(path)
    shutil.copyfile(saved, path)


def peer_command(directory: Path) -> Path:
    """feed-to-sqlite in its own virtual environment (made once, reused from $NEWS_MONITOR_BENCH_PEER)."""
    venv = Path(os.environ.get("NEWS_MONITOR_BENCH_PEER", Path(tempfile.gettempdir()) / "feed-to-sqlite-venv"))
    executable = venv / "bin" / "feed-to-sqlite"
    if not executable.exists():
        print(f"installing {PEER_PACKAGE} into {venv} (bench only; not a project dependency)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", PEER_PACKAGE], check=True)
    return executable


# ---------------------------------------------------------------------------------------------------------------
# The parts of the table.

Row = tuple[str, str, str, str]   # figure, ours, floor or peer, target


def ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def poll_rows(work: Path, server: FeedServer, rounds: int) -> list[Row]:
    peer = str(peer_command(work))
    ours_cfg = config(work, f"{server.base}/feed.xml", "ours")
    plain_cfg = config(work, f"{server.base}/plain.xml", "plain")
    ours_db, plain_db, peer_db, floor_db = (work / "ours.db", work / "plain.db", work / "peer.db", work / "floor.db")
    once = [PYTHON, "run_monitor.py", "--config", str(ours_cfg), "once"]
    floor = [PYTHON, "bench/floor_poll.py", str(floor_db), f"{server.base}/feed.xml"]
    peer_run = [peer, "--table", "items", str(peer_db), f"{server.base}/plain.xml"]
    rows: list[Row] = []

    server.version = 1
    first = alternate(rounds, {
        "ours": (lambda: remove_database(ours_db), once),
        "peer": (lambda: remove_database(peer_db), peer_run),
        "floor": (lambda: remove_database(floor_db), floor),
    })
    for path, table in ((ours_db, "items"), (peer_db, "items"), (floor_db, "items")):
        count = sqlite3.connect(path).execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if count != ITEMS:
            raise SystemExit(f"{path} holds {count} items after the first poll, not {ITEMS}")
    saved = {name: work / f"{name}-v1.saved" for name in ("ours", "peer", "floor", "plain")}
    for name, path in (("ours", ours_db), ("peer", peer_db), ("floor", floor_db)):
        shutil.copyfile(path, saved[name])
    timed([PYTHON, "run_monitor.py", "--config", str(plain_cfg), "once"], env=None)
    shutil.copyfile(plain_db, saved["plain"])
    rows += poll_figures("first poll (500 new items)", first, "≤ 0.6× peer")

    server.version = 2
    repoll = alternate(rounds, {
        "ours": (lambda: restore(saved["ours"], ours_db), once),
        "peer": (lambda: restore(saved["peer"], peer_db), peer_run),
        "floor": (lambda: restore(saved["floor"], floor_db), floor),
    })
    rows += poll_figures("re-poll (500 summaries changed)", repoll, "≤ 0.6× peer")

    server.version = 1
    restore(saved["ours"], ours_db)
    unchanged = alternate(rounds, {
        "ours": (None, once),
        "peer": (None, peer_run),
        "floor": (None, [*floor, "--etag", '"v1"']),
    })
    rows += poll_figures("unchanged, 304", unchanged, "≤ 300 ms")
    restore(saved["plain"], plain_db)
    identical = alternate(rounds, {
        "ours": (None, [PYTHON, "run_monitor.py", "--config", str(plain_cfg), "once"]),
        "peer": (None, peer_run),
        "floor": (None, [PYTHON, "bench/floor_poll.py", str(floor_db), f"{server.base}/plain.xml"]),
    })
    rows += poll_figures("unchanged, identical bytes, no validators", identical, "≤ 300 ms")
    return rows


def poll_figures(label: str, times: dict[str, list[float]], target: str) -> list[Row]:
    ours, peer, floor = ms(times["ours"]), ms(times["peer"]), ms(times["floor"])
    return [(f"poll: {label}", f"{ours:,.0f} ms",
             f"peer {peer:,.0f} ms ({ours / peer:.2f}×); floor {floor:,.0f} ms ({ours / floor:.1f}×)", target)]


def startup_rows(work: Path, server: FeedServer, rounds: int) -> list[Row]:
    empty_cfg = config(work, f"{server.base}/empty.xml", "empty")
    timed([PYTHON, "run_monitor.py", "--config", str(empty_cfg), "once"])   # the database exists, as for a user
    run = [PYTHON, "run_monitor.py", "--config", str(empty_cfg)]
    times = alternate(rounds, {
        "python -c pass": (None, [PYTHON, "-c", "pass"]),
        "--help": (None, [*run, "--help"]),
        "check": (None, [*run, "check"]),
        "status": (None, [*run, "status"]),
        "once (empty feed)": (None, [*run, "once"]),
    })
    bare = ms(times.pop("python -c pass"))
    rows: list[Row] = [(f"start-up: {name}", f"{ms(values):,.0f} ms", f"python -c pass {bare:,.0f} ms", "≤ 300 ms")
                       for name, values in times.items()]
    totals = []
    for _ in range(rounds):
        done = subprocess.run([PYTHON, "-X", "importtime", *run[1:], "check"],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        totals.append(sum(int(line.split("|")[1]) for line in done.stderr.splitlines()
                          if line.startswith("import time:") and "|" in line
                          and not line.split("|")[2].startswith("  ") and line.split("|")[1].strip().isdigit()))
    total = f"{statistics.median(totals) / 1000:,.0f} ms"
    rows.append(("start-up: -X importtime, check (sum of top-level imports)", total, "", "≤ 150 ms"))
    return rows


def ingest_rows(work: Path, rounds: int, batches: int, batch: int = 1000) -> list[Row]:
    sys.path.insert(0, str(ROOT))
    from db.store import Store
    from monitor.core import dates
    from monitor.core.model import RawItem
    from monitor.prepare import TopicRule, prepare  # noqa: F401

    zone = dates.zone("Asia/Shanghai")
    titles = headlines(batch * batches, seed=99)
    start = datetime(2020, 12, 15, 8, tzinfo=zone)
    raw = [RawItem(title=title, url=f"http://news.example.cn/a/{n}.html", summary=title * 2,
                   published=start - timedelta(minutes=n), publisher="新华网")
           for n, title in enumerate(titles)]
    items = prepare(raw, zone=zone, rules=()).items
    chunks = [items[i:i + batch] for i in range(0, len(items), batch)]
    rows_of = [[(it.url, it.title, it.summary, it.published_at) for it in chunk] for chunk in chunks]
    new, seen, floor_new, floor_seen = [], [], [], []

    def ours(index: int) -> None:
        path = work / f"ingest-{index}.db"
        remove_database(path)
        store = Store(path, zone)
        started = time.perf_counter()
        for chunk in chunks:
            store.save_items(chunk, source="bench", run_id=None)
        new.append(len(items) / (time.perf_counter() - started))
        started = time.perf_counter()
        for chunk in chunks:
            store.save_items(chunk, source="bench", run_id=None)
        seen.append(len(items) / (time.perf_counter() - started))
        store.close()

    def floor(index: int) -> None:
        path = work / f"ingest-floor-{index}.db"
        remove_database(path)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE items (url TEXT PRIMARY KEY, title TEXT, summary TEXT, published TEXT)")
        sql = ("INSERT INTO items VALUES (?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET title = excluded.title, "
               "summary = excluded.summary, published = excluded.published")
        for results in (floor_new, floor_seen):
            started = time.perf_counter()
            for chunk_rows in rows_of:
                with conn:
                    conn.executemany(sql, chunk_rows)
            results.append(len(items) / (time.perf_counter() - started))
        conn.close()

    for round_ in range(rounds):
        for run in (ours, floor) if round_ % 2 == 0 else (floor, ours):
            run(round_)
    n = len(items)
    return [
        (f"ingest: save_items, new ({n:,} items, batches of {batch:,})", f"{statistics.median(new):,.0f} items/s",
         f"floor executemany {statistics.median(floor_new):,.0f} items/s", "≥ 20,000 items/s"),
        (f"ingest: save_items, re-seen ({n:,} items)", f"{statistics.median(seen):,.0f} items/s",
         f"floor upsert {statistics.median(floor_seen):,.0f} items/s", "≥ 50,000 items/s"),
    ]


PARTS = ("poll", "startup", "ingest", "fetch", "identity", "memory", "datasette")


DATASETTE_ROUNDS = 5


def datasette_part(args, rounds: int) -> list[Row]:
    """``bench_datasette.py`` with its files kept in the temp directory; the identity part's corpus, when it holds
    1,000,000 items, is the one it starts from (built once for both)."""
    kept = Path(tempfile.gettempdir()) / "news-monitor-datasette-bench"
    corpus = [] if args.identity_items != 1_000_000 else ["--corpus", str(run_scale.IDENTITY_CORPUS)]
    subprocess.run([PYTHON, "bench/bench_datasette.py", "--rounds", str(rounds), "--keep", str(kept), *corpus],
                   cwd=ROOT, check=True)
    return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="medians of 5 and 5,000 ingested items")
    parser.add_argument("--rounds", type=int, help="rounds of every figure (default 7, --quick 5)")
    parser.add_argument("--only", choices=PARTS, action="append", help="only these parts (repeatable)")
    parser.add_argument("--identity-items", type=int, default=1_000_000,
                        help="stored items for the identity part (default 1,000,000; the corpus is built once)")
    parser.add_argument("--cycles", type=int,
                        help="poll cycles for the memory part (default 200, --quick 100; the issue's figure: 1000)")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="remove the project's bytecode first instead of compiling it")
    args = parser.parse_args()
    if args.no_bytecode:
        for package in ("monitor", "db", "scrapers", "."):
            for cache in (ROOT / package).glob("**/__pycache__" if package != "." else "__pycache__"):
                shutil.rmtree(cache)
    else:
        subprocess.run([PYTHON, "-m", "compileall", "-q", "monitor", "db", "scrapers", "run_monitor.py"], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
    rounds = args.rounds or (5 if args.quick else 7)
    parts = args.only or list(PARTS)
    started = time.perf_counter()
    rows: list[Row] = []
    took: dict[str, float] = {}

    def timed(part: str, measure) -> None:
        if part in parts:
            begun = time.perf_counter()
            rows.extend(measure())
            took[part] = time.perf_counter() - begun

    with tempfile.TemporaryDirectory(prefix="news-monitor-bench-") as directory:
        work = Path(directory)
        server = FeedServer()
        timed("poll", lambda: poll_rows(work, server, rounds))
        timed("startup", lambda: startup_rows(work, server, rounds))
        timed("ingest", lambda: ingest_rows(work, rounds, batches=5 if args.quick else 20))
        server.httpd.shutdown()
    timed("fetch", lambda: run_scale.fetch_rows(rounds))
    timed("identity", lambda: run_scale.identity_rows(args.identity_items))
    timed("memory", lambda: run_scale.memory_rows(args.cycles or (100 if args.quick else 200)))
    # Its own table (a 1,000,000-item corpus served two ways, printed as it runs), in medians of 5 at most: bare
    # Datasette takes about 1.7 s a page there, and the whole command is to stay within 15 minutes.
    timed("datasette", lambda: datasette_part(args, min(rounds, DATASETTE_ROUNDS)))
    bytecode = "not compiled first" if args.no_bytecode else "compiled first"
    print(f"\nmedians of {rounds}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; "
          f"load average {os.getloadavg()[0]:.2f}; {time.perf_counter() - started:.0f} s; project bytecode "
          f"{bytecode} (PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})\n")
    print("seconds per part: " + ", ".join(f"{part} {seconds:.0f}" for part, seconds in took.items()) + "\n")
    print("| figure | news-monitor | floor or peer (same run) | target |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
