"""The predicate guard (issue 11): a shared subject is not a shared event. Two headlines that share a long subject
are one story only when they say the same thing happened to it; a title inside a longer one is not its story when the
longer adds a later development (an anniversary, a reaction, a sentence, a sequel)."""

from __future__ import annotations

import pytest

from db.store import Store
from monitor.core import dates, fold
from monitor.core.model import RawItem
from monitor.identity import compare, headline
from monitor.identity.guards import another_event, templated
from monitor.prepare.normalise import normalise

ZONE = dates.zone("Asia/Shanghai")


def keys(a: str, b: str) -> tuple[str, str]:
    return fold.fold_text(a), fold.fold_text(b)


@pytest.mark.parametrize(("a", "b"), [
    # One subject, two verb groups where the headlines part: two events.
    ("南阳市出台乡村振兴战略实施方案", "南阳市召开乡村振兴战略工作会议"),
    ("西峡县召开全县安全生产工作推进会议", "西峡县表彰全县安全生产工作先进集体"),
    ("成都天府国际机场T1航站楼正式开工建设", "成都天府国际机场T1航站楼正式竣工"),
    ("郑州市对入境人员启动全闭环管理措施", "郑州市对入境人员解除全闭环管理措施"),
    # The longer adds a later development of the shorter.
    ("杭州亚运会主体育场正式投入使用", "杭州亚运会主体育场正式投入使用一周年"),
    ("日本福岛核污染水开始排入太平洋", "日本福岛核污染水开始排入太平洋 中方回应"),
    ("南京一男子驾车撞倒多名行人致3死", "南京一男子驾车撞倒多名行人致3死 一审获刑七年"),
    ("巴西前总统确诊感染新冠肺炎", "巴西前总统确诊感染新冠肺炎后去世"),
    ("湖南一高速隧道发生坍塌事故", "湖南一高速隧道发生坍塌事故续：被困工人全部获救"),
    # A rescue or an evacuation after the disaster that trapped people (the subject is not the one the other names).
    ("广西桂林多名游客被山洪围困", "广西桂林被山洪围困游客已全部安全转移"),
])
def test_another_event_is_kept_apart(a, b):
    assert another_event(*keys(a, b)) and another_event(*keys(b, a))
    assert compare(headline(a), headline(b)) is None


@pytest.mark.parametrize(("a", "b"), [
    # One event, its verb reworded within one group (or a listed synonym), or only detail added.
    ("西峡县召开全县安全生产工作推进会议", "西峡县举行全县安全生产工作推进会议"),
    ("印媒称中印第五轮军长级会谈开始 印军此前曝出增兵", "印媒：中印第五轮军长级会谈举行"),
    ("四川甘孜州泸定县发生6.8级地震", "四川甘孜州泸定县发生6.8级地震 震源深度16千米"),
    ("工程院院士李宁贪污案一审宣判", "工程院院士李宁贪污案一审判决：获刑十二年"),
    ("两名中国游客菲律宾薄荷岛乘船游览时溺水身亡", "两名中国游客菲律宾薄荷岛乘船游览时溺水身亡，均未穿救生衣"),
])
def test_one_event_reworded_or_with_detail_stays_one_story(a, b):
    assert not another_event(*keys(a, b))
    assert compare(headline(a), headline(b)) is not None


@pytest.mark.parametrize(("a", "b"), [
    ("南阳市出台乡村振兴战略实施方案", "南阳市印发乡村振兴战略实施方案"),         # not a place before 乡
    ("河北省9个普通公路收费站正式停止收费", "河北省9个普通公路收费站今起取消收费"),   # not a phrase swapped
])
def test_two_verbs_of_one_group_are_not_a_templated_slot(a, b):
    assert not templated(*keys(a, b))
    assert compare(headline(a), headline(b)) is not None


def test_the_templated_guards_still_part_what_they_parted():
    assert templated(*keys("南召县召开决战决胜脱贫攻坚誓师大会", "西峡县召开决战决胜脱贫攻坚誓师大会"))
    assert templated(*keys("决胜全面小康 决战脱贫攻坚", "人民日报评论部：决胜全面小康 决战脱贫攻坚"))


def test_the_store_puts_two_events_of_one_subject_in_two_stories(tmp_path):
    """Through the real store: each headline saved by its own source, as the monitor does."""
    store = Store(tmp_path / "news.db", ZONE)
    try:
        def story(title, publisher, url):
            raw = RawItem(title=title, url=url, publisher=publisher, published="2020-12-15 09:00")
            (item_id,) = store.save_items([normalise(raw, ZONE)], source=publisher, run_id=None).item_ids
            return store.conn.execute("SELECT story_id FROM items WHERE id = ?", (item_id,)).fetchone()[0]

        plan = story("南阳市出台乡村振兴战略实施方案", "南阳日报", "https://www.nyrb.com.cn/a/1.html")
        reworded = story("南阳市印发乡村振兴战略实施方案", "大河网", "https://news.dahe.cn/a/2.html")
        meeting = story("南阳市召开乡村振兴战略工作会议", "南阳日报", "https://www.nyrb.com.cn/a/3.html")
        opened = story("北斗三号全球卫星导航系统正式开通", "新华网", "https://www.xinhuanet.com/a/4.html")
        anniversary = story("北斗三号全球卫星导航系统正式开通一周年", "央视网", "https://news.cctv.com/a/5.html")
    finally:
        store.close()
    assert plan == reworded and meeting != plan
    assert anniversary != opened
