"""The core of a headline: a title reduced to what identity compares (``headline()``), with its tokens and numbers.

The core is the title without its outlet suffix (done by the normaliser), its ellipsis marks, a leading tag that
is not the headline (``【決戰決勝脫貧攻堅】``, ``[视频]``, ``专题``, ``视频：``) and a trailing media mark (``(图)``,
``(组图)``), folded (``monitor.core.fold.fold_text``). Its tokens are CJK character bigrams and Latin words; its
numbers include Chinese numerals read as numbers (第五 -> 5), for the guards of ``monitor.identity.guards``.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from functools import lru_cache
from itertools import chain

from monitor.core import fold
from monitor.identity.thresholds import TAG_MIN_REMAINDER

# Labels that mark the medium or the column, not the story: dropped at the start when followed by a separator.
MEDIA_LABELS = (
    "视频", "音频", "图集", "组图", "图解", "图文", "快讯", "独家", "专题", "直播", "原创", "突发", "最新", "重磅",
    "一图读懂", "一图看懂", "现场", "高清", "微视频", "短视频", "动画", "海报", "H5", "Video", "Photos", "Live",
)
_LABEL_WORDS = "|".join(re.escape(w) for w in sorted(MEDIA_LABELS, key=len, reverse=True))
_LABEL = re.compile(r"^\s*(?:" + _LABEL_WORDS + r")\s*[:：|｜丨\-－—–·]+\s*", re.I)
# A bare leading "专题" (tencent's list pages put it before the headline with no separator).
_BARE_LABEL = re.compile(r"^\s*专题(?=\S{6})")
# 【tag】, [tag], 〔tag〕, ［tag］, 「tag」 at the start, of up to 20 characters.
_TAG = re.compile(r"^\s*([【\[〔［「『]([^】\]〕］」』]{1,20})[】\]〕］」』])\s*")
_MEDIA_MARK = re.compile(r"\s*[（(\[【](?:图|组图|多图|附图|图文|视频|附视频|音频|高清|直播|实录)[）)\]】]\s*$")

_PIECE = re.compile(r"\d+(?:\.\d+)?|[a-z]+| |[^\da-z ]+")
# What makes _PIECE split other than at a space (ASCII, any digit): without it, the runs are the space-separated parts.
_NOT_CJK_RUN = re.compile(r"[\x00-\x1f\x21-\x7f\d]")
ENGLISH_STOPWORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "as", "is", "are", "was", "were", "be",
    "by", "with", "from", "its", "it", "this", "that",
})
ENGLISH_NUMBERS = {
    word: str(number) for number, word in enumerate((
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"))
}

# Chinese numerals that count something: after 第, or before a measure word.
_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_CN_NUMERAL = "零〇一二两三四五六七八九十百千万"
_MEASURE = "场届次期批个年月日号名位项条轮例人天岁家所座件辆起只篇章集季"
_CN_NUMBER = re.compile(
    rf"(?<=第)[{_CN_NUMERAL}]+|[{_CN_NUMERAL}]+(?=[{_MEASURE}])"
)
_ASCII_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ANY_DIGIT = re.compile(r"\d")
_ANY_NUMERAL = re.compile(f"[{_CN_NUMERAL}]")
_ANY_MARK = re.compile("[….．。・･⋯]")            # what fold.split_truncation looks for
_TAG_STARTS = frozenset("【[〔［「『专") | {w[0] for w in MEDIA_LABELS} | {w[0].lower() for w in MEDIA_LABELS}


class Headline:
    """What identity compares: a title reduced to its core, folded, with its tokens and numbers. Immutable.

    ``numbers`` and ``bigrams`` are made when first read: ``compare`` reads numbers only for a near-duplicate and
    bigrams are read only for incoming headlines (``quick_score``), so most stored headlines never need them.
    """

    __slots__ = ("core", "key", "plain", "cut", "tokens", "_words", "_numbers", "_bigrams")
    core: str                     # the title without ellipsis marks, leading tags and trailing media marks
    key: str                      # fold_text(core): the core key (items.core_key)
    plain: str                    # fold_text of the title without ellipsis marks (tags kept): items.title_key
    cut: str                      # '', 'start', 'end' or 'both': where the title was cut short with "..."
    tokens: frozenset[str]        # CJK character bigrams and Latin words of the core

    def __init__(self, core: str, key: str, plain: str, cut: str, tokens: frozenset[str],
                 words: tuple[str, ...] | list[str] = (), bigrams: frozenset[str] | None = None):
        self.core, self.key, self.plain, self.cut, self.tokens = core, key, plain, cut, tokens
        self._words, self._numbers, self._bigrams = words, None, bigrams

    @property
    def numbers(self) -> tuple[str, ...]:
        """Numbers in the core, sorted, Chinese numerals included (第五 -> 5)."""
        if self._numbers is None:
            self._numbers = _numbers(self.core, self.key, self._words)
        return self._numbers

    @property
    def bigrams(self) -> frozenset[str]:
        """Character bigrams of the key, for ``quick_score``."""
        if self._bigrams is None:
            self._bigrams = bigrams(self.key)
        return self._bigrams

    def _fields(self) -> tuple:
        return self.core, self.key, self.plain, self.cut, self.tokens, self.numbers, self.bigrams

    def __eq__(self, other: object) -> bool:
        return self._fields() == other._fields() if isinstance(other, Headline) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        names = ("core", "key", "plain", "cut", "tokens", "numbers", "bigrams")
        return "Headline(" + ", ".join(f"{n}={v!r}" for n, v in zip(names, self._fields(), strict=True)) + ")"



def _letters(fragment: str) -> int:
    """How many characters ``fold_text`` keeps of a fragment (no script conversion needed to count them)."""
    return len(unicodedata.normalize("NFKC", fragment).translate(_NOT_LETTERS))


class _NotLetters(dict):
    def __missing__(self, codepoint: int) -> int | None:
        value = None if unicodedata.category(chr(codepoint))[0] in "PSZC" else codepoint
        self[codepoint] = value
        return value


_NOT_LETTERS = _NotLetters()


def _strip_tags(title: str) -> str:
    """Drop leading tags and labels (while enough headline follows) and a trailing media mark."""
    core = title
    for _ in range(3 if title[:1] in _TAG_STARTS else 0):
        m = _LABEL.match(core) or _BARE_LABEL.match(core)
        if m and _letters(core[m.end():]) >= 4:
            core = core[m.end():]
            continue
        m = _TAG.match(core)
        if m and _letters(core[m.end():]) >= TAG_MIN_REMAINDER:
            core = core[m.end():]
            continue
        break
    m = _MEDIA_MARK.search(core) if core[-1:] in "）)]】" else None
    if m and _letters(core[: m.start()]) >= 4:
        core = core[: m.start()]
    return core.strip()


def _cn_number(numeral: str) -> int | None:
    total, section, digit = 0, 0, None
    for ch in numeral:
        if ch in _CN_DIGIT:
            digit = _CN_DIGIT[ch]
        elif ch == "万":
            section = (section + (digit or 0)) * 10000
            total, section, digit = total + section, 0, None
        else:
            section += (1 if digit is None else digit) * _CN_UNIT[ch]
            digit = None
    value = total + section + (digit or 0)
    return value if any(ch in _CN_DIGIT or ch == "十" for ch in numeral) else None


def _numbers(core: str, key: str, words: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    found = [_normal_number(n) for n in _ASCII_NUMBER.findall(unicodedata.normalize("NFKC", core))] \
        if _ANY_DIGIT.search(core) else []
    if _ANY_NUMERAL.search(key):
        for numeral in _CN_NUMBER.findall(key):
            value = _cn_number(numeral)
            if value is not None:
                found.append(str(value))
    if words:
        found.extend(ENGLISH_NUMBERS[w] for w in words if w in ENGLISH_NUMBERS)
    return tuple(sorted(found)) if found else ()


def _normal_number(number: str) -> str:
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number.lstrip("0") or "0"


def _tokens(spaced: str) -> tuple[frozenset[str], list[str]]:
    """CJK runs give character bigrams (a lone character itself); Latin words and numbers are one token each."""
    if not _NOT_CJK_RUN.search(spaced):       # most headlines: CJK runs between spaces only (same tokens, faster)
        if not spaced:
            return frozenset(), []
        return frozenset(chain.from_iterable(
            map(operator.add, run, run[1:]) if len(run) > 1 else (run,) for run in spaced.split(" "))), []
    tokens: set[str] = set()
    words: list[str] = []
    for run in _PIECE.findall(spaced):
        if run[0] == " ":
            continue
        if run[0].isascii():
            words.append(run)
            if run not in ENGLISH_STOPWORDS:
                tokens.add(ENGLISH_NUMBERS.get(run, run))
        elif len(run) == 1:
            tokens.add(run)
        else:
            tokens.update(map(operator.add, run, run[1:]))
    return frozenset(tokens), words


# Headlines kept (~3 KB each, their token sets): a bound on the service's memory. Incoming titles do not need it (a
# batch makes its own once: ``db.store.lookups.KnownKeys``); stored titles compared again do (at 1,000,000 stored
# items, 12% of them at 512 entries, 27% at 2,048).
HEADLINE_CACHE_SIZE = 512


@lru_cache(maxsize=HEADLINE_CACHE_SIZE)
def headline(title: str) -> Headline:
    """The core of a stored or incoming title (outlet suffix already removed, as ``items.title`` is).

    Cached: a stored item is compared with many incoming ones within its story window. Not more: every entry holds
    token sets, and the cache must not grow with the corpus. ``make_headline`` is the same, not cached.
    """
    return make_headline(title)


def make_headline(title: str) -> Headline:
    """``headline()`` without its cache: for titles asked for once (a batch keeps its own)."""
    title = title or ""
    if not _ANY_MARK.search(title):             # most titles: no ellipsis to look for
        fragment, cut = title.strip(), ""
    else:
        fragment, cut_start, cut_end = fold.split_truncation(title)
        cut = {(False, False): "", (True, False): "start", (False, True): "end", (True, True): "both"}[
            (cut_start, cut_end)]
    core = _strip_tags(fragment) or fragment
    spaced = fold.fold_spaced(core)
    key = spaced.replace(" ", "")
    plain = key if core == fragment else fold.fold_text(fragment)
    if not key:
        core, key, spaced = fragment, plain, fold.fold_spaced(fragment)
    if key and key == spaced and not _NOT_CJK_RUN.search(key):      # one run of CJK: its tokens are its bigrams
        tokens = bigrams(key)
        return Headline(core, key, plain, cut, tokens, bigrams=tokens)
    tokens, words = _tokens(spaced)
    return Headline(core, key, plain, cut, tokens, words)


def bigrams(key: str) -> frozenset[str]:
    """Character bigrams of a folded key (``quick_score``'s cheap view of a stored title)."""
    return frozenset(map(operator.add, key, key[1:])) or frozenset((key,))
