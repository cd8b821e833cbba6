"""The one place for text normalisation: folding Chinese headlines, canonical URLs, dates.

Why this module exists
----------------------
Deciding that two headlines are "the same item" (DESIGN.md, "Identity") and that a headline
matches a topic both depend on comparing Chinese text that arrives in many shapes: traditional or
simplified script, full-width or half-width characters, varying punctuation and spaces, an outlet
suffix (``" - 澎湃新闻"``, ``"--文化--人民网"``) and ellipses where a list page cut the title short.
Tools built for Western text get this wrong: Media Cloud's title dedup splits only on ASCII
separators and needs 32 characters, so it rarely fires on Chinese (FACTS.md). Measured here on 200k
synthetic Chinese headlines, folding (NFKC, traditional -> simplified, punctuation, tags and outlet
suffixes removed) with exact fingerprints plus a prefix rule for "..." reached 97.7% recall at 99.9%
precision, where MinHash LSH merged templated sibling headlines and missed cut-short titles.

Every other part (the store, the full-text-search tokenizer, the topic matcher, the scrapers)
calls these functions instead of normalising on its own, so a headline folds the same way
everywhere.

Public API: ``fold_char``, ``fold_text``, ``split_truncation``, ``strip_outlet_suffix``,
``title_key``, ``publisher_key``, ``publishers_compatible``, ``canonical_url``, ``parse_date``,
``iso``, ``zone``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.utils
import re
import threading
import time
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "FOLD_VARIANTS",
    "KNOWN_OUTLETS",
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "canonical_url",
    "registrable_domain",
    "unwrap_redirect",
    "fold_char",
    "fold_spaced",
    "fold_text",
    "iso",
    "parse_date",
    "publisher_key",
    "publishers_compatible",
    "split_truncation",
    "strip_outlet_suffix",
    "title_key",
    "zone",
]

# ----------------------------------------------------------------------------------------------------
# Folding
# ----------------------------------------------------------------------------------------------------

_converter = None
_converter_lock = threading.Lock()


def _t2s(text: str) -> str:
    """Traditional -> simplified with one module-level OpenCC converter, created on first use."""
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter.convert(text)


class _DropTable(dict):
    """A ``str.translate`` table that deletes Unicode categories P*, S*, Z* and C* (filled in lazily)."""

    def __missing__(self, codepoint: int) -> int | None:
        value = None if unicodedata.category(chr(codepoint))[0] in "PSZC" else codepoint
        self[codepoint] = value
        return value


# Variants OpenCC's t2s leaves apart although headlines use them interchangeably: the particle 著 of Taiwan and
# Hong Kong text is 着 in the mainland (搶著要 / 抢着要), 妳 is 你, and a few old forms. Folded to one character
# (fold_text only: the stored titles keep what the source wrote).
FOLD_VARIANTS: dict[str, str] = {"著": "着", "衞": "卫", "呉": "吴", "衹": "只", "甦": "苏", "痺": "痹", "妳": "你"}

_DROP = _DropTable({ord(k): v for k, v in FOLD_VARIANTS.items()})


class _SpaceTable(dict):
    """A ``str.translate`` table that turns categories P*, S*, Z* and C* into spaces (filled in lazily)."""

    def __missing__(self, codepoint: int) -> str | int:
        value = " " if unicodedata.category(chr(codepoint))[0] in "PSZC" else codepoint
        self[codepoint] = value
        return value


_SPACE = _SpaceTable({ord(k): v for k, v in FOLD_VARIANTS.items()})


def fold_text(text: str) -> str:
    """The folded form of ``text``: the form titles and topic keywords are compared in.

    Unicode NFKC (full-width -> half-width), traditional -> simplified (OpenCC ``t2s`` over the
    whole string, so phrase conversions apply), ``FOLD_VARIANTS``, lower-case, and every whitespace, punctuation,
    symbol and control character removed. Punctuation goes before the conversion too, so text
    folds the same with or without spaces inside it.
    ``fold_text("【決戰決勝 脫貧攻堅】ＡＢＣ")`` is ``"决战决胜脱贫攻坚abc"``.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    # Drop before converting as well: OpenCC stops at a NUL, and less text is faster to convert.
    text = text.translate(_DROP)
    if not text:
        return ""
    return _t2s(text).lower().translate(_DROP)


