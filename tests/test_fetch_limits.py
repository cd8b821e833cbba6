"""Limits against real local servers: redirects by hand, public addresses only where config did not name the URL
(DNS rebinding included), and huge or compressed bodies stopped early with bounded memory."""

from __future__ import annotations

import gc
import socket
import time
import tracemalloc
import zlib

import pytest

from monitor.core.errors import FetchError
from monitor.fetch import Fetcher
from monitor.fetch.addresses import address_problem
from monitor.fetch.fetcher import MAX_REDIRECTS
from monitor.fetch.settings import HttpSettings
from tests.fetch_server import answer, redirect, serve


def settings(**overrides) -> HttpSettings:
    values = {"user_agent": "news-monitor-test/1.0", "timeout": 5.0, "retries": 0, "per_host_delay": 0.0,
              "respect_robots": False, "allow_private_networks": False}
    values.update(overrides)
    return HttpSettings(**values)



@pytest.fixture
def other_host():
    with serve("127.0.0.2") as s:
        yield s


def fetch_error(url: str, s: HttpSettings, **kwargs) -> FetchError:
    with Fetcher(s) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(url, **kwargs)
    return info.value


# --- redirects --------------------------------------------------------------------------------------------


def test_redirect_loop_is_stopped(server):
    server.routes["/a"] = redirect("/b")
    server.routes["/b"] = redirect("/a")
    error = fetch_error(server.url("/a"), settings(allow_private_networks=True, retries=2))
    assert error.error_class == "redirect_loop"
    assert server.url("/a") in str(error) and "loop" in str(error)
    assert server.paths() == ["/a", "/b"]   # stopped as soon as a URL came back, and not retried


def test_at_most_five_redirects(server):
    for i in range(MAX_REDIRECTS + 1):
        server.routes[f"/r{i}"] = redirect(f"/r{i + 1}")
    server.routes[f"/r{MAX_REDIRECTS + 1}"] = answer(body=b"arrived")
    with Fetcher(settings(allow_private_networks=True)) as fetcher:
        result = fetcher.fetch(server.url("/r1"))   # five redirects: followed
        assert result.body == b"arrived" and result.url == server.url(f"/r{MAX_REDIRECTS + 1}")

        server.hits.clear()
        with pytest.raises(FetchError) as info:
            fetcher.fetch(server.url("/r0"))          # six: refused
    error = info.value
    assert error.error_class == "too_many_redirects"
    assert f"more than {MAX_REDIRECTS} redirects" in str(error) and server.url("/r0") in str(error)
    assert len(server.hits) == MAX_REDIRECTS + 1
    assert f"/r{MAX_REDIRECTS + 1}" not in server.paths()


@pytest.mark.parametrize("target", ["ftp://example.org/feed.xml", "file:///etc/passwd", "javascript:alert(1)"])
def test_redirect_to_another_scheme_is_refused(server, target):
    server.routes["/start"] = redirect(target)
    error = fetch_error(server.url("/start"), settings(allow_private_networks=True))
    assert error.error_class == "bad_url"
    assert server.url("/start") in str(error) and target in str(error)


def test_redirect_to_a_private_address_is_refused_before_any_request(server):
    """The issue's case: a configured URL on 127.0.0.1 redirects to another 127.0.0.1 path."""
    server.routes["/start"] = redirect("/internal/admin")
    server.routes["/internal/admin"] = answer(body=b"secret")
    error = fetch_error(server.url("/start"), settings(respect_robots=True))
    assert error.error_class == "blocked_address"
    message = str(error)
    assert server.url("/internal/admin") in message and "127.0.0.1" in message and "loopback" in message
    assert "http.allow_private_networks: true" in message
    assert "/internal/admin" not in server.paths()
    assert server.paths() == ["/robots.txt", "/start"]   # the configured URL itself is allowed


def test_redirect_to_another_private_host_sends_it_nothing(server, other_host):
    server.routes["/start"] = redirect(other_host.url("/feed.xml"))
    other_host.routes["/feed.xml"] = answer(body=b"feed")
    error = fetch_error(server.url("/start"), settings(respect_robots=True))
    assert error.error_class == "blocked_address"
    assert other_host.hits == []   # not even its robots.txt


def test_redirects_to_private_addresses_are_followed_when_allowed(server, other_host):
    server.routes["/start"] = redirect(other_host.url("/feed.xml"))
    other_host.routes["/feed.xml"] = answer(body=b"feed")
    with Fetcher(settings(allow_private_networks=True)) as fetcher:
        result = fetcher.fetch(server.url("/start"))
    assert result.body == b"feed" and result.url == other_host.url("/feed.xml")


