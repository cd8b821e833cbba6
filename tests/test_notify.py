"""Notifications (issue 13): after a run, one apprise message per topic listing the new items, sent to a local
``json://`` target (pytest-httpserver receiving apprise's JSON posts); none when nothing is new; a target that is
down is logged and the run stays recorded as it was."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys

import pytest
from werkzeug import Response

from monitor.config import NotifySettings, load_config
from monitor.core.errors import ConfigError
from monitor.notify import messages_for
from tests.conftest import PROJECT_DIR
from tests.helpers import write_config

ITEMS = [
    ("决战决胜脱贫攻坚：衙下集镇做大做强生猪产业", "/a/1.html"),
    ("精准扶贫十年：一个村庄的变化", "/a/2.html"),
    ("城市地铁新线今日开通", "/a/3.html"),          # matches no topic
]


def rss(base: str, items) -> bytes:
    entries = "".join(f"<item><title>{title}</title><link>{base}{path}</link>"
                      f"<pubDate>Mon, 21 Sep 2020 10:23:00 +0800</pubDate></item>" for title, path in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"{entries}</channel></rss>").encode()


class Feed:
    """A feed on the local server whose items the test can change between runs."""

    def __init__(self, httpserver, items):
        self.items = list(items)
        base = httpserver.url_for("").rstrip("/")
        httpserver.expect_request("/feed.xml").respond_with_handler(
            lambda request: Response(rss(base, self.items), content_type="application/rss+xml"))


def hook(httpserver) -> list[dict]:
    """The JSON bodies apprise posts to /hook."""
    received: list[dict] = []

    def handler(request):
        received.append(json.loads(request.get_data()))
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    return received


def source(httpserver) -> dict:
    return {"name": "feed", "kind": "rss", "url": httpserver.url_for("/feed.xml"), "every": "15m"}


def test_one_message_per_run_per_topic_listing_the_new_items(httpserver, monitor_for):
    feed = Feed(httpserver, ITEMS)
    received = hook(httpserver)
    monitor = monitor_for([source(httpserver)], notify={
        "urls": [f"json://127.0.0.1:{httpserver.port}/hook"], "topics": ["poverty"]})

    (result,) = monitor.run_once()
    assert (result.status, result.items_new) == ("ok", 3)
    assert len(received) == 1                      # the topic-less item is not asked for: no message for it
    message = received[0]
    assert message["title"] == "news-monitor: 2 new items on poverty (feed)"
    assert ITEMS[0][0] in message["message"] and httpserver.url_for("/a/1.html") in message["message"]
    assert ITEMS[1][0] in message["message"] and httpserver.url_for("/a/2.html") in message["message"]
    assert ITEMS[2][0] not in message["message"]

    (again,) = monitor.run_once()                  # nothing new: no message
    assert (again.status, again.items_new) == ("ok", 0)
    assert len(received) == 1

    feed.items.append(("乡村振兴：脱贫攻坚成果巩固", "/a/4.html"))
    (third,) = monitor.run_once()
    assert third.items_new == 1 and len(received) == 2
    assert received[1]["title"] == "news-monitor: 1 new item on poverty (feed)"
    assert "/a/4.html" in received[1]["message"] and ITEMS[0][0] not in received[1]["message"]


def test_without_topics_every_new_item_is_told_items_of_no_topic_in_their_own_message(httpserver, monitor_for):
    Feed(httpserver, ITEMS)
    received = hook(httpserver)
    monitor = monitor_for([source(httpserver)], notify={"urls": [f"json://127.0.0.1:{httpserver.port}/hook"]})
    monitor.run_once()
    assert [m["title"] for m in received] == ["news-monitor: 2 new items on poverty (feed)",
                                             "news-monitor: 1 new item (feed)"]
    assert ITEMS[2][0] in received[1]["message"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_notifier_that_is_down_is_logged_and_never_fails_the_run(httpserver, monitor_for, caplog):
    Feed(httpserver, ITEMS)
    monitor = monitor_for([source(httpserver)], notify={"urls": [f"json://127.0.0.1:{free_port()}/hook"]})
    with caplog.at_level(logging.WARNING):
        (result,) = monitor.run_once()
    assert (result.status, result.items_new) == ("ok", 3)
    run = monitor.store.conn.execute("SELECT status, items_new FROM runs WHERE id = ?", (result.run_id,)).fetchone()
    assert tuple(run) == ("ok", 3)
    assert "feed: notify: the message about poverty could not be delivered" in caplog.text


def test_a_message_lists_at_most_max_items_and_counts_the_rest():
    from db.notices import NewItem

    items = [NewItem(id=i, title=f"标题{i}", url=f"http://example.org/{i}", publisher=None, topics=("t",))
             for i in range(5)]
    (message,) = messages_for(items, NotifySettings(urls=("json://x",), max_items=2), "src")
    assert message.body.count("\n- ") + 1 == 2
    assert message.body.endswith("... and 3 more (notify.max_items is 2)")


@pytest.mark.parametrize(("notify", "expected"), [
    ({"urls": ["json://127.0.0.1/hook"], "topic": ["poverty"]}, "notify.topic: unknown key; did you mean 'topics'?"),
    ({"urls": ["nosuchservice://token@host"]}, "notify.urls[0]: not a notification URL apprise can use"),
    ({"urls": ["json://127.0.0.1/hook"], "topics": ["sport"]}, "notify.topics[0]: no topic named 'sport'"),
    ({"topics": ["poverty"]}, "notify.urls: required key is missing"),
    ({"urls": []}, "notify.urls: expected at least one apprise URL"),
    ({"urls": ["json://127.0.0.1/hook"], "max_items": 0}, "notify.max_items: expected a whole number >= 1"),
])
def test_the_notify_block_is_validated_by_key_path(tmp_path, notify, expected):
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]").replace("?", r"\?")):
        load_config(write_config(tmp_path, [], notify=notify))


def test_once_as_a_process_sends_one_message_and_logs_it(tmp_path, httpserver):
    Feed(httpserver, ITEMS)
    received = hook(httpserver)
    config = write_config(tmp_path, [source(httpserver)], notify={
        "urls": [f"json://127.0.0.1:{httpserver.port}/hook"], "topics": ["poverty"], "max_items": 1})
    done = subprocess.run([sys.executable, str(PROJECT_DIR / "run_monitor.py"), "--config", str(config), "once"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(received) == 1 and received[0]["message"].endswith("... and 1 more (notify.max_items is 1)")
    assert "INFO monitor.notify: feed: notify: 1 message sent" in done.stderr
    assert "Notifying" not in done.stderr               # apprise's own INFO chatter is kept out
