"""The ``.atom`` output format: any query returning ``atom_id``, ``atom_title`` and ``atom_updated`` as Atom 1.0.

The columns are those of the ``datasette-atom`` plug-in (``atom_link``, ``atom_content``, ``atom_author_name`` are
optional; ours adds ``atom_published``), so a query written for one reads in the other. Ours is used because
``datasette-atom`` answers an empty result (a topic with nothing new yet) with a server error, and because it pulls
in an HTML sanitiser that only matters for HTML content, which these feeds never carry.

Text goes through ElementTree, so a title holding ``<script>`` reaches the reader as text, never as markup.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

REQUIRED_COLUMNS = {"atom_id", "atom_title", "atom_updated"}
ATOM = "http://www.w3.org/2005/Atom"


def can_render_atom(columns) -> bool:
    return REQUIRED_COLUMNS.issubset(columns)


def atom_document(*, feed_id: str, title: str, self_url: str, alternate_url: str, rows: list[dict]) -> bytes:
    """A complete Atom feed of ``rows`` in the order given (the query's order: newest first)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    updated = max((str(row["atom_updated"]) for row in rows if row["atom_updated"]), default=None)
    _text(feed, "updated", updated or datetime.now(UTC).isoformat(timespec="seconds"))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url, type="application/atom+xml")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=alternate_url, type="text/html")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "news-monitor")
    _text(feed, "generator", "news-monitor")
    for row in rows:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", str(row["atom_id"]))
        _text(entry, "title", str(row["atom_title"] or "(no title)"))
        _text(entry, "updated", str(row["atom_updated"] or updated or ""))
        if row.get("atom_published"):
            _text(entry, "published", str(row["atom_published"]))
        if _is_web_url(row.get("atom_link")):
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=str(row["atom_link"]))
        if row.get("atom_author_name"):
            entry_author = ET.SubElement(entry, f"{{{ATOM}}}author")
            _text(entry_author, "name", str(row["atom_author_name"]))
        if row.get("atom_content"):
            content = _text(entry, "content", str(row["atom_content"]))
            content.set("type", "text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _is_web_url(value) -> bool:
    """Readers follow an entry's link: only to a web address (a feed may have given ``javascript:...``)."""
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def _text(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}")
    element.text = _xml_safe(text)
    return element


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot carry most control characters, even escaped: they are dropped."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)
