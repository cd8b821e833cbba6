"""Near-duplicate headlines: when two different titles are one story (or one item), decided on Chinese text.

Why not MinHash or SimHash alone
--------------------------------
Measured on this project's labelled pairs (``bench/identity_eval.py``, figures in ``bench/README.md``): a
similarity threshold alone cannot tell a reworded headline (``印媒称中印第五轮军长级会谈开始`` / ``印媒：中印第五轮
军长级会谈举行``) from a templated sibling that shares all but two characters (``南召县召开决战决胜脱贫攻坚誓师大会``
/ ``西峡县召开...``). MinHash LSH at 0.8 over character 3-grams merged such siblings and missed most cut-short
titles (FACTS.md). So the decision here has three parts:

1. **The core of a headline** (``headline()``): the title without its outlet suffix (done by the normaliser), its
   ellipsis marks, a leading tag that is not the headline (``【決戰決勝脫貧攻堅】``, ``[视频]``, ``专题``, ``视频：``)
   and a trailing media mark (``(图)``, ``(组图)``), folded (``monitor.core.fold.fold_text``).
2. **Evidence**: the same core; a cut-short title that is the beginning (or, cut at the start, a part) of the other
   one; or a near-duplicate: character-bigram Dice or containment over a threshold (Latin words count as tokens).
3. **Guards** that veto a near-duplicate, because a templated headline differs exactly there: different numbers
   (``第148`` / ``第149``, ``3月19日`` / ``3月20日``, Chinese numerals read as numbers), a substituted place
   (``南召县`` / ``西峡县``: the changed characters sit before 省/市/县/区/镇/乡/村/州/国...), a substituted subject
   at the start (``李微微：`` / ``王志群：``), an ordinal (``（上）`` / ``（下）``), 东/南/西/北 (``湖南`` /
   ``湖北``), short slots filled differently with nothing else changed (``平凉专场`` / ``庆阳专场``; ``SYNONYMS``
   excepted), an inserted negation (``不``, ``未``) or 第, and a short title wholly contained in a longer one
   (``決勝全面小康 決戰脫貧攻堅`` in ``人民日報評論部:決勝全面小康 決戰脫貧攻堅``): a title of 12 characters or fewer
   is a slogan as often as a story, so only an exact match counts. In Latin script, one capitalised word swapped
   for another with nothing else changed is another name in the same sentence (``Patriots beat Bills`` /
   ``Patriots beat Dolphins``, ``Aust stocks open lower`` / ``Tokyo stocks open lower``); a lower-case swap is a
   rewording (``Capello quits`` / ``Capello resigns``).

Headlines alone cannot tell a recurring title from one article: ``Corrections``, ``Lottery Numbers``, 新闻联播 and
每日财经 come back every day with the same words. ``recurring()`` reads the two items' addresses and dates: two
different pages of one site (``distinct_pages``: the same registrable domain, not an AMP, print or
traditional-script copy of one page) on two different days are two articles, whatever their titles; one site's
two pages of one day (a mobile page, a brief filed in two sections) are left to the headline rules. The store
asks it after a candidate is found, never in the index.

Candidates come from an index (``db/stories.py``), never from a scan: ``band_keys()`` gives MinHash band keys over
the same tokens (10 bands of 2 rows: a pair at Dice 0.6, Jaccard 0.43, shares a band with probability about 0.87;
every near-duplicate pair of the labelled set shares one), ``quick_score()`` drops most candidates on the bigrams of
their stored key before their headline is built, and ``cut_keys()`` / ``cut_lookup_keys()`` pair a cut-short title
with the titles it may be the beginning of.
"""

from __future__ import annotations

import difflib
import hashlib
import operator
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import NamedTuple
from urllib.parse import parse_qsl, urlsplit

from monitor.core import fold, urls

