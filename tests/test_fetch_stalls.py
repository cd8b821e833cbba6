"""Timeouts that are worth asking again for, against real local sockets: a connect that gets no answer, and a
server that stalls before its headers or in the middle of its body (retried once, see Fetcher._attempt)."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from monitor.core.errors import FetchError
from monitor.fetch import Fetcher
from monitor.fetch.settings import HttpSettings
from tests.fetch_server import answer, in_turn

BODY = b"<rss>" + b"x" * 4000 + b"</rss>"


def settings(**overrides) -> HttpSettings:
    values = {"user_agent": "news-monitor-test/1.0", "timeout": 4.0, "retries": 2, "per_host_delay": 0.0,
              "respect_robots": False}
    values.update(overrides)
    return HttpSettings(**values)



def stall_before_headers(handler: BaseHTTPRequestHandler) -> None:
    """Take the request and say nothing until the test ends (a hung worker, a connection dropped on the way)."""
    handler.server.stop.wait()


def stall_mid_body(handler: BaseHTTPRequestHandler) -> None:
    """Headers and the first part of the body, then nothing more until the test ends."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", str(len(BODY)))
    handler.end_headers()
    handler.wfile.write(BODY[:1000])
    handler.wfile.flush()
    handler.server.stop.wait()


@pytest.mark.parametrize("stall", [stall_before_headers, stall_mid_body])
def test_a_stalled_read_is_asked_again(server, stall, caplog):
    server.routes["/feed.xml"] = in_turn(stall, answer(body=BODY))
    with caplog.at_level(logging.INFO, logger="monitor.fetch"), \
            Fetcher(settings(timeout=2.0), retry_backoff=0.01) as fetcher:
        assert fetcher.fetch(server.url("/feed.xml")).body == BODY
    assert server.paths() == ["/feed.xml", "/feed.xml"]
    retry = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying"))
    phase = "waiting for an answer from" if stall is stall_before_headers else "reading the response from"
    # Half of the 2 s left: the first attempt gave up early, and the second had the time to answer.
    assert re.search(rf"no data for (1|0\.9\d*) s {phase} {re.escape(server.url('/feed.xml'))}", retry), retry


def test_a_stall_is_retried_once_then_the_deadline_is_the_limit(server):
    """retries: 2 allows three attempts; after a stall, the next one waits for as long as the deadline allows."""
    server.routes["/feed.xml"] = stall_before_headers
    with Fetcher(settings(timeout=2.0), retry_backoff=0.01) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/feed.xml"))
    assert info.value.error_class == "timeout"
    assert "gave up after 2 attempts" in str(info.value)
    assert "timed out after 2 s waiting for an answer from" in str(info.value)
    assert server.paths() == ["/feed.xml", "/feed.xml"]


def test_without_retries_a_read_waits_for_the_whole_deadline(server):
    server.routes["/feed.xml"] = in_turn(stall_mid_body, answer(body=BODY))
    with Fetcher(settings(timeout=1.0, retries=0)) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/feed.xml"))
    assert info.value.error_class == "timeout"
    assert str(info.value).startswith("timed out after 1 s reading the response from")
    assert server.paths() == ["/feed.xml"]


@contextlib.contextmanager
def full_backlog() -> Iterator[int]:
    """A port on 127.0.0.1 whose listener never accepts and whose accept queue is full.

    Linux drops a SYN that arrives while a listener's accept queue is full (it does not refuse it), so a connect
    to this port waits until its own timeout: a lost SYN, made locally without any network.
    """
    listener = socket.socket()
    held: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(64):
            probe = socket.socket()
            probe.settimeout(0.3)
            try:
                probe.connect(("127.0.0.1", port))
            except TimeoutError:
                probe.close()
                break
            held.append(probe)
        else:
            pytest.skip("this kernel accepts connections beyond a listener's backlog: no way to lose a SYN locally")
        yield port
    finally:
        for probe in held:
            probe.close()
        listener.close()


def test_a_connect_timeout_is_retried(caplog):
    with full_backlog() as port, caplog.at_level(logging.INFO, logger="monitor.fetch"), \
            Fetcher(settings(timeout=2.0, retries=1), retry_backoff=0.01) as fetcher, \
            pytest.raises(FetchError) as info:
        fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert info.value.error_class == "timeout"
    assert "gave up after 2 attempts" in str(info.value)
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert len(retries) == 1 and f"connecting to http://127.0.0.1:{port}/feed.xml" in retries[0]