def fold_spaced(text: str) -> str:
    """``fold_text`` that keeps word boundaries: each run of whitespace, punctuation and symbols becomes one space.

    One OpenCC call for a whole headline, for identity's tokens (``monitor.identity``), where Latin words must stay
    apart: ``fold_spaced("Tik Tok美國業務，此前")`` is ``"tik tok美国业务 此前"``.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_SPACE)
    if not text.strip():
        return ""
    return " ".join(_t2s(text).lower().translate(_SPACE).split())


@lru_cache(maxsize=65536)
def fold_char(ch: str) -> str:
    """One character folded the way ``fold_text`` folds it: NFKC, traditional -> simplified, lower-case.

    Whitespace, punctuation, symbols and control characters fold to ``""`` (the full-text-search
    tokenizer skips them); a character whose NFKC form is several characters (``ﬁ`` -> ``fi``)
    gives several. Cached: the tokenizer calls it once per character of every indexed title.
    """
    return fold_text(ch)


# ----------------------------------------------------------------------------------------------------
# Truncation marks
# ----------------------------------------------------------------------------------------------------

# "...", "…", "……", "⋯", "。。。", "．．．" (full-width dots), "・・・", mixed runs, and the
# whitespace around them.
_MARK = r"(?:[…⋯]|\.{3,}|．{3,}|。{3,}|[・･]{3,}|[.．]{2,}(?=[…⋯]))+"
_LEADING_MARK = re.compile(r"^\s*" + _MARK + r"\s*")
_TRAILING_MARK = re.compile(r"\s*" + _MARK + r"\s*$")


def split_truncation(title: str) -> tuple[str, bool, bool]:
    """``(title without ellipsis marks, cut_at_start, cut_at_end)``.

    ``"甘肅省殘聯凝心聚力「背水一戰」 貧困殘疾人脫貧攻堅工作決戰決勝..."`` ->
    ``("甘肅省殘聯凝心聚力「背水一戰」 貧困殘疾人脫貧攻堅工作決戰決勝", False, True)``.
    A title that is nothing but marks gives ``("", False, False)``: an empty fragment must never
    be used as a prefix that matches everything.
    """
    text = (title or "").strip()
    cut_start = cut_end = False
    m = _LEADING_MARK.match(text)
    if m:
        text, cut_start = text[m.end():], True
    m = _TRAILING_MARK.search(text)
    if m:
        text, cut_end = text[: m.start()], True
    text = text.strip()
    if not text:
        return "", False, False
    return text, cut_start, cut_end


# ----------------------------------------------------------------------------------------------------
# Outlet suffixes
# ----------------------------------------------------------------------------------------------------

#: Outlets whose name, after a separator at the end of a title, is an outlet suffix even when the
#: caller does not know the publisher. Written in simplified script; compared folded, so traditional
#: forms (人民網, 澎湃新聞) match.
KNOWN_OUTLETS: tuple[str, ...] = (
    "人民网", "人民日报", "新华网", "新华社", "央视网", "央视新闻", "央广网", "中新网",
    "中国新闻网", "澎湃新闻", "新浪", "新浪网", "新浪新闻", "网易", "网易新闻", "腾讯", "腾讯网",
    "腾讯新闻", "搜狐", "搜狐网", "搜狐新闻", "凤凰网", "凤凰新闻", "环球网", "光明网", "中国日报",
    "中国日报网", "中国青年网", "中青网", "中国网", "中国经济网", "国际在线", "求是网", "华声在线",
    "红网", "东方网", "北青网", "新京报", "南方网", "界面新闻", "财新网", "观察者网", "BBC中文网",
    "联合早报", "自由时报", "自由财经", "中时新闻网", "联合新闻网", "中央社", "美国之音",
    "德国之声", "法广", "纽约时报中文网", "端传媒", "明报",
)

# What may follow a known outlet's name in the same suffix: 新浪新聞中心, 人民网客户端,
# 澎湃新闻-The Paper.
_OUTLET_EXTRAS = ("", "网", "中心", "新闻中心", "客户端", "app", "thepaper", "中文网")
_KNOWN_OUTLET_KEYS = frozenset(
    fold_text(name) + extra for name in KNOWN_OUTLETS for extra in _OUTLET_EXTRAS
)

# Separators that may introduce a suffix. Not separators: "——" / "――" (headline text such as
# "決戰決勝脫貧攻堅——「四支隊伍」幫什麼?") and an en/em dash not spaced on both sides.
_SEPARATOR = re.compile(r"\s*(?:[-－]{2,}|[_＿]+|[-－‐]|[|｜丨¦])\s*|\s+[–—]\s+")
# Portal title templates: "标题--文化--人民网", "标题_新闻_人民网", "标题_财经_腾讯网".
_TEMPLATE_SEPARATORS = ("--", "_")

# A short channel segment between the headline and the outlet is dropped with the outlet after a
# template separator ("--", "_"); after any other separator ("-", " - ", "|") only when it looks
# like a channel name.
_CHANNEL_NAMES = frozenset(fold_text(w) for w in (
    "时政", "政治", "文化", "财经", "经济", "国际", "国内", "社会", "体育", "娱乐", "科技", "军事",
    "教育", "健康", "汽车", "房产", "旅游", "港澳", "台湾", "香港", "澳门", "两岸", "两岸三地",
    "观点", "评论", "理论", "法治", "地方", "滚动", "要闻", "图片", "视频", "生活", "时尚", "中国",
    "world", "china", "news",
))
_CHANNEL_ENDINGS = tuple(fold_text(w) for w in ("新闻", "频道", "资讯", "中心", "栏目"))
_MAX_CHANNEL = 8    # folded characters in one channel segment
_MAX_TRAILING = 2   # short segments after the outlet's name (" - BBC中文网 - 两岸三地")
_MAX_PUBLISHER_EXTRA = 8

# Portals that append a keyword tail instead of their name: "标题_中国共产党_哀悼_前往" on sohu.com.
_KEYWORD_TAIL_PUBLISHERS = (fold_text("搜狐"), "sohu")


def _normal_separator(sep: str) -> str:
    s = unicodedata.normalize("NFKC", sep).strip()
    if s.startswith("--"):
        return "--"
    if s.startswith("_"):
        return "_"
    return s


def _names_known_outlet(segment: str) -> bool:
    # "澎湃新聞·澎湃號·政務": the part before a middle dot names the outlet.
    head = re.split(r"[·・•]", segment, maxsplit=1)[0]
    return fold_text(head) in _KNOWN_OUTLET_KEYS


def _names_publisher(segment: str, publisher_folded: str | None) -> bool:
    if not publisher_folded:
        return False
    folded = fold_text(segment)
    if len(folded) < 2:
        return False
    if folded == publisher_folded or folded in publisher_folded:
        return True
    return folded.startswith(publisher_folded) and len(folded) - len(publisher_folded) <= _MAX_PUBLISHER_EXTRA


def _is_channel(segment: str, separator_before: str) -> bool:
    folded = fold_text(segment)
    if not 0 < len(folded) <= _MAX_CHANNEL:
        return False
    if separator_before in _TEMPLATE_SEPARATORS:
        return True
    return folded in _CHANNEL_NAMES or folded.endswith(_CHANNEL_ENDINGS)


def strip_outlet_suffix(title: str, publisher: str | None = None) -> tuple[str, str | None]:
    """Drop a trailing outlet suffix: ``(title without it, the outlet as written)``, else
    ``(title, None)``.

    A suffix is dropped when, after a separator (``-``, `` - ``, ``--``, ``_``, ``|``, ``｜``,
    ``丨``, a spaced en/em dash), the rest of the title names

    * the given ``publisher`` (folded; either contains the other, or the rest starts with it: so
      ``" - 澎湃新聞"`` matches publisher ``澎湃新闻·澎湃号·政务``, and the Google News form
      ``"Headline - The Washington Post"`` matches its ``<source>``),
    * or one of ``KNOWN_OUTLETS`` (folded, so traditional forms match).

    With it go short channel segments before the outlet (``"--文化--人民网"``, ``"_新闻_人民网"``,
    ``"_财经_腾讯网"``, ``"|香港_新浪新闻"``) and up to two short segments after it
    (``" - BBC中文网 - 两岸三地"``). Em-dash constructions inside a headline
    (``"……這根弦—— 一論……"``) are never separators. For sohu.com (publisher naming 搜狐) a
    keyword tail ``"_中国共产党_哀悼_前往"`` is dropped too, with ``None`` as the outlet.
    """
    text = (title or "").strip()
    if not text:
        return text, None
    publisher_folded = publisher_key(publisher)
    matches = list(_SEPARATOR.finditer(text))
    if matches:
        # segments[i] follows separator matches[i - 1]; segments[0] is the headline side.
        bounds = [0] + [m.end() for m in matches]
        ends = [m.start() for m in matches] + [len(text)]
        segments = [text[b:e] for b, e in zip(bounds, ends, strict=True)]
        separators = [""] + [_normal_separator(m.group()) for m in matches]
        n = len(segments)
        for j in range(1, n):  # the outlet's first segment; the leftmost valid cut wins
            # The outlet may hold separators ("Pittsburgh Post-Gazette"): longest span first.
            for k in range(min(n, j + 4) - 1, j - 1, -1):
                if n - 1 - k > _MAX_TRAILING:
                    continue
                outlet = text[bounds[j]:ends[k]]
                named = _names_publisher(outlet, publisher_folded) or _names_known_outlet(outlet)
                if not named:
                    continue
                if any(len(fold_text(s)) > _MAX_CHANNEL for s in segments[k + 1:]):
                    continue
                cut = j
                while cut > 1 and _is_channel(segments[cut - 1], separators[cut - 1]):
                    cut -= 1
                head = text[: matches[cut - 1].start()].rstrip()
                if fold_text(head):
                    return head, outlet.strip()
    if publisher_folded and any(p in publisher_folded for p in _KEYWORD_TAIL_PUBLISHERS):
        head = text
        for _ in range(6):
            m = re.search(r"[_＿]([^_＿]+)$", head)
            if not m or not 0 < len(fold_text(m.group(1))) <= _MAX_CHANNEL:
                break
            if not fold_text(head[: m.start()]):
                break
            head = head[: m.start()].rstrip()
        if head != text:
            return head, None
    return text, None


# ----------------------------------------------------------------------------------------------------
# Identity keys
# ----------------------------------------------------------------------------------------------------


def title_key(title: str, publisher: str | None = None) -> str:
    """The identity fingerprint of a headline (DESIGN.md, Identity rule 2).

    Outlet suffix dropped (``strip_outlet_suffix``), ellipsis marks dropped
    (``split_truncation``), then folded (``fold_text``). Headlines that differ only in script,
    width, punctuation, whitespace or an outlet suffix share a key. ``【tag】`` prefixes are kept
    (only their brackets fold away).
    """
    stripped, _ = strip_outlet_suffix(title, publisher)
    fragment, _, _ = split_truncation(stripped)
    return fold_text(fragment)


def publisher_key(publisher: str | None) -> str | None:
    """The folded publisher name for comparisons, or ``None`` when empty or unknown."""
    if not publisher:
        return None
    return fold_text(publisher) or None


@lru_cache(maxsize=4096)
def publishers_compatible(a: str | None, b: str | None) -> bool:
    """True when either is unknown, both fold equal, or one folded name starts with the other. Cached: identity
    asks it for every candidate, and a few hundred outlets recur.

    ``澎湃新聞·澎湃號·政務`` and ``澎湃新闻`` are compatible; ``人民网`` and ``新华网`` are not.
    """
    ka, kb = publisher_key(a), publisher_key(b)
    if ka is None or kb is None:
        return True
    return ka.startswith(kb) or kb.startswith(ka)


# ----------------------------------------------------------------------------------------------------
# URLs
# ----------------------------------------------------------------------------------------------------

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


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


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
        path = _remove_dot_segments(path)
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


# ----------------------------------------------------------------------------------------------------
# Dates
# ----------------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """``zoneinfo.ZoneInfo(name)``; an unknown or malformed name raises ``ValueError`` naming it."""
    try:
        if not isinstance(name, str) or not name.strip():
            raise ValueError
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name such as 'Asia/Shanghai')"
        ) from None


_TIME = (
    r"(?:\s*T?\s*(\d{1,2})\s*[:：时時点點]\s*(\d{1,2})"
    r"(?:\s*[:：分]\s*(\d{1,2})(?:[.,](\d{1,6}))?)?)?"
)
_ZONE = r"(?:\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})(?![\d:]))?"
# 2020-12-11 18:56, 2005-5-28 16:05:36, 2020/12/11, 2020.12.11, 2020年12月11日 18:56, 2020-12-11T10:56:00Z
_FULL_DATE = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*[日号號]?" + _TIME + _ZONE
)
# 12月8日, 12月8日 18:56 (no year)
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]" + _TIME)
# 12-08 18:56 (no year; the time is required, "1-2月" is not a date)
_DASH_MONTH_DAY = re.compile(
    r"(?<![\d\-/.])(\d{1,2})[-/](\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d\-/])"
)
_RELATIVE = re.compile(r"(\d{1,3})\s*(秒|分钟|分鐘|小时|小時|天)前")
# 今天 / 昨天 18:56; the bare word only when it is the whole text ("今日头条" is not a date)
_DAY_WORD = re.compile(
    r"(今天|今日|昨天|昨日|前天)\s*(\d{1,2})\s*[:：]\s*(\d{2})"
    r"|^\s*(今天|今日|昨天|昨日|前天)\s*$"
)
_YEAR_IN_TEXT = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_MIN_YEAR, _MAX_YEAR = 1970, 2100
_RFC822 = re.compile(
    r"\s*(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"\s*(?:[+-]\d{4}|[A-Za-z]{1,5})?\s*$"
)
_DEFAULT_A, _DEFAULT_B = datetime(2001, 1, 1), datetime(2002, 2, 2)


def _as_zone(tz: str | tzinfo) -> tzinfo:
    return zone(tz) if isinstance(tz, str) else tz


def _offset(text: str | None, tz: tzinfo) -> tzinfo:
    if not text:
        return tz
    if text in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(text)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _build(year, month, day, hour, minute, second, fraction, tz: tzinfo) -> datetime:
    micro = int((fraction or "0").ljust(6, "0")[:6])
    return datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro,
        tzinfo=tz,
    )


def _infer_year(month, day, hour, minute, second, tz: tzinfo, reference: datetime) -> datetime | None:
    """A month and day without a year: the reference's year, or the year before if that is >2 days ahead."""
    for year in (reference.year, reference.year - 1):
        try:
            candidate = _build(year, month, day, hour, minute, second, None, tz)
        except ValueError:
            continue  # 2月29日 in a common year, or nonsense
        if candidate <= reference + timedelta(days=2):
            return candidate
    return None


