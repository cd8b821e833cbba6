"""Stopping the long-running commands with SIGTERM, as systemd or `kill` does: real processes, a local slow source."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from monitor.cli import main
from tests.conftest import OWN_FIXTURES, PROJECT_DIR
from tests.fetch_server import answer, serve
from tests.helpers import write_config
from tests.test_service import free_port, wait_for

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()


def start(config: Path, *command: str) -> subprocess.Popen:
    """The command as a process; its output goes to a file beside the config (a pipe would be held open by an
    orphaned child, and reading it would hang)."""
    with open(config.parent / "output.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), *command],
            stdout=log, stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen, config: Path, timeout: float = 30) -> str:
    """SIGTERM, then the output once the process has exited; killed (and the test failed) if it hangs."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"the process did not stop within {timeout} s of SIGTERM:\n{output(config)}") from None
    return output(config)


def output(config: Path) -> str:
    return (config.parent / "output.log").read_text(encoding="utf-8", errors="replace")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def children(pid: int) -> list[int]:
    """The ids of the processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_while_a_source_runs_waits_for_the_run_and_exits_cleanly(tmp_path):
    # The scheduler's shutdown waits for running jobs while holding its job-store lock; the job's listener (backoff,
    # next run) used to wait for the same lock: the service hung on SIGTERM for as long as a run was in flight.
    with serve() as server:
        for path in ("/slow.xml", "/queued.xml"):
            server.routes[path] = answer(200, FEED, {"Content-Type": "application/rss+xml"}, delay=3)
        config = write_config(tmp_path, [
            {"name": "slow", "kind": "rss", "url": server.url("/slow.xml"), "every": "1h"},
            {"name": "queued", "kind": "rss", "url": server.url("/queued.xml"), "every": "1h"},
        ], workers=1)
        process = start(config, "run", "--no-datasette")
        try:
            assert wait_for(lambda: "/slow.xml" in server.paths(), timeout=20), "the source did not start"
            time.sleep(1.5)     # 'queued' falls due a second after 'slow' and waits for the one worker
        finally:
            log = stop(process, config)
    assert process.returncode == 0, log
    assert "stopped cleanly" in log
    conn = sqlite3.connect(tmp_path / "news.db")
    runs = conn.execute("SELECT source, status, finished_at, items_new FROM runs").fetchall()
    # The run in flight finishes and stores its items (shutdown waits; it is not cut off as 'interrupted'); the run
    # still queued behind it does not start after SIGTERM.
    assert len(runs) == 1 and runs[0][:2] == ("slow", "ok") and runs[0][2] and runs[0][3] == 4
    assert "/queued.xml" not in server.paths()


def test_sigterm_to_serve_stops_datasette_too(tmp_path):
    port = free_port()
    config = write_config(tmp_path, [], datasette={"host": "127.0.0.1", "port": port})
    assert main(["--config", str(config), "once"]) == 0          # serve needs a database to exist
    process = start(config, "serve")
    datasette: list[int] = []
    try:
        assert wait_for(lambda: answers(f"http://127.0.0.1:{port}/-/versions.json"), timeout=30), "serve never answered"
        datasette = children(process.pid)
        assert datasette, "Datasette runs as a child of serve"
        log = stop(process, config)
        assert wait_for(lambda: not any(alive(pid) for pid in datasette), timeout=15), "Datasette outlived serve"
        assert not answers(f"http://127.0.0.1:{port}/-/versions.json")
        assert process.returncode == 0, log
    finally:
        for pid in datasette:       # before the fix, the orphaned child kept the port: do not leak it
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
