"""Shared test fixtures: the real-world files in ../shared and a local HTTP server bound to 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = PROJECT_DIR.parent / "shared"
REAL_FIXTURES = SHARED_DIR / "fixtures" / "real"
SEED_DOCUMENT = SHARED_DIR / "seed" / "000_63451c0a4ff8f0c7.txt"
OWN_FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_file(path: Path) -> Path:
    """A file from ../shared, or skip the test with the reason when ../shared is not beside the project."""
    if not path.exists():
        pytest.skip(f"{path} is absent: these tests read the shared fixtures from ../shared beside the project")
    return path


@pytest.fixture
def real_fixture():
    """real_fixture("feeds/x.xml") -> bytes of ../shared/fixtures/real/feeds/x.xml (skips if absent)."""

    def read(relative: str) -> bytes:
        return shared_file(REAL_FIXTURES / relative).read_bytes()

    return read


@pytest.fixture
def seed_document() -> Path:
    return shared_file(SEED_DOCUMENT)


@pytest.fixture(scope="session")
def httpserver_listen_address():
    """pytest-httpserver binds to 127.0.0.1 only, on a free port."""
    return ("127.0.0.1", 0)


@pytest.fixture
def monitor_for(tmp_path):
    """monitor_for(sources, **config_overrides) -> a Monitor on a config.yaml in tmp_path; closed after the test."""
    from monitor.config import load_config
    from monitor.service import Monitor
    from tests.helpers import write_config

    opened: list[Monitor] = []

    def make(sources: list[dict], **overrides) -> Monitor:
        monitor = Monitor.open(load_config(write_config(tmp_path, sources, **overrides)))
        opened.append(monitor)
        return monitor

    yield make
    for monitor in opened:
        monitor.close()


@pytest.fixture
def server():
    """A tests.fetch_server server on 127.0.0.1 (scripted answers, request log)."""
    from tests.fetch_server import serve

    with serve("127.0.0.1") as running:
        yield running
