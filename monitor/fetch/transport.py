"""How requests reach the network: requests' adapter with connection pools the deadline can see, and the
address rule applied where the request meets the network.

The ``Watchdog`` (``monitor.fetch.deadline``) can only cut a socket it knows: the pools here hand it each
connection they lend out. The address rule (``monitor.fetch.addresses``: unless ``http.allow_private_networks``,
a URL not written in config.yaml and every redirect target may reach only public addresses) is checked on the
DNS answer before any request (``check_resolved``), and again on the address the socket actually connected to,
before TLS or any byte of the request is sent (``BlockedPeer``).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit
from urllib.request import getproxies

import requests
from requests.adapters import HTTPAdapter
from requests.utils import NETRC_FILES
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import ProxyManager

from monitor.fetch.addresses import address_problem, resolve
from monitor.fetch.deadline import current_watchdog
from monitor.fetch.failures import blocked_address

POOL_HOSTS = 64          # hosts whose kept-alive connections are kept (requests' default: 10)
POOL_PER_HOST = 16       # connections kept per host (per_host_concurrency above this still works, unpooled)


def check_resolved(url: str, host: str) -> None:
    """Refuse ``url`` before any request if its host resolves to an address that is not public."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return   # unresolvable: the request itself fails with "host name not found"
    for address in addresses:
        problem = address_problem(address)
        if problem:
            raise blocked_address(url, host, address, problem)


class BlockedPeer(Exception):
    """Raised inside urllib3 when a socket is connected to an address the attempt may not reach.

    Deliberately not an OSError: urllib3 and requests pass it through unwrapped and never retry it.
    """

    def __init__(self, address: str, problem: str):
        super().__init__(f"connected to {address}, a {problem} address")
        self.address = address
        self.problem = problem


def _check_peer(conn, sock) -> None:
    """Refuse ``sock`` if this thread's attempt may reach only public addresses and its peer is not one.

    The address checked is the one the kernel connected to, not what DNS said before: a name that resolves to
    a public address for the check and to 127.0.0.1 for the connection (DNS rebinding) is caught here. Through
    a proxy the peer is the proxy, and the proxy resolves the name: only the DNS check applies then.
    """
    watchdog = current_watchdog()
    if watchdog is None or not watchdog.public_only or sock is None or getattr(conn, "proxy", None) is not None:
        return
    try:
        address = sock.getpeername()[0]
    except (OSError, IndexError, TypeError):
        return   # not connected after all: the request fails on its own
    problem = address_problem(address)
    if problem:
        raise BlockedPeer(address, problem)


class _PeerCheckMixin:
    """urllib3 connections that check the peer address as soon as the socket is connected, before TLS or
    any byte of the request is sent."""

    def _new_conn(self):
        sock = super()._new_conn()
        try:
            _check_peer(self, sock)
        except BlockedPeer:
            sock.close()
            raise
        return sock


class _CheckedHTTPConnection(_PeerCheckMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_PeerCheckMixin, HTTPSConnection):
    pass


class _TrackedPoolMixin:
    """Hands each connection a pool lends out to the watchdog of the fetch in this thread, and checks the
    peer of a kept-alive connection that is reused (a new one is checked when it connects)."""

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        watchdog = current_watchdog()
        if watchdog is not None:
            watchdog.track_connection(conn)
            try:
                _check_peer(conn, getattr(conn, "sock", None))
            except BlockedPeer:
                conn.close()
                self._put_conn(conn)   # back to the pool, closed: it reconnects (and is checked) if reused
                raise
        return conn


class _TrackedHTTPPool(_TrackedPoolMixin, HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _TrackedHTTPSPool(_TrackedPoolMixin, HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


_TRACKED_POOLS = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter with pools that let the watchdog see the socket, so it can cut slow headers too,
    and whose connections check the address they connected to."""

    def __init__(self):
        super().__init__(pool_connections=POOL_HOSTS, pool_maxsize=POOL_PER_HOST)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_TRACKED_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is ProxyManager:   # SOCKS managers have pools of their own: leave them alone
            manager.pool_classes_by_scheme = dict(_TRACKED_POOLS)
        return manager


def install_adapters(session: requests.Session) -> None:
    """Swap requests' stock adapters for deadline-aware ones; custom adapters (mocks, a caller's) are kept
    (they get the deadline through the response, and the address rule on the DNS answer only)."""
    for prefix in ("http://", "https://"):
        current = session.adapters.get(prefix)
        if current is None or type(current) is HTTPAdapter:
            if current is not None:
                current.close()
            session.mount(prefix, _DeadlineAdapter())


def read_environment_once(session: requests.Session) -> None:
    """What requests reads from the environment at every request (proxy variables, ``.netrc``, the CA bundle),
    read once for a session the fetcher made. With no proxy variable and no ``.netrc`` (the usual case), the session
    stops looking (``trust_env``: a scan of every environment variable twice per request, about a tenth of a fetch's
    CPU) and keeps the CA bundle the environment names; otherwise requests goes on reading them as before. The
    environment is read when the fetcher is made: a change after that takes effect at the next start."""
    if getproxies() or _netrc_present():
        return
    session.trust_env = False
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle


def _netrc_present() -> bool:
    """Whether requests would find a .netrc file to take credentials from (where ``requests.utils.get_netrc_auth``
    looks)."""
    named = os.environ.get("NETRC")
    candidates = (named,) if named else tuple(f"~/{name}" for name in NETRC_FILES)
    for candidate in candidates:
        try:
            if os.path.exists(os.path.expanduser(candidate)):
                return True
        except KeyError:          # no home directory to expand
            continue
    return False