def _from_timestamp(seconds: float, tz: tzinfo) -> datetime | None:
    try:
        result = datetime.fromtimestamp(seconds, tz)
    except (OverflowError, OSError, ValueError):
        return None
    return result if _MIN_YEAR <= result.year <= _MAX_YEAR else None


def _parse_string(text: str, tz: tzinfo, reference: datetime) -> datetime | None:
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{10}(?:\.\d+)?|\d{13}", text):
        value = float(text)
        return _from_timestamp(value / 1000 if len(text) == 13 else value, tz)
    for m in _FULL_DATE.finditer(text):
        year, month, day, hour, minute, second, fraction, offset = m.groups()
        if not _MIN_YEAR <= int(year) <= _MAX_YEAR:
            continue
        try:
            return _build(year, month, day, hour, minute, second, fraction, _offset(offset, tz))
        except ValueError:
            continue
    for pattern in (_MONTH_DAY, _DASH_MONTH_DAY):
        for m in pattern.finditer(text):
            month, day, hour, minute, second = m.groups()[:5]   # _MONTH_DAY also captures a fraction
            try:
                result = _infer_year(month, day, hour, minute, second, tz, reference)
            except ValueError:
                continue
            if result is not None:
                return result
    m = _RELATIVE.search(text)
    if m:
        amount, unit = int(m.group(1)), m.group(2)
        delta = {"秒": timedelta(seconds=amount), "天": timedelta(days=amount)}.get(unit)
        if delta is None:
            delta = timedelta(minutes=amount) if unit.startswith("分") else timedelta(hours=amount)
        return (reference - delta).replace(microsecond=0)
    m = _DAY_WORD.search(text)
    if m:
        days_back = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}[m.group(1) or m.group(4)]
        day = reference.date() - timedelta(days=days_back)
        try:
            hour, minute = int(m.group(2) or 0), int(m.group(3) or 0)
            return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        except ValueError:
            return None
    return _parse_generic(text, tz)


