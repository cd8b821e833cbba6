"""Notifications of new items through apprise (``notify:`` in config.yaml): after a run that stored new items, at
most one message per topic, listing each item's title and link.

A notifier is a side channel: one that is down, slow (apprise's own connect/read timeouts bound it) or refuses
the message is logged, and the run it reports on is already recorded and stays as it is. URLs are logged in
apprise's privacy form (passwords and tokens masked).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from db.notices import NewItem, new_items_of_run
from db.readonly import open_read_only
from monitor.config import Config, NotifySettings
from monitor.core import logs

log = logging.getLogger(__name__)

NO_TOPIC = None   # the group of new items that match no topic (notified only when notify.topics is empty)


@dataclass(frozen=True)
class Message:
    topic: str | None
    title: str
    body: str


def messages_for(items: list[NewItem], settings: NotifySettings, source: str) -> list[Message]:
    """One message per topic with new items (an item of two topics is in both), topics in name order."""
    groups: dict[str | None, list[NewItem]] = {}
    for item in items:
        if settings.topics:
            topics = [t for t in item.topics if t in settings.topics]
        else:
            topics = list(item.topics) or [NO_TOPIC]
        for topic in topics:
            groups.setdefault(topic, []).append(item)
    found = []
    for topic in sorted(groups, key=lambda t: (t is NO_TOPIC, t or "")):
        group = groups[topic]
        about = f" on {topic}" if topic is not NO_TOPIC else ""
        title = f"news-monitor: {len(group)} new item{'s' if len(group) != 1 else ''}{about} ({source})"
        lines = []
        for item in group[: settings.max_items]:
            publisher = f" ({item.publisher})" if item.publisher else ""
            lines.append(f"- {item.title}{publisher}\n  {item.url or '(no link)'}")
        if len(group) > settings.max_items:
            lines.append(f"... and {len(group) - settings.max_items} more (notify.max_items is {settings.max_items})")
        found.append(Message(topic=topic, title=title, body="\n".join(lines)))
    return found


def notify_new_items(config: Config, source: str, run_id: int, items_new: int) -> int:
    """Announce what run ``run_id`` added; returns the messages delivered. Never raises: a notifier's failure is
    logged and the run stays as recorded."""
    settings = config.notify
    if not settings.urls or not items_new:
        return 0
    with logs.in_run(source):
        logs.note_run(run_id)
        return _notify(config, source, run_id)


def _notify(config: Config, source: str, run_id: int) -> int:
    settings = config.notify
    try:
        conn = open_read_only(config.database)
        try:
            items = new_items_of_run(conn, run_id)
        finally:
            conn.close()
        return _send(settings, messages_for(items, settings, source), source)
    except Exception as error:   # a notification must never fail the run (a bug here included): log it
        log.error("%s: notify: could not send the new items of run %d: %s: %s", source, run_id,
                  type(error).__name__, error)
        return 0


def _send(settings: NotifySettings, messages: list[Message], source: str) -> int:
    import apprise

    targets = apprise.Apprise()
    for url in settings.urls:
        targets.add(url)
    where = ", ".join(server.url(privacy=True) for server in targets)
    delivered = 0
    for message in messages:
        if targets.notify(title=message.title, body=message.body, body_format=apprise.NotifyFormat.TEXT):
            delivered += 1
        else:
            log.warning("%s: notify: the message about %s could not be delivered to every target (%s); "
                        "see apprise's message above", source, message.topic or "new items", where)
    if delivered:
        log.info("%s: notify: %d message%s sent", source, delivered, "s" if delivered != 1 else "")
    return delivered
