"""The words the predicate guard (``guards.another_event``) reads: what a headline says happened, in folded
(simplified, lower-case) script. Set on the dev pairs of ``bench/identity_eval.py``; extend a group, not the rule.

Two headlines that share a long subject report one event only if they say the same thing happened to it:
``南阳市出台乡村振兴战略实施方案`` and ``南阳市印发...`` are one event (出台 / 印发: one group), ``南阳市召开乡村振兴
战略工作会议`` is another (召开: another group). A verb outside every group is not read at all: the guard vetoes
only what it knows, so an unknown rewording is left to the other rules.
"""

from __future__ import annotations

# Verbs of an event, grouped: two verbs of one group report one event (召开 / 举行), of two groups two events
# (召开 / 出台, 开幕 / 闭幕, 住院 / 出院). Opposites are always in different groups.
VERB_GROUPS: tuple[tuple[str, ...], ...] = (
    ("召开", "举行", "举办"),                                   # a meeting is held
    ("出台", "印发", "制定", "发布", "公布", "推出"),            # a document is issued
    ("启动", "开启", "打开", "开始", "开建", "开工", "开班"),    # something starts
    ("关停", "关闭", "叫停", "停止", "取消", "撤销"),            # something stops
    ("解封", "解除", "恢复", "重启"),                            # a measure is lifted
    ("完成", "结束", "通过", "验收", "竣工"),                    # something is finished
    ("开幕", "拉开帷幕", "揭幕"),
    ("闭幕", "落幕", "闭园"),
    ("开园", "开放"),
    ("表彰", "奖励", "授予"),
    ("审议", "讨论"),
    ("表决",),
    ("住院", "入院"),
    ("出院", "康复"),
    ("上架",),
    ("下架",),
    ("撤诉",),
    ("立案", "起诉"),
    ("一审", "二审", "终审", "宣判", "判决", "获刑", "被判", "判处"),   # a court rules
    ("开庭", "审理"),
    ("推迟", "延期", "暂停"),
    ("出售", "剥离"),
    ("传达", "学习"),
    ("部署", "安排"),
    ("转移", "撤离"),
)
VERB_GROUP: dict[str, int] = {verb: index for index, group in enumerate(VERB_GROUPS) for verb in group}
VERB_LENGTH = max(map(len, VERB_GROUP))

# Words that, added to a headline that is otherwise the other one, report a later development of that event: an
# anniversary, a reaction, a sentence, a death, a decision. Grouped like the verbs: a word counts as new only when
# the other headline has no word of its group (二审宣判 / 终审 is one ruling).
DEVELOPMENT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("周年", "满一年", "首周"),                                  # an anniversary, a first review
    ("回应", "回击", "发文", "解读", "悼念"),                    # a reaction, an explainer, a commemoration
    VERB_GROUPS[VERB_GROUP["宣判"]] + ("公诉",),                  # the court's ruling, a prosecution
    ("被捕", "批捕"),
    ("去世", "火化"),
    ("获救", "脱险", "脱困", "安全转移", "转移安置"),              # a rescue, an evacuation after a disaster
    ("验收", "评估", "批复", "约谈", "理赔", "搁浅", "产下", "重返", "停业", "出炉"),
)
DEVELOPMENT_GROUP: dict[str, int] = {word: index for index, group in enumerate(DEVELOPMENT_GROUPS)
                                     for word in group}
DEVELOPMENT_LENGTH = max(map(len, DEVELOPMENT_GROUP))
# A headline continued right after the other one's last words by one of these is its sequel: 落网[后]..., 遇难[续]...
SEQUEL_MARKERS = frozenset("后续")