def test_configured_private_url_is_allowed_but_discovered_one_is_not(server):
    server.routes["/feed.xml"] = answer(body=b"feed")
    with Fetcher(settings()) as fetcher:
        assert fetcher.fetch(server.url("/feed.xml")).body == b"feed"   # an intranet server in config.yaml
        with pytest.raises(FetchError) as info:
            fetcher.fetch(server.url("/feed.xml"), configured=False)     # the same URL found on a page
        assert fetcher.fetch(server.url("/feed.xml"), configured=False,
                             settings=settings(allow_private_networks=True)).body == b"feed"
    assert info.value.error_class == "blocked_address"
    assert len(server.hits) == 2


def test_dns_rebinding_is_caught_on_the_connected_address(server, monkeypatch):
    """A name that resolves to a public address when checked and to 127.0.0.1 when connected: the check on
    the socket's peer address refuses it before a byte of the request is sent. DNS itself is simulated (the
    tests never touch the internet); the fetcher, urllib3 and the socket are real."""
    server.routes["/feed.xml"] = answer(body=b"feed")
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34"])   # first answer public; every later one the local server

    def rebinding_getaddrinfo(host, port, *args, **kwargs):
        if host == "rebind.example":
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    url = f"http://rebind.example:{server.server_port}/feed.xml"
    error = fetch_error(url, settings(), configured=False)
    assert error.error_class == "blocked_address"
    assert "127.0.0.1" in str(error) and "loopback" in str(error)
    assert server.hits == []   # connected, then refused before the request went out


@pytest.mark.parametrize("address, problem", [
    ("8.8.8.8", None),
    ("93.184.216.34", None),
    ("2606:4700:4700::1111", None),
    ("127.0.0.1", "loopback"),
    ("127.0.0.2", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fd00::1", "private"),
    ("169.254.169.254", "link-local"),   # cloud metadata service
    ("fe80::1%eth0", "link-local"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("100.64.0.1", "shared (carrier-grade NAT)"),
    ("192.0.2.1", "private"),            # documentation range
    ("::ffff:127.0.0.1", "loopback (inside an IPv6 address)"),
    ("::ffff:8.8.8.8", None),
    ("64:ff9b::a00:1", "private (inside an IPv6 address)"),   # NAT64 of 10.0.0.1
    ("2002:c0a8:101::1", "private (inside an IPv6 address)"),  # 6to4 of 192.168.1.1
    ("not an address", "invalid"),
])
def test_public_address_classification(address, problem):
    assert address_problem(address) == problem


# --- size limits and memory -------------------------------------------------------------------------------


FIFTY_MB = 50 * 1024 * 1024


def streamed(total: int, block: bytes, headers: dict[str, str]):
    """A route that sends ``total`` bytes made of ``block`` as it goes: the test never holds the whole body."""

    def route(handler):
        handler.send_response(200)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Connection", "close")
        handler.end_headers()
        sent = 0
        while sent < total and not handler.server.stop.is_set():
            handler.wfile.write(block)
            sent += len(block)
            with handler.server.lock:
                handler.server.bytes_sent += len(block)

    return route


def peak_memory_of(call) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        call()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("announced", [False, True], ids=["streamed", "content-length"])
def test_fifty_mb_body_is_cut_early_with_bounded_memory(server, announced):
    max_bytes = 1024 * 1024
    headers = {"Content-Type": "application/rss+xml"}
    if announced:
        headers["Content-Length"] = str(FIFTY_MB)
    server.routes["/huge.xml"] = streamed(FIFTY_MB, b"<item>news</item>\n" * 3641, headers)   # ~64 KiB blocks
    errors: list[FetchError] = []

    def fetch():
        with Fetcher(settings(max_bytes=max_bytes, allow_private_networks=True)) as fetcher:
            try:
                fetcher.fetch(server.url("/huge.xml"))
            except FetchError as exc:
                errors.append(exc)

    started = time.monotonic()
    peak = peak_memory_of(fetch)
    took = time.monotonic() - started
    assert [e.error_class for e in errors] == ["too_large"]
    assert "http.max_bytes" in str(errors[0])
    assert peak < 3 * max_bytes + 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert server.bytes_sent < FIFTY_MB // 4       # the server was cut off long before the end
    assert took < 5


def test_gzip_bomb_is_cut_early_with_bounded_memory(server):
    """100 MB of zeros in about 100 KB of gzip: stopped after max_bytes of *decompressed* data."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)   # 31: gzip framing
    zeros = bytes(1024 * 1024)
    bomb = b"".join(compressor.compress(zeros) for _ in range(100)) + compressor.flush()
    assert len(bomb) < 200_000
    server.routes["/bomb"] = answer(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"})
    max_bytes = 1024 * 1024
    errors: list[FetchError] = []

    def fetch():
        with Fetcher(settings(max_bytes=max_bytes, allow_private_networks=True)) as fetcher:
            try:
                fetcher.fetch(server.url("/bomb"))
            except FetchError as exc:
                errors.append(exc)

    peak = peak_memory_of(fetch)
    assert [e.error_class for e in errors] == ["too_large"]
    assert peak < 3 * max_bytes + 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