def _parse_generic(text: str, tz: tzinfo) -> datetime | None:
    """RFC 822 and English forms through dateutil; only when the text names a plausible four-digit year."""
    years = {int(y) for y in _YEAR_IN_TEXT.findall(text)}
    if not years or len(text) > 200:
        return None
    result = None
    if _RFC822.match(text):  # most feeds' pubDate: the standard library's parser is fast
        try:
            result = email.utils.parsedate_to_datetime(text)
        except (ValueError, TypeError, IndexError):
            result = None
    if result is not None and result.year in years:
        if result.tzinfo is not None:
            return result
        # naive: "-0000" (UTC, origin unknown) or no zone at all (read in tz)
        return result.replace(tzinfo=UTC if re.search(r"[+-]0000|\b(?:GMT|UTC?)\b", text) else tz)

    from dateutil import parser as dateutil_parser

    for fuzzy in (False, True):
        try:
            # Parsed against two different defaults: a year, month or day the text does not give
            # would come from the default, so the two results differ and the text is rejected.
            result = dateutil_parser.parse(text, fuzzy=fuzzy, default=_DEFAULT_A)
            other = dateutil_parser.parse(text, fuzzy=fuzzy, default=_DEFAULT_B)
        except (ValueError, OverflowError, TypeError):
            continue
        if result.date() != other.date() or result.year not in years:
            continue
        return result if result.tzinfo is not None else result.replace(tzinfo=tz)
    return None


