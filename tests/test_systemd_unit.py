"""The systemd unit the README shows (docs/news-monitor.service): valid for ``systemd-analyze verify``, and its
command line is one the monitor accepts."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_DIR
from tests.helpers import write_config

UNIT = PROJECT_DIR / "docs" / "news-monitor.service"
INSTALLED_AT = "/opt/news-monitor"


def installed_here(text: str) -> str:
    """The unit as installed in this checkout (verify checks that ExecStart's program exists), run as root."""
    return (text.replace(f"{INSTALLED_AT}/.venv/bin/python", sys.executable)
            .replace(INSTALLED_AT, str(PROJECT_DIR)).replace("User=newsmonitor", "User=root"))


def verify(path) -> subprocess.CompletedProcess:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here (Debian: the systemd package); the unit is not verified")
    return subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)


def test_the_unit_passes_systemd_analyze_verify_without_a_warning(tmp_path):
    unit = tmp_path / "news-monitor.service"
    unit.write_text(installed_here(UNIT.read_text(encoding="utf-8")), encoding="utf-8")
    done = verify(unit)
    assert done.returncode == 0, done.stderr
    assert "news-monitor.service" not in done.stdout + done.stderr      # verify only warns of unknown keys


def test_verify_would_catch_a_mistake(tmp_path):
    unit = tmp_path / "news-monitor.service"
    unit.write_text(installed_here(UNIT.read_text(encoding="utf-8")).replace("Restart=on-failure", "Restart=often"),
                    encoding="utf-8")
    done = verify(unit)
    assert "news-monitor.service" in done.stderr and "restart specifier" in done.stderr


def test_the_units_command_line_is_one_the_monitor_accepts(tmp_path):
    (line,) = [line for line in UNIT.read_text(encoding="utf-8").splitlines() if line.startswith("ExecStart=")]
    program, *args = shlex.split(line.removeprefix("ExecStart="))
    assert program == f"{INSTALLED_AT}/.venv/bin/python" and args[-1] == "run"
    config = write_config(tmp_path, [])
    args = [str(config) if arg == f"{INSTALLED_AT}/config.yaml" else arg for arg in args[:-1]]
    done = subprocess.run([sys.executable, *args, "check"], cwd=PROJECT_DIR, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--log-format" in args and done.stdout.startswith(f"config:    {config}")
