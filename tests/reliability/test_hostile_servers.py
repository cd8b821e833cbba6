"""Hostile servers through the real pipeline: a connection reset mid-body, a body shorter than its Content-Length,
headers that never arrive, ``Content-Encoding: gzip`` that is not gzip. Each is a recorded run error of its own
class (never ``internal``), nothing is stored from the broken answer, and what an earlier run stored stays."""

from __future__ import annotations

import socket
import sqlite3
import struct
import time
from http.server import BaseHTTPRequestHandler

import pytest

from tests.conftest import OWN_FIXTURES
from tests.fetch_server import answer, in_turn, serve

FEED = (OWN_FIXTURES / "pipeline" / "poverty_feed.xml").read_bytes()
RSS = {"Content-Type": "application/rss+xml"}


def headers(handler: BaseHTTPRequestHandler, length: int, **extra: str) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", str(length))
    for name, value in extra.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()


def reset_mid_body(handler: BaseHTTPRequestHandler) -> None:
    headers(handler, len(FEED))
    handler.wfile.write(FEED[: len(FEED) // 2])
    handler.wfile.flush()
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))   # close = RST
    handler.connection.close()


def short_body(handler: BaseHTTPRequestHandler) -> None:
    headers(handler, len(FEED) + 5000)
    handler.wfile.write(FEED)
    handler.wfile.flush()
    handler.close_connection = True


def no_headers(handler: BaseHTTPRequestHandler) -> None:
    handler.server.stop.wait(30)        # accepted, never answered


def fake_gzip(handler: BaseHTTPRequestHandler) -> None:
    headers(handler, len(FEED), Content_Encoding="gzip")
    handler.wfile.write(FEED)


@pytest.mark.parametrize("fault, error_classes", [
    (reset_mid_body, {"connection"}),
    (short_body, {"connection"}),
    (no_headers, {"timeout"}),
    (fake_gzip, {"decoding"}),
])
def test_a_broken_answer_is_a_recorded_error_and_loses_nothing(monitor_for, fault, error_classes):
    with serve() as server:
        server.routes["/feed.xml"] = in_turn(answer(200, FEED, RSS), fault)
        monitor = monitor_for([{"name": "hostile", "kind": "rss", "url": server.url("/feed.xml"), "every": "1h"}],
                              http={"timeout": "2s", "retries": 0, "per_host_delay": 0,
                                    "allow_private_networks": True})
        first = monitor.run_once()[0]
        started = time.monotonic()
        second = monitor.run_once()[0]
        elapsed = time.monotonic() - started
    assert first.status == "ok" and first.items_new == 4
    assert second.status == "error", second.line()
    assert second.error_class != "internal", second.line()
    assert second.error_class in error_classes, second.line()
    assert elapsed < 10, f"the broken answer held the run for {elapsed:.1f} s"
    conn = sqlite3.connect(monitor.config.database)
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 4
    assert conn.execute("SELECT count(*) FROM sightings").fetchone()[0] == 4     # nothing from the broken answer
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [row[0] for row in conn.execute("SELECT status FROM runs ORDER BY id")] == ["ok", "error"]
