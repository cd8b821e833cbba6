"""URLs: links resolved as browsers do, the canonical form identity rule 1 compares, sites (registrable domains),
Google News redirect links, and whether a URL is a front or section page rather than an article.

Both ``join_url`` and ``canonical_url`` remove ``.``/``..`` segments with the one ``remove_dot_segments``
(RFC 3986 section 5.2.4); canonical_url only ever hands it absolute paths.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from urllib.parse import quote, unquote, urlsplit

_URL_NOISE = re.compile(r"[\t\n\r]")   # browsers drop tabs and newlines inside URLs
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, keeping empty segments (``/web/2012/http://host/...`` stays as it is).

    A relative path stays relative (``a/../b`` -> ``b``); an absolute one never climbs above ``/``.
    """
    if "." not in path:
        return path
    absolute = path.startswith("/")
    segments = path.split("/")[1:] if absolute else path.split("/")
    out: list[str] = []
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments and segments[-1] in (".", ".."):
        out.append("")
    return ("/" if absolute else "") + "/".join(out)


def join_url(base: str, reference: str) -> str:
    """Resolve ``reference`` against ``base`` as RFC 3986 (and browsers) do.

    ``urllib.parse.urljoin`` drops empty path segments, turning a Wayback link
    ``/web/2012/http://www.he.xinhuanet.com/x.htm`` into ``.../http:/www.he.xinhuanet.com/x.htm``.
    """
    ref = urlsplit(reference)
    if ref.scheme and not ref.netloc and ref.scheme.lower() == urlsplit(base).scheme.lower():
        # "http:g" against an http base: relative, as browsers read it.
        reference = reference[len(ref.scheme) + 1:]
        ref = urlsplit(reference)
    if ref.scheme:
        scheme, netloc, path, query = ref.scheme, ref.netloc, remove_dot_segments(ref.path), ref.query
    else:
        b = urlsplit(base)
        scheme = b.scheme
        if reference.startswith("//"):
            netloc, path, query = ref.netloc, remove_dot_segments(ref.path), ref.query
        else:
            netloc = b.netloc
            if not ref.path:
                path = b.path
                query = ref.query if "?" in reference else b.query
            else:
                if ref.path.startswith("/"):
                    path = ref.path
                elif b.netloc and not b.path:
                    path = "/" + ref.path
                else:
                    path = b.path[: b.path.rfind("/") + 1] + ref.path
                path = remove_dot_segments(path)
                query = ref.query
    url = f"{scheme}://{netloc}{path}" if netloc else f"{scheme}:{path}"
    if query:
        url += "?" + query
    if ref.fragment:
        url += "#" + ref.fragment
    return url


def resolve_link(base: str | None, href: str | None) -> str | None:
    """``href`` made absolute against ``base``; None unless the result is an http(s) URL."""
    if href is None:
        return None
    href = _URL_NOISE.sub("", href).strip()
    if not href or href.startswith("#"):
        return None
    try:
        url = join_url(base or "", href)
        parts = urlsplit(url)
    except ValueError:   # e.g. an invalid IPv6 literal
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def non_web_link(href: str | None) -> bool:
    """Whether ``href`` names a scheme other than http(s) (``javascript:``, ``mailto:``, ``tel:``, ``data:``...):
    a link that is no web page, as opposed to a relative, empty or ``#`` one."""
    if not href:
        return False
    match = _SCHEME.match(_URL_NOISE.sub("", href).strip())
    return match is not None and match.group(1).lower() not in ("http", "https")


