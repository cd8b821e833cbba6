"""``backup PATH`` (issue 13): an online copy through SQLite's backup API while another process writes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time

from db.search import register_search_tokenizer
from tests.conftest import PROJECT_DIR
from tests.helpers import write_config

# A writer process: the real store, saving a batch of new items every few milliseconds until told to stop.
WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from db.store import Store
    from monitor.core import dates
    from monitor.core.model import RawItem
    from monitor.prepare.normalise import normalise

    zone = dates.zone("Asia/Shanghai")
    store = Store(sys.argv[1], zone)
    stop, started = Path(sys.argv[2]), Path(sys.argv[3])
    batch = 0
    while not stop.exists():
        items = [normalise(RawItem(title=f"第{batch}批新闻第{i}条：乡村振兴进展", url=f"http://example.org/{batch}/{i}"),
                           zone, origin="scraped") for i in range(20)]
        store.save_items(items, source="writer", run_id=None)
        batch += 1
        if batch == 5:
            started.touch()
        time.sleep(0.005)
    store.close()
    print(batch)
""")


def command(config, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120)


def items_in(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM items").fetchone()[0]
    finally:
        conn.close()


def test_backup_while_a_writer_is_active_gives_consistent_copies(tmp_path):
    config = write_config(tmp_path, [])
    database = tmp_path / "news.db"
    stop, started = tmp_path / "stop", tmp_path / "started"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(database), str(stop), str(started)],
                              cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), writer.stderr.read() if writer.poll() is not None else "the writer did not start"
        copies = []
        for n in range(3):
            before = items_in(database)
            done = command(config, "backup", str(tmp_path / f"copy{n}.db"))
            after = items_in(database)
            assert done.returncode == 0, done.stderr
            copies.append((tmp_path / f"copy{n}.db", before, after, done.stdout))
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    counts = []
    for path, before, after, stdout in copies:
        conn = sqlite3.connect(path)
        register_search_tokenizer(conn)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"    # one self-contained file
            count = conn.execute("SELECT count(*) FROM items").fetchone()[0]
            sightings = conn.execute("SELECT count(*) FROM sightings").fetchone()[0]
            assert conn.execute("SELECT count(*) FROM items_fts").fetchone()[0] == count
        finally:
            conn.close()
        assert before <= count <= after and count % 20 == 0 and sightings == count   # whole batches only
        assert f"{path}: a copy of {database}, {count} items" in stdout
        counts.append(count)
    assert counts == sorted(counts) and counts[-1] > counts[0]      # the writer went on between the copies
    assert not list(tmp_path.glob("*.partial"))


def test_backup_refuses_the_live_database_and_a_missing_directory(tmp_path):
    config = write_config(tmp_path, [])
    database = tmp_path / "news.db"
    done = command(config, "backup", str(tmp_path / "copy.db"))
    assert done.returncode == 1 and "no database at" in done.stderr
    command(config, "once")
    size = database.stat().st_size
    for target in (database, tmp_path, tmp_path / "news.db-wal"):       # the directory: a file of the same name
        done = command(config, "backup", str(target))
        assert done.returncode == 1 and "is the live database" in done.stderr, done.stderr
    assert database.stat().st_size == size and items_in(database) == 0
    done = command(config, "backup", str(tmp_path / "nowhere" / "copy.db"))
    assert done.returncode == 1 and f"its directory {tmp_path / 'nowhere'} does not exist" in done.stderr


def test_backup_into_a_directory_replaces_an_older_copy(tmp_path):
    config = write_config(tmp_path, [])
    command(config, "once")
    (tmp_path / "backups").mkdir()
    old = tmp_path / "backups" / "news.db"
    old.write_bytes(b"an older copy")
    done = command(config, "backup", str(tmp_path / "backups"))
    assert done.returncode == 0, done.stderr
    assert old.read_bytes().startswith(b"SQLite format 3\x00")
