"""``kill -9`` of the service: its Datasette child dies with it, the port is free again for the restarted service,
and the temporary folder it wrote Datasette's metadata to is removed by the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from db.publish import port_problem
from tests.conftest import PROJECT_DIR
from tests.helpers import write_config
from tests.test_service import free_port, wait_for
from tests.test_service_shutdown import alive, answers, children


def start(config: Path, temp: Path, *command: str) -> subprocess.Popen:
    """The command as a process with its own temporary directory (TMPDIR), output to a file beside the config."""
    with open(config.parent / "output.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), *command],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "TMPDIR": str(temp)},
        )


def workdirs(temp: Path) -> list[str]:
    return sorted(entry.name for entry in temp.iterdir() if entry.name.startswith("news-monitor-"))


def test_kill_9_of_run_takes_datasette_down_and_a_restart_finds_the_port_free(tmp_path):
    port = free_port()
    temp = tmp_path / "tmp"
    temp.mkdir()
    config = write_config(tmp_path, [], datasette={"host": "127.0.0.1", "port": port})
    versions = f"http://127.0.0.1:{port}/-/versions.json"
    process = start(config, temp, "run")
    datasette: list[int] = []
    try:
        assert wait_for(lambda: answers(versions), timeout=30), "Datasette never answered"
        datasette = children(process.pid)
        assert datasette, "Datasette runs as a child of run"
        assert workdirs(temp) == [name for name in workdirs(temp) if name.startswith(f"news-monitor-{process.pid}-")]
        assert len(workdirs(temp)) == 1
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert wait_for(lambda: not any(alive(pid) for pid in datasette), timeout=15), "Datasette outlived run"
        assert wait_for(lambda: port_problem("127.0.0.1", port) is None, timeout=10), "the port is still taken"
        assert len(workdirs(temp)) == 1, "kill -9 gives no chance to remove the folder: the next start does"

        restarted = start(config, temp, "run")
        try:
            assert wait_for(lambda: answers(versions), timeout=30), "the restarted service's Datasette never answered"
            assert workdirs(temp) == [name for name in workdirs(temp)
                                      if name.startswith(f"news-monitor-{restarted.pid}-")], workdirs(temp)
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(timeout=30)
        log = (tmp_path / "output.log").read_text(encoding="utf-8", errors="replace")
        assert "in use" not in log, log
        assert restarted.returncode == 0, log
        assert workdirs(temp) == []
    finally:
        for pid in datasette:       # never leak a server if the protection is broken
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
