"""Feeds for the database fault cases: any number of items, each a headline of its own."""

from __future__ import annotations

import random


def title_of(n: int) -> str:
    """A headline of its own (random characters: no two are near-duplicates)."""
    rng = random.Random(n)
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(14))


def feed(numbers: range) -> bytes:
    """An RSS feed of items ``numbers`` (item n: ``title_of(n)`` at http://news.example/a/n.html)."""
    entries = "".join(
        f"<item><title>{title_of(n)}</title><link>http://news.example/a/{n}.html</link>"
        f"<pubDate>Wed, 15 May 2024 08:00:00 +0800</pubDate></item>" for n in numbers)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{entries}'
            f"</channel></rss>").encode()