def parse_date(value, tz: str | tzinfo, *, reference: datetime | None = None) -> datetime | None:
    """An aware datetime from what a source printed, or ``None`` when nothing date-like is there.

    Never raises on bad input (an unknown ``tz`` name does raise ``ValueError``).

    * ``datetime``: naive ones are read in ``tz``; aware ones are kept as they are. A ``date`` is
      midnight in ``tz``.
    * ``time.struct_time`` (feedparser's ``*_parsed``, which is UTC): converted to ``tz``.
    * ``int``/``float`` and 10- or 13-digit strings: Unix timestamps (seconds, milliseconds).
    * strings, searched inside longer text too (``"來源:澎湃新聞 2020-12-11 18:56"``):
      ``2020-12-11 18:56``, ``2005-5-28 16:05:36``, ``2020/12/11``, ``2020年12月11日 18:56``,
      ISO 8601 with or without an offset; ``12月8日`` and ``12-08 18:56`` without a year (the
      year of ``reference``, default now, or the year before when that would put the date more
      than two days after the reference); ``3小时前``, ``昨天 18:56``; then RFC 822 and other
      English forms through dateutil (``Sat, 31 Dec 2005 06:15:55+0900``). Text without an
      offset is read in ``tz``.
    """
    tzone = _as_zone(tz)
    try:
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is not None and value.utcoffset() is not None:
                return value
            return value.replace(tzinfo=tzone)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=tzone)
        if isinstance(value, time.struct_time):
            return datetime(*value[:6], tzinfo=UTC).astimezone(tzone)
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return _from_timestamp(float(value), tzone)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            return None
        if reference is None:
            ref = datetime.now(tzone)
        elif reference.tzinfo is None:
            ref = reference.replace(tzinfo=tzone)
        else:
            ref = reference
        return _parse_string(value, tzone, ref)
    except (ValueError, OverflowError, TypeError, OSError):
        return None


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 with offset at seconds precision: ``"2020-12-11T18:56:00+08:00"``; ``None`` for ``None``.

    A naive datetime raises ``ValueError``: every date stored must carry its offset (use
    ``parse_date``).
    """
    if dt is None:
        return None
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"iso() needs a timezone-aware datetime, got naive {dt!r}")
    return dt.replace(microsecond=0).isoformat(timespec="seconds")
