"""Which network addresses a URL that was not written in config.yaml may reach: public ones only.

A page, feed or sitemap can point anywhere, including at the machine the monitor runs on (``127.0.0.1``, the
cloud metadata service at ``169.254.169.254``, a router at ``192.168.1.1``). Unless ``http.allow_private_networks``
is true, the fetcher refuses such addresses for redirect targets and discovered links (server-side request
forgery). ``address_problem`` classifies one address; the fetcher applies it twice: to the DNS answer before a
request, and to the peer address of the socket actually connected (so a name that resolves to a public address
for the check and a private one for the connection, "DNS rebinding", is still refused).
"""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["address_problem", "resolve"]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")    # RFC 6052: the last 32 bits are an IPv4 address
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT: not private, not public either

# Checked in this order, so that 127.0.0.1 is called "loopback" rather than merely "private".
_KINDS = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_reserved", "reserved"),
    ("is_private", "private"),
    ("is_site_local", "site-local"),
)


def address_problem(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``address`` is not a public internet address (``"loopback"``, ``"private"``...), or None if it is.

    IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:127.0.0.1``, NAT64 ``64:ff9b::/96``, 6to4
    ``2002::/16``) are judged by the IPv4 address they carry. Text that is not an address is ``"invalid"``.
    """
    if isinstance(address, str):
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))   # drop an IPv6 zone (fe80::1%eth0)
        except ValueError:
            return "invalid"
    else:
        ip = address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem} (inside an IPv6 address)" if problem else None
    for attribute, kind in _KINDS:
        if getattr(ip, attribute, False):
            return kind
    if ip in _SHARED:
        return "shared (carrier-grade NAT)"
    if not ip.is_global:
        return "non-public"
    return None


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (an IP literal resolves to itself); socket.gaierror if none."""
    literal = host.strip("[]")
    try:
        return [str(ipaddress.ip_address(literal.split("%", 1)[0]))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(literal, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses
