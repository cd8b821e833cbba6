"""Outlet suffixes (" - 澎湃新闻", "--文化--人民网") and the identity keys of a headline and a publisher.

A headline as a portal prints it often ends with the outlet's name and a channel; identity rule 2 (DESIGN.md)
compares titles without it, and the name removed tells the publisher when the source does not.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from monitor.core.fold import fold_text, split_truncation

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