def origin(url: str) -> str:
    """``https://Example.org:8443/a`` -> ``https://example.org:8443``: scheme and authority, lower-cased."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


# Second-level labels under a country code that are registries, not sites (``com`` in ``people.com.cn``), and the
# province registries under .cn (``gd.cn``): a short built-in list, not the whole public-suffix list.
_REGISTRY_LABELS = frozenset({"com", "net", "org", "gov", "edu", "ac", "co", "or", "ne", "go", "mil", "idv", "nom",
                              "sch", "int"})
_CN_PROVINCES = frozenset({"bj", "tj", "he", "sx", "nm", "ln", "jl", "hl", "sh", "js", "zj", "ah", "fj", "jx", "sd",
                           "ha", "hb", "hn", "gd", "gx", "hi", "cq", "sc", "gz", "yn", "xz", "sn", "gs", "qh", "nx",
                           "xj"})


def registrable_domain(host: str) -> str:
    """The site a host belongs to (``politics.people.com.cn`` -> ``people.com.cn``, ``www.bbc.co.uk`` ->
    ``bbc.co.uk``, ``news.xxx.gd.cn`` -> ``xxx.gd.cn``); an IP address or a one- or two-label host is itself."""
    host = host.lower().rstrip(".")
    labels = host.split(".")
    if len(labels) <= 2 or re.fullmatch(r"[\d.]+|\[?[0-9a-f:]+\]?", host):
        return host
    tld, second = labels[-1], labels[-2]
    registry = len(tld) == 2 and (second in _REGISTRY_LABELS or tld == "cn" and second in _CN_PROVINCES)
    return ".".join(labels[-3:] if registry else labels[-2:])


def site_of(url: str) -> str:
    """The site a URL belongs to: its host less subdomains (``culture.people.com.cn`` -> ``people.com.cn``;
    ``registrable_domain``)."""
    return registrable_domain(urlsplit(url).hostname or "")


def site_label(url: str) -> str | None:
    """The site's own name in its domain (``www.sohu.com`` -> ``sohu``), a hint for outlet suffixes."""
    site = site_of(url)
    return site.split(".")[0] if site and not re.fullmatch(r"[\d.]+", site) else None


#: Query parameters that only track where a reader came from; dropped from canonical URLs
#: (names compared lower-case).
TRACKING_PARAMS: frozenset[str] = frozenset({
    "spm", "from", "fbclid", "gclid", "gclsrc", "dclid", "yclid", "msclkid", "twclid", "igshid", "mc_cid",
    "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "share_token", "scene", "srcid", "isappinstalled", "clicktime",
    "enterid", "sharer_sharetime", "sharer_shareid", "share_from", "share_source", "share_medium", "wfr",
    "vd_source", "ocid", "cmpid", "ncid", "xtor", "__twitter_impression", "wt.mc_id",
})
#: Prefixes of tracking parameter names (utm_source, utm_medium, utm_campaign, ...).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_",)

