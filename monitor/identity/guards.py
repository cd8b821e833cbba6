"""Guards that veto a near-duplicate: a templated headline differs from its sibling exactly where they look.

Different numbers (``第148`` / ``第149``, ``3月19日`` / ``3月20日``, Chinese numerals read as numbers), a
substituted place (``南召县`` / ``西峡县``: the changed characters sit before 省/市/县/区/镇/乡/村/州/国...), a
substituted subject at the start (``李微微：`` / ``王志群：``), an ordinal (``（上）`` / ``（下）``), 东/南/西/北
(``湖南`` / ``湖北``), short slots filled differently with nothing else changed (``平凉专场`` / ``庆阳专场``;
``SYNONYMS`` excepted), an inserted negation (``不``, ``未``) or 第, and a short title wholly contained in a longer
one (``決勝全面小康 決戰脫貧攻堅`` in ``人民日報評論部:決勝全面小康 決戰脫貧攻堅``): a title of 12 characters or
fewer is a slogan as often as a story, so only an exact match counts. A short slot filled with two verbs of one
group of ``lexicon.VERB_GROUPS`` (出台 / 印发, 关停 / 关闭) is a rewording, not a slot.

A shared subject is not a shared event (``another_event``): where two headlines differ, they must not say two
different things happened (``召开...工作会议`` / ``出台...实施方案``: two verb groups of ``lexicon``), and the longer
must not add a later development of the shorter (``...一周年``, ``...工信部回应``, ``...一审获刑``, ``...后去世``:
``lexicon.DEVELOPMENT_GROUPS``, ``SEQUEL_MARKERS``). In Latin script, one capitalised word swapped
for another with nothing else changed is another name in the same sentence (``Patriots beat Bills`` / ``Patriots
beat Dolphins``, ``Aust stocks open lower`` / ``Tokyo stocks open lower``); a lower-case swap is a rewording
(``Capello quits`` / ``Capello resigns``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter

from monitor.core import fold
from monitor.identity.headlines import ENGLISH_NUMBERS, ENGLISH_STOPWORDS
from monitor.identity.lexicon import (
    DEVELOPMENT_GROUP,
    DEVELOPMENT_GROUPS,
    DEVELOPMENT_LENGTH,
    SEQUEL_MARKERS,
    VERB_GROUP,
    VERB_LENGTH,
)
from monitor.identity.thresholds import SPECIFIC_CHARS

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



def numbers_conflict(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
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


def templated(a: str, b: str) -> bool:
    """True when the character alignment of two core keys shows a templated difference (see the module doc)."""
    opcodes = _opcodes(a, b)
    edits = [op for op in opcodes if op[0] != "equal"]
    if {op[0] for op in edits} in ({"insert"}, {"delete"}) and min(len(a), len(b)) < SPECIFIC_CHARS:
        return True          # a short title wholly inside a longer one: a slogan, not a story
    spans = _edit_spans(opcodes)
    slots = [(a[i1:i2], b[j1:j2], i1, len(a) - i2) for i1, i2, j1, j2 in spans]
    if slots and all(1 <= len(x) <= 4 and 1 <= len(y) <= 4 and abs(len(x) - len(y)) <= 1
                     and not (x + y).isascii() and frozenset((x, y)) not in SYNONYMS
                     and not set(x) <= FUNCTION_CHARS and not set(y) <= FUNCTION_CHARS
                     and not _one_verb_group(a, b, span) for (x, y, _, _), span in zip(slots, spans, strict=True)):
        return True          # the same sentence with short slots filled in differently: 平凉专场 / 庆阳专场
    if any(x[1:] and y[1:] and PLACE_ENDINGS & set(x[1:]) and PLACE_ENDINGS & set(y[1:]) for x, y, _, _ in slots):
        return True          # two places where the other keeps the words: 兰明县团委 / 银平镇扶贫办 + 召开...
    if len(slots) == 1 and not _one_verb_group(a, b, spans[0]):     # 正式停止 / 今起取消: one event, reworded
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
        if tag != "replace" or _one_verb_group(a, b, (i1, i2, j1, j2)):
            continue         # 出台[乡]村 / 印发[乡]村: two verbs of one group, not a place
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


def _edit_spans(opcodes: list) -> list[tuple[int, int, int, int]]:
    """The differing stretches of two aligned strings as (i1, i2, j1, j2), edits one equal character apart joined
    (坪[山] / 松[山]湖)."""
    spans: list[list[int]] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        if spans and i1 - spans[-1][1] <= 1 and j1 - spans[-1][3] <= 1:
            spans[-1][1], spans[-1][3] = i2, j2
        else:
            spans.append([i1, i2, j1, j2])
    return [(i1, i2, j1, j2) for i1, i2, j1, j2 in spans]


def _verbs_at(text: str, start: int, end: int) -> set[str]:
    """The event verbs of ``lexicon.VERB_GROUPS`` in ``text`` that overlap ``text[start:end]`` (dictionary look-ups
    of the few substrings that can overlap it: this runs on the hot path's near-duplicates)."""
    verbs = set()
    for at in range(max(start - VERB_LENGTH + 1, 0), end):
        for length in range(2, VERB_LENGTH + 1):
            word = text[at:at + length]
            if at + length > start and word in VERB_GROUP:
                verbs.add(word)
    return verbs


def _two_events(mine: set[str], theirs: set[str]) -> bool:
    """Both stretches say something happened and no verb of one is of the other's group (or its synonym)."""
    if not mine or not theirs or {VERB_GROUP[v] for v in mine} & {VERB_GROUP[v] for v in theirs}:
        return False
    return not any(frozenset((x, y)) in SYNONYMS for x in mine for y in theirs)


def _one_verb_group(a: str, b: str, span: tuple[int, int, int, int]) -> bool:
    """The differing stretch is, on both sides, a verb of one group: 出台 / 印发, 关[停] / 关[闭]."""
    i1, i2, j1, j2 = span
    mine, theirs = _verbs_at(a, i1, i2), _verbs_at(b, j1, j2)
    return bool(mine) and {VERB_GROUP[v] for v in mine} == {VERB_GROUP[v] for v in theirs}


def _development(added: str, other: str) -> bool:
    """Words added to one headline report a later development (``lexicon.DEVELOPMENT_GROUPS``) the other does not
    mention in any of its words."""
    for at in range(len(added) - 1):
        for length in range(2, DEVELOPMENT_LENGTH + 1):
            group = DEVELOPMENT_GROUP.get(added[at:at + length])
            if group is not None and not any(known in other for known in DEVELOPMENT_GROUPS[group]):
                return True
    return False


def another_event(a: str, b: str) -> bool:
    """True when two core keys that share a subject report two events (the predicate guard, see the module doc):
    where they differ, each says something happened and the two verbs are of two groups (召开 / 出台, 开启 /
    关闭); or one adds a later development (一周年, 回应, 一审获刑) or continues the other with 后 / 续."""
    for i1, i2, j1, j2 in _edit_spans(_opcodes(a, b)):
        if i2 > i1 and j2 > j1 and _two_events(_verbs_at(a, i1, i2), _verbs_at(b, j1, j2)):
            return True
        # One character either side: a development word may begin in the shared text (一[周年]).
        if i2 > i1 and _development(a[max(i1 - 1, 0):i2 + 1], b):
            return True
        if j2 > j1 and _development(b[max(j1 - 1, 0):j2 + 1], a):
            return True
        if i1 == i2 and j1 > 0 and b[j1] in SEQUEL_MARKERS or j1 == j2 and i1 > 0 and a[i1] in SEQUEL_MARKERS:
            return True      # 确诊感染新冠肺炎 / 确诊感染新冠肺炎[后去世]
    return False


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


def swapped_name(a: str, b: str) -> bool:
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
    if {word_a, word_b} & (ENGLISH_STOPWORDS | ENGLISH_NUMBERS.keys()):
        return False
    if word_a.startswith(word_b) or word_b.startswith(word_a) or word_a[:4] == word_b[:4]:
        return False         # Syria / Syrian, S / South, Mexican / Mexico
    return any(ch.isupper() for ch in written_a) and any(ch.isupper() for ch in written_b)
