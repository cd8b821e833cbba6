"""A full disk (issue 14, point 2) is a run error of its own class, ``disk_full``, naming the database and what to
free, not a bug: the runs after it go on, the first one with room stores what was missed, and the file stays intact.

Two ways to fill the disk. ``PRAGMA max_page_count`` caps the database of the store's own connection: SQLite answers
exactly as on a full disk (``SQLITE_FULL``, "database or disk is full"), needs no privilege and runs everywhere, so it
is the case CI always runs (through the real pipeline, fetcher and local server). And where the machine lets an
unprivileged user namespace mount a 2 MiB tmpfs (``unshare -rm``), the real ``run_monitor.py once`` on a really full
file system; that case is skipped, with the reason, where it cannot mount.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import PROJECT_DIR
from tests.fetch_server import answer
from tests.helpers import write_config
from tests.reliability.dbcheck import database_state
from tests.reliability.feeds import feed

RSS = {"Content-Type": "application/rss+xml"}


def test_a_full_database_is_a_disk_full_run_and_the_next_run_with_room_stores_everything(server, monitor_for):
    server.routes["/feed.xml"] = answer(200, feed(range(0, 100)), RSS)
    source = {"name": "feed", "kind": "rss", "url": server.url("/feed.xml"), "every": "1h", "max_items": 5000}
    monitor = monitor_for([source])
    first = monitor.run(monitor.config.source("feed"))
    assert first.status == "ok" and first.items_new == 100
    store = monitor.store
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages + 2}")    # the disk is full: two pages left

    server.routes["/feed.xml"] = answer(200, feed(range(0, 3000)), RSS)
    full = monitor.run(monitor.config.source("feed"))
    assert full.status == "error" and full.error_class == "disk_full"
    assert str(monitor.config.database) in full.error and "free space" in full.error
    again = monitor.run(monitor.config.source("feed"))               # the service goes on; still full
    assert again.error_class == "disk_full"
    runs = store.conn.execute("SELECT status, error_class FROM runs ORDER BY id").fetchall()
    assert [tuple(run) for run in runs] == [("ok", None), ("error", "disk_full"), ("error", "disk_full")]
    failures = store.conn.execute("SELECT consecutive_failures FROM sources WHERE name = 'feed'").fetchone()[0]
    assert failures == 0             # the database failed, not the source: no backoff for it
    state = database_state(monitor.config.database)
    assert state["integrity"] == "ok" and state["counts"]["items"] == 100    # the batch rolled back whole

    store.conn.execute("PRAGMA max_page_count = 1073741823")       # space is back
    room = monitor.run(monitor.config.source("feed"))
    assert room.status == "ok" and room.items_new == 2900
    state = database_state(monitor.config.database)
    assert state["integrity"] == "ok" and state["search"] == "ok" and state["duplicate_url_keys"] == 0
    assert state["counts"]["items"] == 3000


# The case on a real full file system, run as one script inside a user namespace that mounts a 32 MiB tmpfs (the
# mount, and the database on it, go away with the namespace: the script reports what the test asserts).
_FULL_DISK_SCRIPT = textwrap.dedent("""
    import json, os, subprocess, sys
    sys.path.insert(0, {project!r})
    from tests.reliability.dbcheck import database_state
    disk, config, once = {disk!r}, {config!r}, [sys.executable, {entry!r}, "--config", {config!r}, "once"]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", disk], check=True)
    report = {{"first": subprocess.run(once, capture_output=True, text=True).__dict__}}
    filler = os.path.join(disk, "filler")

    def fill(leave: int) -> None:   # fill the disk to the last byte, then free ``leave`` bytes
        with open(filler, "ab", buffering=0) as out:
            try:
                while True:
                    out.write(b"x" * 4096)
            except OSError:
                pass
        os.truncate(filler, max(0, os.path.getsize(filler) - leave))

    fill(leave=256 * 1024)      # room to open the database, not to store 3,000 more items: full during the run
    report["full"] = subprocess.run(once, capture_output=True, text=True).__dict__
    fill(leave=0)               # full before the process starts
    report["no_room"] = subprocess.run(once, capture_output=True, text=True).__dict__
    os.remove(filler)
    report["full_state"] = database_state(os.path.join(disk, "news.db"))   # read once there is room to open it
    report["room"] = subprocess.run(once, capture_output=True, text=True).__dict__
    report["room_state"] = database_state(os.path.join(disk, "news.db"))
    print(json.dumps({{k: v if "state" in k else {{f: v[f] for f in ("returncode", "stdout", "stderr")}}
                      for k, v in report.items()}}))
""")


def _can_mount_in_a_user_namespace() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt && echo mounted"],
                           capture_output=True, text=True)
    return probe.stdout.strip() == "mounted"


def test_once_on_a_really_full_file_system(tmp_path, server):
    if not _can_mount_in_a_user_namespace():
        pytest.skip("this machine does not let an unprivileged user namespace mount a tmpfs (unshare -rm); the "
                    "max_page_count case above covers the behaviour")
    disk = tmp_path / "disk"
    disk.mkdir()
    server.routes["/feed.xml"] = answer(200, feed(range(0, 200)), RSS)
    config = write_config(tmp_path, [
        {"name": "feed", "kind": "rss", "url": server.url("/feed.xml"), "every": "1h", "max_items": 10000},
        {"name": "more", "kind": "rss", "url": server.url("/more.xml"), "every": "1h", "max_items": 10000}],
        database=str(disk / "news.db"))
    script = _FULL_DISK_SCRIPT.format(project=str(PROJECT_DIR), disk=str(disk), config=str(config),
                                      entry=str(PROJECT_DIR / "run_monitor.py"))
    fill = tmp_path / "full_disk.py"
    fill.write_text(script, encoding="utf-8")

    # The first once stores the small feed only; "more" lists 3,000 items from the second request on (disk full).
    server.routes["/more.xml"] = _empty_then(feed(range(200, 3200)))
    ran = subprocess.run(["unshare", "-rm", sys.executable, str(fill)], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout.strip().splitlines()[-1])
    assert report["first"]["returncode"] == 0, report["first"]["stderr"]
    full = report["full"]
    assert full["returncode"] == 1, full["stderr"]
    assert "more: error (disk_full): the disk holding the database" in full["stdout"], full["stderr"]
    assert "internal" not in full["stdout"] + full["stderr"] and "Traceback" not in full["stderr"]
    no_room = report["no_room"]
    assert no_room["returncode"] == 1 and "Traceback" not in no_room["stderr"]
    assert f"error: the disk holding the database {disk / 'news.db'} is full" in no_room["stderr"], no_room["stderr"]
    assert report["full_state"]["integrity"] == "ok" and report["full_state"]["counts"]["items"] == 200
    assert report["room"]["returncode"] == 0, report["room"]["stdout"] + report["room"]["stderr"]
    assert report["room_state"]["integrity"] == "ok" and report["room_state"]["search"] == "ok"
    assert report["room_state"]["runs_left_running"] == 0
    assert report["room_state"]["counts"]["items"] == 3200 and report["room_state"]["duplicate_url_keys"] == 0


def _empty_then(body: bytes):
    """A route that answers an empty feed the first time, then ``body``."""
    calls = []

    def route(handler) -> None:
        calls.append(1)
        answer(200, feed(range(0)) if len(calls) == 1 else body, RSS)(handler)

    return route