__all__ = [
    "CUT_PREFIX",
    "KEYS_VERSION",
    "MIN_FRAGMENT",
    "SPECIFIC_CHARS",
    "Headline",
    "Match",
    "band_keys",
    "bigrams",
    "compare",
    "cut_keys",
    "cut_lookup_keys",
    "distinct_pages",
    "headline",
    "quick_score",
    "recurring",
    "url_day",
]

# --- thresholds (set by bench/identity_eval.py on the labelled pairs; see bench/README.md) -----------------

NEAR_DICE = 0.6            # token Dice at or above which two headlines are one story (guards permitting)
NEAR_CONTAINMENT = 0.75    # ... or this share of the shorter headline's tokens found in the longer one
SPECIFIC_CHARS = 13        # a core shorter than this is matched only exactly (slogans are short)
NEAR_MIN_CHARS = 8         # no near-duplicate decisions at all below this many folded characters
CLOSE_DICE = 0.8           # a near-duplicate this close may be the same item (same outlet, no second URL)
CLOSE_EXTRA_CHARS = 6      # ... or the longer one only adds this many characters to the shorter one
MIN_FRAGMENT = 8           # folded characters a cut-short title needs before it is matched by its beginning
CUT_PREFIX = 6             # characters of a fragment its index key is made of (the seed rule accepts 6)
TAG_MIN_REMAINDER = 10     # a bracketed tag is dropped only when this much headline follows it

