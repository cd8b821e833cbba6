"""The command line as a user meets it: `run` as the default command, `serve` over an existing database only, the
browse URL Datasette really uses, a Datasette port already taken, and files or databases that cannot be used, each
told in one line with the path and an exit status instead of a traceback."""

from __future__ import annotations

import hashlib
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from tests.conftest import OWN_FIXTURES, PROJECT_DIR, SEED_DOCUMENT
from tests.helpers import old_database, write_config
from tests.test_service import free_port, get_json, wait_for

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()
SEED_DATA = PROJECT_DIR / "data" / "seed-headlines.json"


class Service:
    """run_monitor.py in a subprocess, its log in a file the test can read while it runs."""

    def __init__(self, tmp_path: Path, *args: str):
        self.log = tmp_path / "service.log"
        self.handle = open(self.log, "w", encoding="utf-8")   # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen([sys.executable, str(PROJECT_DIR / "run_monitor.py"), *args],
                                        stdout=self.handle, stderr=subprocess.STDOUT, text=True)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for_line(self, fragment: str, timeout: float = 30) -> bool:
        return bool(wait_for(lambda: fragment in self.output() or self.process.poll() is not None, timeout)) and \
            fragment in self.output()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        finally:
            self.handle.close()
        return status


def held_port() -> socket.socket:
    """A listening socket on 127.0.0.1, as another program holding the port would have."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def seeded_database(tmp_path: Path, name: str = "news.db") -> Path:
    """A config whose database (``name``) holds the seed; returns the config path."""
    config = write_config(tmp_path, [], database=name, seeds=[str(SEED_DATA)])
    assert main(["--config", str(config), "once"]) == 0
    return config


def served_items(service: Service, line: str, url: str) -> list[dict]:
    """Wait for ``line`` in the service's log, read the items Datasette serves at ``url``, stop the service (it must
    stop cleanly, exit 0) and return the items."""
    try:
        assert service.wait_for_line(line), service.output()
        items = wait_for(lambda: get_json(f"{url}/items.json?_shape=array&_size=max"), timeout=20)
        assert items, service.output()
    finally:
        status = service.stop()
    assert status == 0, service.output()
    return items


# --- run, the default command -------------------------------------------------------------------------------


def test_no_command_runs_the_service_with_the_run_defaults(tmp_path):
    """`run_monitor.py --config c.yaml` is `run`: seed imported, Datasette at the URL of the file's own name."""
    port = free_port()
    config = write_config(tmp_path, [], database="corpus.db", seeds=[str(SEED_DATA)],
                          datasette={"host": "127.0.0.1", "port": port})
    service = Service(tmp_path, "--config", str(config))
    served = served_items(service, f"at http://127.0.0.1:{port}/corpus", f"http://127.0.0.1:{port}/corpus")
    assert len(served) == 21
    assert "stopped cleanly" in service.output() and "Traceback" not in service.output()
    assert sqlite3.connect(tmp_path / "corpus.db").execute("SELECT count(*) FROM seed_imports").fetchone()[0] == 1


def test_run_with_the_datasette_port_taken_says_so_and_keeps_scraping(httpserver, tmp_path):
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    with held_port() as sock:
        port = sock.getsockname()[1]
        config = write_config(tmp_path, [{"name": "fast", "kind": "rss", "url": httpserver.url_for("/feed.xml"),
                                          "every": "2s"}], datasette={"host": "127.0.0.1", "port": port})
        service = Service(tmp_path, "--config", str(config), "run")
        try:
            message = (f"Datasette could not start: port {port} on 127.0.0.1 is in use (set datasette.port in "
                       f"{config} or pass --port); the monitor keeps scraping")
            assert service.wait_for_line(message), service.output()
            assert service.wait_for_line("fast: ok"), service.output()   # a run was recorded after it
        finally:
            status = service.stop()
    assert status == 0, service.output()
    assert "Datasette at" not in service.output() and "Datasette exited" not in service.output()
    runs = sqlite3.connect(tmp_path / "news.db").execute("SELECT count(*) FROM runs WHERE source = 'fast'")
    assert runs.fetchone()[0] >= 1


# --- serve ---------------------------------------------------------------------------------------------------


