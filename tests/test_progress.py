"""Progress bars (issue 13): shown on a terminal (a real pseudo-terminal as standard error), absent otherwise."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading

import pytest

from tests.conftest import OWN_FIXTURES, PROJECT_DIR
from tests.helpers import write_config

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()


def run(config, *args, terminal: bool, size: tuple[int, int] = (24, 120)) -> tuple[int, str]:
    """The command with standard error on a pseudo-terminal (``terminal``, rows x columns) or a pipe; (status, what
    it wrote)."""
    command = [sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), *args]
    if not terminal:
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        return done.returncode, done.stderr.decode("utf-8", "replace")
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:        # the terminal's other side closed: the process is done
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=follower)
        os.close(follower)
        status = process.wait(timeout=120)
    finally:
        reader.join(timeout=10)
        os.close(leader)
    return status, b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def config(tmp_path, httpserver):
    for n in range(3):
        httpserver.expect_request(f"/feed{n}.xml").respond_with_data(FEED, content_type="application/rss+xml")
    return write_config(tmp_path, [{"name": f"feed{n}", "kind": "rss", "url": httpserver.url_for(f"/feed{n}.xml"),
                                    "every": "15m"} for n in range(3)])


def large_seed(tmp_path, count: int = 1500):
    data = json.loads((PROJECT_DIR / "data" / "seed-headlines.json").read_text(encoding="utf-8"))
    data["related"] = [{"title": f"第{n}篇：決戰決勝脫貧攻堅的又一個故事", "url": f"http://example.org/{n}.html"}
                       for n in range(count)]
    path = tmp_path / "large-seed.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_bars_on_a_terminal_for_once_seed_and_export(tmp_path, config):
    status, shown = run(config, "once", terminal=True)
    assert status == 0, shown
    assert "sources: 100%" in shown and "3/3" in shown
    assert "feed0: ok" in shown                              # log lines still come through, above the bar

    status, shown = run(config, "seed", str(large_seed(tmp_path)), terminal=True)
    assert status == 0, shown
    assert "seed large-seed.json: 100%" in shown and "1501/1501" in shown

    status, shown = run(config, "export", "-o", str(tmp_path / "out.csv"), terminal=True)
    assert status == 0, shown
    assert "export out.csv: " in shown and "1505 item" in shown


def test_a_terminal_that_reports_no_size_still_gets_a_bar(config):
    status, shown = run(config, "once", terminal=True, size=(0, 0))     # as `script` or a bare pty gives
    assert status == 0, shown
    assert "sources: 100%" in shown and "3/3" in shown


def test_no_bar_when_standard_error_is_not_a_terminal(tmp_path, config):
    for args in (("once",), ("seed", str(large_seed(tmp_path, 50))), ("export", "-o", str(tmp_path / "out.csv"))):
        status, written = run(config, *args, terminal=False)
        assert status == 0, written
        assert "\r" not in written and "%|" not in written and "it/s" not in written, written
    assert "feed0: ok" in run(config, "once", terminal=False)[1]