_DEFAULT_PORTS = {"80", "443"}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def _normalise_percent(part: str, safe: str) -> str:
    """Upper-case percent escapes, decode the unreserved ones, escape anything not allowed raw (UTF-8)."""

    def fix(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else "%" + m.group(1).upper()

    return quote(_PERCENT.sub(fix, part), safe=safe + "%")


def _is_tracking(name: str) -> bool:
    key = unquote(name).lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


# Google News article links: /articles/<base64url protobuf>, under /rss/ or /__i/rss/rd/ (the feed's <link>).
_GOOGLE_NEWS_ARTICLE = re.compile(r"^/(?:__i/rss/rd/|rss/)?articles/([A-Za-z0-9_-]{16,})")


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            return value, i
        shift += 7


def unwrap_redirect(url: str) -> str | None:
    """The publisher's URL that a Google News article link carries, or ``None``.

    Google News feeds link every item through ``news.google.com/.../articles/CBMi...``: base64url of a small
    protobuf whose first text field, in the links of 2019-2023, is the article's own URL. Identity (rule 1)
    compares that URL, so a Google News item and the publisher's own feed item are one row. Newer links carry an
    opaque id instead (``AU_yqL...``): ``None``, and the redirect URL stays the key.
    """
    try:
        parts = urlsplit((url or "").strip())
        if (parts.hostname or "").lower() != "news.google.com":
            return None
        m = _GOOGLE_NEWS_ARTICLE.match(parts.path)
        if not m:
            return None
        token = m.group(1)
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        i = 0
        while i < len(data):
            tag, i = _varint(data, i)
            wire = tag & 7
            if wire == 0:
                _, i = _varint(data, i)
            elif wire == 2:
                length, i = _varint(data, i)
                field = data[i:i + length]
                i += length
                if field.startswith((b"http://", b"https://")):
                    return field.decode("utf-8")
            else:
                return None
    except (ValueError, IndexError, UnicodeDecodeError, binascii.Error):
        return None
    return None


def canonical_url(url: str) -> str:
    """The canonical form of a URL, used only as an identity key (DESIGN.md, Identity rule 1).

    ``http`` and ``https`` both become ``http://``; host lower-case (IDN hosts as punycode),
    default ports (80, 443) and the fragment dropped, tracking parameters (``TRACKING_PARAMS``,
    ``utm_*``) dropped, the remaining query parameters sorted (blank values kept), an empty path
    made ``/``, ``.``/``..`` segments resolved, percent escapes upper-cased and unreserved ones
    decoded, non-ASCII characters percent-encoded as UTF-8. Protocol-relative ``//host/...`` is
    read as http. Anything else (other schemes, relative or unparsable strings) comes back
    stripped, otherwise unchanged: it never raises. A Google News article link becomes the canonical form of the
    publisher's URL it carries (``unwrap_redirect``).
    """
    raw = (url or "").strip()
    raw = unwrap_redirect(raw) or raw
    try:
        text = "http:" + raw if raw.startswith("//") else raw
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.netloc:
            return raw
        host = (parts.hostname or "").rstrip(".")
        if not host:
            return raw
        port = parts.port  # raises ValueError on a bad port
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        elif not host.isascii():
            with contextlib.suppress(UnicodeError):
                host = host.encode("idna").decode("ascii")
        host = host.lower()
        netloc = host
        if port is not None and str(port) not in _DEFAULT_PORTS:
            netloc = f"{host}:{port}"
        if "@" in parts.netloc:
            netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
        path = _normalise_percent(parts.path, safe="/:@!$&'()*+,;=") or "/"
        path = remove_dot_segments(path)
        params = []
        for piece in parts.query.split("&"):
            if not piece:
                continue
            name, eq, value = piece.partition("=")
            if _is_tracking(name):
                continue
            safe = "/:@!$'()*+,;?="
            params.append((_normalise_percent(name, safe), eq, _normalise_percent(value, safe)))
        params.sort(key=lambda p: (p[0], p[2]))
        query = "&".join(name + eq + value for name, eq, value in params)
        return f"http://{netloc}{path}" + (f"?{query}" if query else "")
    except (ValueError, UnicodeError, TypeError):
        return raw


MAX_INDEX_SEGMENTS = 2   # a section's index page is at most two directories deep (/world/, /news/asia/)
_INDEX_FILE = re.compile(r"(?:index|default|main|home)\.(?:s?html?|php|aspx?|jsp)", re.I)
_ARTICLE_SEGMENT = re.compile(r"\d{4}")
_SLUG_SEPARATORS = re.compile(r"[-_]")
_ARTICLE_QUERY = re.compile(r"\d{3}")


def index_page(url: str) -> bool:
    """Whether ``url`` is a site's front page or a section's index page, not an article.

    Sites link their sections from headline blocks (sina's 推荐新闻 links a 中超 headline to
    ``http://sports.sina.com.cn/csl/``, a page that changes every hour). An index page's path has at most two
    segments and ends in ``/`` or an index file (``index.html``, ``index.shtml``, ``default.aspx``...): ``/``,
    ``/csl/``, ``/world/asia/``, ``/china/index.shtml``. Not an index page, whatever its shape, when a segment looks
    like an article's: a run of four digits (a date or an id: ``/2019/10/``, ``/t/378265/``), or a slug of three or
    more words (``/news/poverty-alleviation-in-gansu/``); nor when the query, tracking parameters aside, holds a run of
    three digits (``/?p=123``, ``/index.php?id=4567``). A path that does not end so (``/newsDetail_forward_5420361``,
    ``/a/733320600_429139``, ``/c/doc.shtml``) is an article.
    """
    parts = urlsplit(canonical_url(url))
    if _ARTICLE_QUERY.search(parts.query):
        return False
    segments = parts.path.split("/")[1:]
    if segments and _INDEX_FILE.fullmatch(segments[-1]):
        segments[-1] = ""
    if not segments or segments == [""]:
        return True                    # the front page: "/", "/index.html"
    if segments[-1] != "":
        return False                   # a page, not a directory
    segments = segments[:-1]
    return len(segments) <= MAX_INDEX_SEGMENTS and not any(
        not segment or _ARTICLE_SEGMENT.search(segment) or len(_SLUG_SEPARATORS.findall(segment)) >= 2
        for segment in segments)