def test_serve_without_a_database_says_so_and_creates_nothing(tmp_path, capsys):
    config = write_config(tmp_path, [], database="data/news.db")
    assert main(["--config", str(config), "serve", "--port", str(free_port())]) == 1
    assert f"error: no database at {tmp_path / 'data' / 'news.db'} yet: run `once` or `run` first" in \
        capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_serve_with_the_port_taken_exits_1(tmp_path, capsys):
    config = seeded_database(tmp_path)
    with held_port() as sock:
        port = sock.getsockname()[1]
        capsys.readouterr()
        assert main(["--config", str(config), "serve", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"error: Datasette could not start: port {port} on 127.0.0.1 is in use (set datasette.port in {config} " \
           "or pass --port)" in err


def test_serve_publishes_an_existing_database_under_its_own_name_without_writing_it(tmp_path):
    config = seeded_database(tmp_path, "archive.db")
    database = tmp_path / "archive.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    port = free_port()
    service = Service(tmp_path, "--config", str(config), "serve", "--port", str(port))
    url = f"http://127.0.0.1:{port}/archive"
    assert len(served_items(service, f"Datasette serving {database} at {url}", url)) == 21
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_serve_upgrades_a_database_of_an_older_release_before_serving_it(tmp_path):
    """The one write serve makes: the migrations `once` or `run` would run, so the tables match their descriptions."""
    from db.schema import SCHEMA_VERSION

    database = tmp_path / "old.db"
    old_database(database, 1).close()
    config = write_config(tmp_path, [], database="old.db")
    port = free_port()
    service = Service(tmp_path, "--config", str(config), "serve", "--port", str(port))
    try:
        assert service.wait_for_line(f"upgrading from schema version 1 to {SCHEMA_VERSION}"), service.output()
        assert wait_for(lambda: get_json(f"http://127.0.0.1:{port}/old/items.json?_shape=array") == [], timeout=20)
    finally:
        status = service.stop()
    assert status == 0, service.output()
    assert sqlite3.connect(database).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_serve_leaves_an_sqlite_file_without_our_tables_alone(tmp_path, capsys):
    database = tmp_path / "other.db"
    sqlite3.connect(database).execute("CREATE TABLE notes (text)").connection.commit()
    before = database.read_bytes()
    config = write_config(tmp_path, [], database="other.db")
    assert main(["--config", str(config), "serve", "--port", str(free_port())]) == 1
    assert f"error: {database} has no news-monitor tables yet: run `once` or `run` first" in capsys.readouterr().err
    assert database.read_bytes() == before


# --- files and databases that cannot be used -------------------------------------------------------------------


def not_a_database(tmp_path: Path) -> Path:
    (tmp_path / "notes.db").write_text("these are my notes, not a database\n" * 50, encoding="utf-8")
    return write_config(tmp_path, [], database="notes.db")


@pytest.mark.parametrize("command", [["once"], ["export"], ["status"], ["serve"], ["seed", str(SEED_DATA)],
                                     ["run", "--no-datasette"]])
def test_a_file_that_is_not_a_database_is_named_and_left_alone(tmp_path, capsys, command):
    config = not_a_database(tmp_path)
    before = (tmp_path / "notes.db").read_bytes()
    assert main(["--config", str(config), *command]) == 1
    err = capsys.readouterr().err
    assert f"error: {tmp_path / 'notes.db'} is not an SQLite database: point `database:` in {config} at" in err
    assert (tmp_path / "notes.db").read_bytes() == before


@pytest.mark.parametrize("where", ["a directory", "under a file"])
@pytest.mark.parametrize("command", [["once"], ["seed", str(SEED_DATA)], ["run", "--no-datasette"]])
def test_a_database_path_that_cannot_be_created_is_named(tmp_path, capsys, command, where):
    if where == "a directory":
        (tmp_path / "db").mkdir()
        database = tmp_path / "db"
    else:
        (tmp_path / "plain-file").write_text("x", encoding="utf-8")
        database = tmp_path / "plain-file" / "news.db"
    config = write_config(tmp_path, [], database=str(database))
    assert main(["--config", str(config), *command]) == 1
    err = capsys.readouterr().err
    assert f"error: cannot open or create the database {database} (" in err
    assert f"change `database:` in {config}" in err and "Traceback" not in err


@pytest.mark.parametrize("target", ["no-such-dir/items.csv", "."])
def test_export_to_a_path_that_cannot_be_written(tmp_path, capsys, target):
    config = seeded_database(tmp_path)
    output = tmp_path / target
    capsys.readouterr()
    assert main(["--config", str(config), "export", "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert f"error: cannot write {output}: " in err and "check that its directory exists" in err


def test_seed_write_data_to_a_path_that_cannot_be_written(tmp_path, capsys):
    if not SEED_DOCUMENT.exists():
        pytest.skip(f"{SEED_DOCUMENT} is absent: it is read from ../shared beside the project")
    (tmp_path / "plain-file").write_text("x", encoding="utf-8")
    output = tmp_path / "plain-file" / "seed.json"
    config = write_config(tmp_path, [])
    assert main(["--config", str(config), "seed", "--write-data", str(output), str(SEED_DOCUMENT)]) == 1
    err = capsys.readouterr().err
    assert f"error: cannot write {output}: " in err and "Traceback" not in err
    assert not (tmp_path / "news.db").exists()