# --- the core of a headline --------------------------------------------------------------------------------

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

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")
_PIECE = re.compile(r"\d+(?:\.\d+)?|[a-z]+| |[^\da-z ]+")
# What makes _PIECE split other than at a space (ASCII, any digit): without it, the runs are the space-separated parts.
_NOT_CJK_RUN = re.compile(r"[\x00-\x1f\x21-\x7f\d]")
_ENGLISH_STOPWORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "as", "is", "are", "was", "were", "be",
    "by", "with", "from", "its", "it", "this", "that",
})
_ENGLISH_NUMBERS = {
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

# Characters that end a place name: a substitution just before one is a different place (南召县 / 西峡县).
PLACE_ENDINGS = frozenset("省市县区镇乡村州旗盟国洲岛湾")
ORDINALS = frozenset("上中下甲乙丙丁前后")
DIRECTIONS = frozenset("东南西北")         # 湖南 / 湖北, 山东 / 山西: one character, another province
NUMERALS = frozenset("零〇一二两三四五六七八九十百千万")
# Function characters: a short substitution made only of these is a rewording (在 / 于, 并 / 上), not a slot.
FUNCTION_CHARS = frozenset("在于上并和与及对向将已被把了的之为是等其也都就而从到由以就即")
NEGATIONS = ("不", "未", "没", "没有", "非", "无", "否", "拒", "拒绝", "否认", "不会", "不是")
# Words outlets swap for each other in one story's headlines; any other short substitution is a template's slot.
SYNONYMS = frozenset(frozenset(pair) for pair in (
    ("召开", "举行"), ("举办", "举行"), ("开始", "举行"), ("表示", "称"), ("宣布", "称"), ("指出", "表示"),
    ("强调", "指出"), ("亮相", "现身"), ("逝世", "去世"), ("身亡", "死亡"), ("遇难", "身亡"), ("发布", "公布"),
    ("启动", "开启"), ("出席", "参加"), ("会见", "会晤"), ("抵达", "到达"), ("日前", "近日"), ("逾", "超"),
    ("逾", "超过"), ("约", "近"), ("厂", "工厂"), ("将", "拟"), ("曝", "爆"), ("称", "说"), ("致", "导致"),
    ("部署", "安排"), ("推进", "推动"),
))


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


@dataclass(frozen=True, slots=True)
class Match:
    """Why two headlines are one story: the rule, a score in [0, 1], and whether it is close enough for one item."""

    rule: str                     # 'title' (same core), 'truncated' (a cut-short title), 'near' (near-duplicate)
    score: float
    close: bool


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
        found.extend(_ENGLISH_NUMBERS[w] for w in words if w in _ENGLISH_NUMBERS)
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
            if run not in _ENGLISH_STOPWORDS:
                tokens.add(_ENGLISH_NUMBERS.get(run, run))
        elif len(run) == 1:
            tokens.add(run)
        else:
            tokens.update(map(operator.add, run, run[1:]))
    return frozenset(tokens), words


@lru_cache(maxsize=50_000)
def headline(title: str) -> Headline:
    """The core of a stored or incoming title (outlet suffix already removed, as ``items.title`` is).

    Cached: a stored item is compared with many incoming ones within its story window.
    """
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


# --- the decision ------------------------------------------------------------------------------------------


def _fragment_fits(fragment: Headline, full: Headline) -> bool:
    """A cut-short title and a title it may have been cut from (the cut never splits a number or a word)."""
    if full.cut:
        return False
    for frag, whole in ((fragment.key, full.key), (fragment.plain, full.plain)):
        if len(frag) < MIN_FRAGMENT or len(whole) <= len(frag):
            continue
        if fragment.cut == "end":
            if whole.startswith(frag) and (len(frag) >= SPECIFIC_CHARS or not _splits_token(whole, len(frag))):
                return True
        elif frag in whole:
            return True
    return False


def _splits_token(whole: str, at: int) -> bool:
    """True when position ``at`` falls inside a number or a Latin word (``确诊3`` is not the start of ``确诊35例``;
    a fragment of ``SPECIFIC_CHARS`` or more may end inside one: list pages cut at a fixed length)."""
    before, after = whole[at - 1], whole[at]
    return before.isascii() and after.isascii() and before.isalnum() and after.isalnum()


def _numbers_conflict(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Both give numbers and neither's are among the other's (counted: 第三次 in 三次会议 is not 第二次 in it)."""
    if not a or not b or a == b:
        return False
    x, y = Counter(a), Counter(b)
    return not (x <= y or y <= x)


def _opcodes(a: str, b: str) -> list[tuple[str, int, int, int, int]]:
    """``difflib`` opcodes aligning two short strings; the common head and tail are taken off first, so a
    templated pair (one slot apart) needs no matcher at all."""
    limit = min(len(a), len(b))
    head = 0
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a_mid, b_mid = a[head:len(a) - tail], b[head:len(b) - tail]
    ops: list[tuple[str, int, int, int, int]] = [("equal", 0, head, 0, head)] if head else []
    if a_mid and b_mid and set(a_mid) & set(b_mid):
        ops += [(tag, i1 + head, i2 + head, j1 + head, j2 + head) for tag, i1, i2, j1, j2 in
                difflib.SequenceMatcher(None, a_mid, b_mid, autojunk=False).get_opcodes()]
    elif a_mid or b_mid:
        tag = "replace" if a_mid and b_mid else ("delete" if a_mid else "insert")
        ops.append((tag, head, len(a) - tail, head, len(b) - tail))
    if tail:
        ops.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return ops


def _guarded(a: str, b: str) -> bool:
    """True when the character alignment of two core keys shows a templated difference (see the module doc)."""
    opcodes = _opcodes(a, b)
    edits = [op for op in opcodes if op[0] != "equal"]
    if edits and all(op[0] in ("insert", "delete") for op in edits) and min(len(a), len(b)) < SPECIFIC_CHARS:
        return True          # a short title wholly inside a longer one: a slogan, not a story
    slots = _edit_regions(a, b, opcodes)
    if slots and all(1 <= len(x) <= 4 and 1 <= len(y) <= 4 and abs(len(x) - len(y)) <= 1
                     and not (x + y).isascii() and frozenset((x, y)) not in SYNONYMS
                     and not set(x) <= FUNCTION_CHARS and not set(y) <= FUNCTION_CHARS for x, y, _, _ in slots):
        return True          # the same sentence with short slots filled in differently: 平凉专场 / 庆阳专场
    if any(x[1:] and y[1:] and PLACE_ENDINGS & set(x[1:]) and PLACE_ENDINGS & set(y[1:]) for x, y, _, _ in slots):
        return True          # two places where the other keeps the words: 兰明县团委 / 银平镇扶贫办 + 召开...
    if len(slots) == 1:
        x, y, before, after = slots[0]
        if len(x) >= 4 and len(y) >= 4 and not set(x) & set(y) and before >= 4 and after >= 2:
            return True      # one phrase swapped inside the same frame: 广西举行...防控[决战决胜脱贫攻坚]发布会
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        x, y = a[i1:i2], b[j1:j2]
        if tag in ("insert", "delete"):
            if (x or y) in NEGATIONS:
                return True
            if (x or y) == "第" and (a[i2:i2 + 1] + b[j2:j2 + 1])[:1] in NUMERALS | set("0123456789"):
                return True  # 6场 (six) / 第6场 (the sixth)
            continue
        if tag != "replace":
            continue
        after = a[i2:i2 + 1]
        if after and after in PLACE_ENDINGS and b[j2:j2 + 1] == after:
            return True      # 南召[县] / 西峡[县]
        if x[-1] in PLACE_ENDINGS and y[-1] in PLACE_ENDINGS:
            return True
        if x in ORDINALS and y in ORDINALS or x in DIRECTIONS and y in DIRECTIONS:
            return True
        if set(x) <= NUMERALS and set(y) <= NUMERALS:
            return True      # 第二次 / 第三次 however the numerals were read
        if index == 0 and i1 == 0 and j1 == 0 and len(x) <= 4 and len(y) <= 4 and len(opcodes) > 1 \
                and opcodes[1][0] == "equal" and opcodes[1][2] - opcodes[1][1] >= 4 and not set(x) & set(y):
            return True      # another subject, the same predicate: 李微微：在... / 王志群：在...
    return False


def _edit_regions(a: str, b: str, opcodes: list) -> list[tuple[str, str, int, int]]:
    """The differing stretches of two strings, edits one equal character apart joined (坪[山] / 松[山]湖), each
    with the number of characters the two share before and after it."""
    regions: list[list[int]] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        if regions and i1 - regions[-1][1] <= 1 and j1 - regions[-1][3] <= 1:
            regions[-1][1], regions[-1][3] = i2, j2
        else:
            regions.append([i1, i2, j1, j2])
    return [(a[i1:i2], b[j1:j2], i1, len(a) - i2) for i1, i2, j1, j2 in regions]


# Pieces of a core for the Latin-word alignment: Latin words (their case kept), numbers, any other character.
_SEQUENCE_PIECE = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?|\S")


def _sequence(core: str) -> list[tuple[str, str]]:
    """(folded, as written) pieces of a core: Latin words whole, other characters one by one, punctuation left out."""
    pieces = []
    for piece in _SEQUENCE_PIECE.findall(unicodedata.normalize("NFKC", core)):
        folded = piece.lower() if piece.isascii() and piece.isalnum() else fold.fold_char(piece)
        if folded:
            pieces.append((folded, piece))
    return pieces


def _swapped_name(a: str, b: str) -> bool:
    """True when two cores are one sentence with one capitalised Latin word swapped for another (a name: ``Bills`` /
    ``Dolphins``, ``Mate40`` / ``P40``); not an inflection (``Syria`` / ``Syrian``), not a lower-case word
    (``quits`` / ``resigns``: a rewording), not a stop word. In Title Case every word is capitalised, so a swapped
    verb counts as a name there: one story missed rather than two merged."""
    x, y = _sequence(a), _sequence(b)
    opcodes = difflib.SequenceMatcher(None, [p for p, _ in x], [p for p, _ in y], autojunk=False).get_opcodes()
    edits = [op for op in opcodes if op[0] != "equal"]
    if len(edits) != 1:
        return False
    tag, i1, i2, j1, j2 = edits[0]
    if tag != "replace" or i2 - i1 != 1 or j2 - j1 != 1:
        return False
    (word_a, written_a), (word_b, written_b) = x[i1], y[j1]
    if not (word_a.isalpha() and word_b.isalpha() and word_a.isascii() and word_b.isascii()):
        return False
    if {word_a, word_b} & (_ENGLISH_STOPWORDS | _ENGLISH_NUMBERS.keys()):
        return False
    if word_a.startswith(word_b) or word_b.startswith(word_a) or word_a[:4] == word_b[:4]:
        return False         # Syria / Syrian, S / South, Mexican / Mexico
    return any(ch.isupper() for ch in written_a) and any(ch.isupper() for ch in written_b)


QUICK_DICE = 0.5           # quick_score: below NEAR_DICE, on character bigrams of the stored key
QUICK_CONTAINMENT = 0.65


def bigrams(key: str) -> frozenset[str]:
    """Character bigrams of a folded key (``quick_score``'s cheap view of a stored title)."""
    return frozenset(map(operator.add, key, key[1:])) or frozenset((key,))


def quick_score(h: Headline, other: frozenset[str], cut: str | None) -> float | None:
    """How close a stored row (the bigrams of its folded core key, its cut mark) looks to ``h`` on character
    bigrams, or None when it cannot be a match: a cheap filter before building the row's headline, with thresholds
    well below ``compare``'s. A cut-short title on either side, or the same bigrams, is always worth a look
    (score 1)."""
    if h.cut or cut:
        return 1.0
    mine = h.bigrams
    shared, ours, theirs = len(mine & other), len(mine), len(other)
    if shared == ours == theirs:
        return 1.0
    dice = 2 * shared / (ours + theirs)
    containment = shared / min(ours, theirs)
    return dice if dice >= QUICK_DICE or containment >= QUICK_CONTAINMENT else None


def compare(a: Headline, b: Headline) -> Match | None:
    """Whether two headlines report one story, and how (``None``: not shown to be one story)."""
    if a.key == b.key or a.plain == b.plain:
        return Match("title", 1.0, True)
    if a.cut and _fragment_fits(a, b):
        return Match("truncated", len(a.key) / max(len(b.key), 1), True)
    if b.cut and _fragment_fits(b, a):
        return Match("truncated", len(b.key) / max(len(a.key), 1), True)
    shorter = min(len(a.key), len(b.key))
    if shorter < NEAR_MIN_CHARS or not a.tokens or not b.tokens:
        return None
    shared = len(a.tokens & b.tokens)
    dice = 2 * shared / (len(a.tokens) + len(b.tokens))
    containment = shared / min(len(a.tokens), len(b.tokens))
    near = dice >= NEAR_DICE or (containment >= NEAR_CONTAINMENT and shorter >= SPECIFIC_CHARS)
    if not near or _numbers_conflict(a.numbers, b.numbers) or _guarded(a.key, b.key):
        return None
    if a._words and b._words and _swapped_name(a.core, b.core):
        return None
    extra = abs(len(a.key) - len(b.key))
    close = dice >= CLOSE_DICE or (containment == 1.0 and shorter >= SPECIFIC_CHARS and extra <= CLOSE_EXTRA_CHARS)
    return Match("near", round(max(dice, containment * 0.99), 4), close)


# --- two pages of one site --------------------------------------------------------------------------------

# Path segments naming a variant of one page (people.com.cn serves /BIG5/ and /GB/ copies of each article).
VARIANT_SEGMENTS = frozenset({"amp", "print", "big5", "gb"})
# Second-level labels under a country code that are registries, not sites (news.sina.com.cn, bbc.co.uk).
# Query parameters that name the article on a page that shows many (show.aspx?id=...); others (a session, a channel,
# a share id) are left out.
ARTICLE_ID_PARAMS = frozenset({"id", "p", "aid", "nid", "artid", "docid", "newsid", "infoid", "itemid", "postid",
                               "storyid", "articleid", "contentid", "article_id", "news_id", "doc_id", "content_id"})
_INDEX_PAGE = re.compile(r"index\.s?html?|default\.aspx?", re.I)
_AMP_SUFFIX = re.compile(r"\.amp(?=\.[a-z]+$|$)", re.I)
_URL_DAY = re.compile(r"(?<!\d)((?:19|20)\d\d)[-/_]?(0[1-9]|1[0-2])[-/_]?(0[1-9]|[12]\d|3[01])(?!\d)")


class _Page(NamedTuple):
    site: str                     # the registrable domain: people.com.cn, nytimes.com (www., m., amp. alike)
    path: str                     # the path without variant segments, index page, .amp mark or trailing slash
    ids: tuple[tuple[str, str], ...]   # the query's ARTICLE_ID_PARAMS (id=, p=, newsId=), sorted


@lru_cache(maxsize=8192)
def _page(url_key: str) -> _Page | None:
    """The parts of a canonical URL (``items.url_key``) that say which page of which site it is."""
    if not url_key.startswith("http://"):
        return None
    try:
        parts = urlsplit(url_key)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if not host:
        return None
    segments = [s for s in parts.path.split("/") if s and s.lower() not in VARIANT_SEGMENTS]
    if segments and _INDEX_PAGE.fullmatch(segments[-1]):
        segments.pop()
    if segments:
        segments[-1] = _AMP_SUFFIX.sub("", segments[-1])
    ids = tuple(sorted((name.lower(), value) for name, value in parse_qsl(parts.query, keep_blank_values=True)
                       if name.lower() in ARTICLE_ID_PARAMS))
    return _Page(urls.registrable_domain(host), "/".join(segments), ids)


def distinct_pages(a: str | None, b: str | None) -> bool:
    """True when two canonical URLs are two different pages of one site: the same registrable domain (any host of
    it: ``www.``, ``m.``, ``amp.``, a channel), other paths (or other article ids in the query), and neither a copy
    of the other (``/amp``, ``/print``, ``/BIG5``, ``/GB``, ``.amp``, ``index.html``). Other query parameters are
    left out: sites add their own tracking there. Different sites (syndication), or a missing URL, are never
    distinct. A mobile page under another path (``m.xinhuanet.com/...`` beside ``www.xinhuanet.com/...``) is
    another page: ``recurring`` keeps it with the article when their days agree."""
    if not a or not b or a == b:
        return False
    x, y = _page(a), _page(b)
    if x is None or y is None or x.site != y.site:
        return False
    if x.path != y.path:
        return True
    shared = dict(x.ids).keys() & dict(y.ids).keys()
    return any(dict(x.ids)[name] != dict(y.ids)[name] for name in shared)


@lru_cache(maxsize=8192)
def url_day(url_key: str | None) -> str | None:
    """The date a URL's path carries (``/2011/04/18/``, ``/n1/2020/0306/``, ``/2020-11/23/``, ``/20190923/``) as
    ``YYYY-MM-DD``, or None."""
    page = _page(url_key) if url_key else None
    m = _URL_DAY.search(page.path) if page else None
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None


def recurring(url_a: str | None, published_a: str | None, url_b: str | None, published_b: str | None) -> bool:
    """True when two items with one headline are a recurring title: two different pages of one site
    (``distinct_pages``) on two different days. The days are the dates the two URLs carry when both do (the
    ``100, 75, 50 Years Ago`` of 18 and 19 April were both published on the 18th), else the publication dates
    (ISO 8601, as stored); with neither, the two cannot be told apart by day: not recurring. The same site's
    two pages of one day with one headline stay one article (a brief filed in two sections of a site)."""
    if not distinct_pages(url_a, url_b):
        return False
    days = url_day(url_a), url_day(url_b)
    if not all(days):
        days = (published_a or "")[:10], (published_b or "")[:10]
    return all(days) and days[0] != days[1]


# --- index keys --------------------------------------------------------------------------------------------

BANDS, ROWS = 10, 2
KEYS_VERSION = 2         # of band_keys and cut_keys: stored keys made by another version are not comparable
_BINS = BANDS * ROWS
_OFFSET = 0x9E3779B97F4A7C15   # added per bin of distance when an empty bin borrows a neighbour's minimum
_M64 = (1 << 64) - 1
_SHIFTS = tuple(d * _OFFSET for d in range(_BINS + 1))   # what an empty bin adds per bin of distance
_BAND_TAGS = tuple(band << 58 for band in range(BANDS))
_MIX_A, _MIX_B = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9


@lru_cache(maxsize=1 << 17)
def _token_slot(token: str) -> tuple[int, int]:
    """A token's bin and value in the bin (one 64-bit hash, explicit: stored keys must not depend on ``hash()``)."""
    h = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")
    return h % _BINS, h // _BINS


@lru_cache(maxsize=1 << 15)
def _key(label: str) -> int:
    """A stable signed 63-bit key for a label (SQLite integers are signed 64-bit); cached: the cut keys of
    templated titles repeat."""
    return int.from_bytes(hashlib.blake2b(label.encode("utf-8"), digest_size=8).digest(), "little") >> 1


@lru_cache(maxsize=50_000)
def band_keys(tokens: frozenset[str]) -> tuple[int, ...]:
    """Candidate keys of a token set: two sets sharing a key are compared with ``compare``.

    ``BANDS`` bands of ``ROWS`` MinHash values find pairs by Jaccard similarity. The values come from one hash per
    token (one-permutation hashing: a token's hash picks its bin, the least hash in each bin is that bin's value;
    an empty bin borrows from the next filled one, "densified by rotation", Shrivastava & Li 2014): 20 values for
    the price of one hash per token. Every near-duplicate pair of the labelled set shares a band, the short-in-long
    ones included (an attribution prefix, an added clause: a band matches when both its bins' least tokens are
    shared, likely when most of the long one's tokens are the short one's). ``KEYS_VERSION`` changes with them.
    Written for speed (it runs for every new headline): the values and the mixing are flat list operations.
    """
    if not tokens:
        return ()
    least: dict[int, int] = {}                          # the least value of each filled bin
    for i, value in map(_token_slot, tokens):
        if value < least.get(i, _M64):
            least[i] = value
    if len(least) == _BINS:
        values = [least[i] for i in range(_BINS)]
    else:                          # rotation: an empty bin takes the next filled one's value, offset by distance
        values = [0] * _BINS
        filled = min(least) + _BINS
        value = least[filled - _BINS]
        for i in range(_BINS - 1, -1, -1):
            if i in least:
                filled = i
                values[i] = value = least[i]
            else:
                values[i] = (value + _SHIFTS[filled - i]) & _M64
    m64, mix_a, mix_b = _M64, _MIX_A, _MIX_B      # two 64-bit values into one 58-bit key body per band
    mixed = [((a ^ ((b * mix_a) & m64)) * mix_b) & m64 for a, b in zip(values[0::2], values[1::2], strict=True)]
    return tuple([tag | ((x ^ (x >> 31)) >> 6) for tag, x in zip(_BAND_TAGS, mixed, strict=True)])


CUT_START_KEY = _key("cut:start")


def cut_keys(h: Headline) -> tuple[int, ...]:
    """Keys under which a cut-short title waits for the full title it was cut from."""
    if not h.cut:
        return ()
    if h.cut == "end":
        return tuple({_key("cut:" + k[:CUT_PREFIX]) for k in (h.key, h.plain) if len(k) >= CUT_PREFIX})
    return (CUT_START_KEY,)


def cut_lookup_keys(h: Headline) -> tuple[int, ...]:
    """Keys a full title looks up to find the cut-short titles that may be its beginning (or a part of it)."""
    if h.cut:
        return ()
    keys = {_key("cut:" + k[:CUT_PREFIX]) for k in (h.key, h.plain) if len(k) >= CUT_PREFIX}
    return (*sorted(keys), CUT_START_KEY)
