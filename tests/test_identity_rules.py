"""monitor.identity.rules and .stories: the identity rules decide over plain rows (any mapping), with no database."""

from __future__ import annotations

from monitor.core import dates
from monitor.core.model import RawItem
from monitor.identity import compare, headline, rules
from monitor.identity.candidates import Candidate, event_day
from monitor.identity.stories import story_to_join
from monitor.prepare.normalise import normalise

ZONE = dates.zone("Asia/Shanghai")


def item(title, url=None, publisher=None, published=None, origin="scraped"):
    return normalise(RawItem(title=title, url=url, publisher=publisher, published=published), ZONE, origin=origin)


def row(item_id, stored, story_id=None):
    """The identity columns of a stored item, as a plain dict."""
    return {"id": item_id, "title": stored.title, "title_key": stored.title_key, "core_key": headline(stored.title).key,
            "title_cut": stored.title_cut, "url_key": stored.url_key, "publisher": stored.publisher,
            "publisher_key": stored.publisher_key, "published_at": stored.published_at, "first_seen_at":
            stored.published_at or "2020-12-15T08:00:00+08:00", "origin": stored.origin, "story_id": story_id}


def candidate(incoming, stored_row):
    other = headline(stored_row["title"])
    return Candidate(stored_row, other, event_day(stored_row["published_at"], stored_row["first_seen_at"]),
                     compare(headline(incoming.title), other))


def test_rule_2_takes_the_nearest_issue_and_never_a_recurring_title():
    incoming = item("每日财经", "https://www.yicai.com/news/3.html", "第一财经", "2020-12-16 07:30")
    same_site = [row(1, item("每日财经", "https://www.yicai.com/news/1.html", "第一财经", "2020-12-15 07:30")),
                 row(2, item("每日财经", "https://www.yicai.com/news/2.html", "第一财经", "2020-12-16 06:00"))]
    assert rules.by_title(incoming, same_site[:1]) is None               # one site, another day: another issue
    syndicated = item("每日财经", "https://other.example/a.html", "第一财经", "2020-12-16 07:30")
    assert rules.by_title(syndicated, same_site) == (2, "title")        # another site: the issue of its day


def test_a_seed_row_is_the_same_item_as_its_title_found_with_a_url():
    seed = row(1, item("脱贫攻坚取得决定性成就", origin="seed"))
    assert rules.by_title(item("脱贫攻坚取得决定性成就", "http://a.example/1", "人民网"), [seed]) == (1, "seed")


def test_rules_4_and_5_over_candidates():
    full = row(7, item("甘肃省残联凝心聚力背水一战 贫困残疾人脱贫攻坚工作决战决胜态势明显", "http://a.example/1",
                       "华夏时报", "2020-12-15 08:00"), story_id=3)
    cut = item("甘肃省残联凝心聚力背水一战 贫困残疾人脱贫攻坚工作...", None, "华夏时报", "2020-12-15 09:00")
    assert rules.by_candidate(cut, headline(cut.title), [candidate(cut, full)]) == (7, "truncated")
    other_outlet = item("甘肃省残联凝心聚力背水一战 贫困残疾人脱贫攻坚工作...", None, "人民网", "2020-12-15 09:00")
    assert rules.by_candidate(other_outlet, headline(other_outlet.title), [candidate(other_outlet, full)]) is None


def test_the_story_joined_is_the_best_candidate_within_the_window_but_never_another_issue():
    incoming = item("印媒：中印第五轮军长级会谈举行", "http://b.example/2", "环球网", "2020-12-15 12:00")
    near = candidate(incoming, row(1, item("印媒称中印第五轮军长级会谈开始", "http://a.example/1", "网易新闻",
                                           "2020-12-14 10:00"), story_id=5))
    day = event_day(incoming.published_at, "2020-12-15T12:00:00+08:00")
    assert story_to_join(incoming, [near], day) is near
    assert story_to_join(incoming, [near], day + 10) is None            # outside the story window
    column = item("每日财经", "https://www.yicai.com/news/3.html", "第一财经", "2020-12-16 07:30")
    yesterday = candidate(column, row(1, item("每日财经", "https://www.yicai.com/news/1.html", "第一财经",
                                              "2020-12-15 07:30"), story_id=5))
    assert story_to_join(column, [yesterday], event_day(column.published_at, "")) is None


def test_an_edited_title_is_looked_up_only_when_the_title_changed():
    stored = row(1, item("原标题：会议召开", "http://a.example/1", "人民网"))
    asked = []

    def last_shown():
        asked.append("last")
        return "原标题：会议召开"

    def held_before(title_key):
        asked.append("history")
        return False

    assert not rules.title_edited(stored, item("原标题：会议召开", "http://a.example/1"), last_shown, held_before)
    assert asked == []
    assert rules.title_edited(stored, item("会议今天召开", "http://a.example/1"), last_shown, held_before)
    assert asked == ["last", "history"]
    assert not rules.title_edited(stored, item("会议今天召开", "http://a.example/1"), lambda: "另一个标题", held_before)
