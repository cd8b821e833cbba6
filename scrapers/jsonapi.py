"""Kind ``json``: news APIs that answer with JSON (or JSONP), read with dotted paths.

Options (``select:`` in config.yaml)::

    select:
      item: "data.list"           # required: the path to the list of items; "." for a top-level list
      title: "title"              # default "title"
      link: "url"                 # default "url", then "link"
      summary: "digest"           # optional
      published: "pubTime"        # optional: a date string or a Unix timestamp (seconds or milliseconds)
      publisher: "source.name"    # optional

A path is keys separated by dots, evaluated from the document (``item``) or from each item (the other fields).
A segment that is a whole number indexes a list (``images.0.url``; ``-1`` is the last element); "." (or "") is
the value itself (``item: "."`` for a top-level list, ``title: "."`` for a list of strings). The module is named
``jsonapi`` so that it does not shadow the standard library's ``json``.

Decisions:

* **Bytes are decoded by ``monitor.core.page.read_page``** (BOM, valid UTF-8, the HTTP charset, detection,
  GB2312 -> GB18030): Chinese APIs still send GBK JSONP with or without a charset.
* **JSONP and script wrappers are unwrapped**: ``callback({...});``, ``/**/jQuery123({...})``,
  ``try{cb({...})}catch(e){}``, ``var data = {...};`` and the anti-hijacking prefixes ``)]}'``, ``while(1);``
  and ``for(;;);``. Control characters inside strings, which sloppy APIs emit, are accepted.
* **Values.** Strings are plain text (tags such as a search hit's ``<em>`` stripped, entities unescaped,
  whitespace collapsed); numbers and booleans become their text, a list of scalars is joined with ", "; an
  object gives nothing (point the path inside it). Summaries are capped at 2000 characters. Links resolve
  against the page URL; only http(s) results are kept.
* **Dates.** A number (or a 10- or 13-digit string) is a Unix timestamp: 13 digits are milliseconds. Timestamps
  become aware UTC datetimes; other strings are passed as printed and parsed by the pipeline in the configured
  zone.
* **Errors** (``ScrapeError``), so a changed API is a failed run rather than "no new items":
  ``not_json`` when the body is not JSON (saying what it looks like: an HTML page and its title, or where the
  JSON broke); ``selector_empty`` when the ``item`` path is missing (naming the path, where it failed and the
  keys present there, plus the API's own message such as ``msg`` if it has one), or when no item has a
  title at the ``title`` path; ``not_a_list`` when ``item`` leads to something other than a list (lists
  found elsewhere in the document are suggested). An empty list is a successful run with no items.
* Items whose title is empty are skipped.

``extra``: none (only the configured fields are read).
"""

from __future__ import annotations

import html
import json
import logging
import math
import re
from datetime import UTC, datetime
from typing import Any

from monitor.core.errors import ScrapeError
from monitor.core.model import RawItem
from monitor.core.page import Page
from monitor.core.urls import resolve_link
from scrapers.markup import SUMMARY_MAX_CHARS, clip, collapse_whitespace, describe_page, plain_text
from scrapers.registry import register

log = logging.getLogger(__name__)

FIELDS = ("title", "link", "summary", "published", "publisher")
# Used only when the field is not configured at all; a configured path is used alone.
_DEFAULTS: dict[str, tuple[str, ...]] = {"title": ("title",), "link": ("url", "link")}
# Keys under which APIs explain a failure ({"code": 403, "msg": "..."}), quoted in path errors.
_MESSAGE_KEYS = ("msg", "message", "errmsg", "error", "error_msg", "errorMsg", "reason", "info")

_PREFIX = re.compile(r"^\s*(?:\)\]\}',?|while\s*\(\s*1\s*\)\s*;|for\s*\(\s*;\s*;\s*\)\s*;)\s*")
_JSONP = re.compile(
    r"^\s*(?:/\*\*/\s*)?(?:try\s*\{\s*)?(?:window\.)?[A-Za-z_$][\w$.]*\s*\(\s*(?P<body>[\[{].*[\]}])\s*\)\s*;?\s*"
    r"(?:\}\s*catch\s*\(\s*\w*\s*\)\s*\{[^}]*\}\s*;?\s*)?$",
    re.S,
)
_ASSIGN = re.compile(r"^\s*(?:(?:var|let|const)\s+)?[A-Za-z_$][\w$.]*\s*=\s*(?P<body>[\[{].*[\]}])\s*;?\s*$", re.S)
_INDEX = re.compile(r"^-?\d+$")
_TAG = re.compile(r"<[A-Za-z/!?]")
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_DIGITS = re.compile(r"^\d{10}(?:\.\d+)?$|^\d{13}$")


class _Missing(Exception):
    """A path left the data at segment ``depth``; ``at`` is the value where it failed."""

    def __init__(self, depth: int, at: Any):
        super().__init__(depth)
        self.depth = depth
        self.at = at


def parse_path(path: str, where: str) -> tuple[str, ...]:
    """``"data.list"`` -> ``("data", "list")``; ``""``/``"."`` -> ``()``; empty segments are an error."""
    path = path.strip()
    if path in ("", "."):
        return ()
    segments = tuple(segment.strip() for segment in path.split("."))
    if any(not segment for segment in segments):
        raise ScrapeError(f"json: {where} {path!r} has an empty segment; write keys separated by single dots, "
                          "like 'data.list' or 'images.0.url'", error_class="bad_selector")
    return segments


def walk(value: Any, segments: tuple[str, ...]) -> Any:
    """The value at ``segments`` inside ``value``; raises ``_Missing`` where the path leaves the data."""
    for depth, segment in enumerate(segments):
        if isinstance(value, dict) and segment in value:
            value = value[segment]
        elif isinstance(value, list) and _INDEX.match(segment) and -len(value) <= int(segment) < len(value):
            value = value[int(segment)]
        else:
            raise _Missing(depth, value)
    return value


def _describe(value: Any, limit: int = 12) -> str:
    """A short description of a JSON value, for error messages."""
    if isinstance(value, dict):
        keys = list(value)
        shown = ", ".join(repr(key) for key in keys[:limit]) + (", ..." if len(keys) > limit else "")
        return f"an object with keys [{shown}]" if keys else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)} elements" if value else "an empty list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"the string {value[:60]!r}"


def _api_message(data: Any) -> str:
    """The API's own explanation (``{"code": 40001, "msg": "invalid key"}``), if it gives one."""
    if not isinstance(data, dict):
        return ""
    for key in _MESSAGE_KEYS:
        value = data.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
            return f"; the response says {key}={str(value).strip()[:120]!r}"
    return ""


def _list_paths(data: Any, prefix: str = "", max_depth: int = 4, limit: int = 5) -> list[str]:
    """Paths of non-empty lists inside ``data`` (breadth first), to suggest a value for select.item."""
    found: list[str] = []
    level: list[tuple[str, Any]] = [(prefix, data)]
    for _ in range(max_depth):
        following: list[tuple[str, Any]] = []
        for prefix, value in level:
            children = value.items() if isinstance(value, dict) else ()
            for key, child in children:
                path = f"{prefix}.{key}" if prefix else str(key)
                if isinstance(child, list) and child:
                    found.append(f"{path!r} ({len(child)} elements)")
                    if len(found) >= limit:
                        return found
                elif isinstance(child, dict):
                    following.append((path, child))
        level = following
    return found


def unwrap_jsonp(text: str) -> str:
    """The JSON inside a JSONP call, a ``var x = ...;`` assignment or behind an anti-hijacking prefix."""
    text = _PREFIX.sub("", text.lstrip("\ufeff"), count=1)
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        return stripped
    for pattern in (_JSONP, _ASSIGN):
        match = pattern.match(stripped)
        if match:
            return match.group("body")
    return stripped


def load_json(page: Page) -> Any:
    """The parsed document of ``page``; ``not_json`` if it is none."""
    payload = unwrap_jsonp(page.text)
    try:
        return json.loads(payload, strict=False)
    except RecursionError as exc:
        raise ScrapeError(f"json: {page.url} returned JSON nested too deeply to read", error_class="not_json") from exc
    except ValueError as exc:
        if payload[:1] in ("{", "["):
            raise ScrapeError(f"json: {page.url} returned broken JSON ({exc}); the API may be faulty or have cut "
                              "its answer short", error_class="not_json") from exc
        what = describe_page(page)
        raise ScrapeError(f"json: {page.url} did not return JSON but {what}; check the source's url "
                          "(an API may answer with an HTML error or login page)", error_class="not_json") from exc


def _text(value: Any) -> str | None:
    """A scalar (or a list of scalars) as plain text; None for objects, null and empty text."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        parts = [_text(element) for element in value if not isinstance(element, dict | list)]
        return ", ".join(part for part in parts if part) or None
    return plain(str(value)) or None


def plain(text: str) -> str:
    """Text from an API string: tags stripped only if there are tags, ``&name;`` entities unescaped.

    ``scrapers.markup.plain_text`` alone turns a trailing ``S&P`` into ``SP`` (html.parser drops an unterminated
    ``&P`` at the end of the data), so text without tags never goes through the HTML parser, and text with tags
    is padded with a space that whitespace collapsing removes again.
    """
    if _TAG.search(text):
        return plain_text(text + " ")
    return collapse_whitespace(_ENTITY.sub(lambda match: html.unescape(match.group(0)), text))


def timestamp(value: int | float) -> datetime | None:
    """A Unix timestamp in seconds, milliseconds (13 digits) or microseconds as an aware UTC datetime."""
    seconds = float(value)
    if not math.isfinite(seconds):  # 1e400 is infinity to the JSON reader: dividing it never ends
        return None
    while abs(seconds) >= 1e11:    # 1e11 s is the year 5138: a larger number is in ms (or µs)
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _published(value: Any) -> datetime | str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return timestamp(value) if value > 0 else None
    text = _text(value)
    if text and _DIGITS.match(text):
        return timestamp(float(text))
    return text


def _field_paths(select: dict[str, Any]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Each field's candidate paths (the configured one, or the defaults); a field given as "" has none."""
    paths: dict[str, tuple[tuple[str, ...], ...]] = {}
    for field in FIELDS:
        raw = select.get(field)
        if raw is None:
            candidates = _DEFAULTS.get(field, ())
        elif not isinstance(raw, str):
            raise ScrapeError(f"json: select.{field} must be a dotted path string, not {raw!r}",
                              error_class="bad_selector")
        elif not raw.strip():
            candidates = ("title",) if field == "title" else ()
        else:
            candidates = (raw,)
        paths[field] = tuple(parse_path(candidate, f"select.{field}") for candidate in candidates)
    return paths


def _value(item: Any, candidates: tuple[tuple[str, ...], ...]) -> Any:
    for segments in candidates:
        try:
            value = walk(item, segments)
        except _Missing:
            continue
        if value is not None:
            return value
    return None


def _items_list(data: Any, path: str, page: Page) -> list[Any]:
    segments = parse_path(path, "select.item")
    shown = path.strip() if segments else "(the top level)"
    try:
        found = walk(data, segments)
    except _Missing as missing:
        where = ".".join(segments[: missing.depth]) or "the top level"
        lists = _list_paths(data)
        hint = f"; lists in the document: {', '.join(lists)}" if lists else ""
        raise ScrapeError(
            f"json: select.item path {shown!r} not found in {page.url}: {segments[missing.depth]!r} is not in "
            f"{where}, which is {_describe(missing.at)}{_api_message(data)}{hint}; the API may have changed",
            error_class="selector_empty") from None
    if not isinstance(found, list):
        lists = _list_paths(found, ".".join(segments)) if isinstance(found, dict) else _list_paths(data)
        hint = f"; lists found: {', '.join(lists)}" if lists else ""
        raise ScrapeError(f"json: select.item path {shown!r} in {page.url} is {_describe(found)}, not a list of "
                          f"items{_api_message(data)}{hint}", error_class="not_a_list")
    return found


@register("json", select_fields=("item", *FIELDS), required_select=("item",))
def scrape_json(page: Page, options: dict[str, Any]) -> list[RawItem]:
    """Items from a JSON or JSONP API response: one per element of the list at ``select.item``."""
    select = options.get("select") or {}
    item_path = select.get("item")
    if not isinstance(item_path, str):
        raise ScrapeError("json: the source needs select.item, the dotted path to the list of items "
                          "('data.list', or '.' for a top-level list)", error_class="bad_selector")
    fields = _field_paths(select)
    data = load_json(page)
    elements = _items_list(data, item_path, page)
    if not elements:
        log.info("json: %s: the list at %r is empty", page.url, item_path)
        return []

    items: list[RawItem] = []
    for element in elements:
        title = _text(_value(element, fields["title"]))
        if not title:
            continue
        link = _value(element, fields["link"])
        summary = _text(_value(element, fields["summary"]))
        summary = clip(summary, SUMMARY_MAX_CHARS) if summary else summary
        publisher = _text(_value(element, fields["publisher"]))
        items.append(RawItem(
            title=collapse_whitespace(title),
            url=resolve_link(page.url, link.strip()) if isinstance(link, str) else None,
            summary=summary,
            publisher=publisher,
            published=_published(_value(element, fields["published"])),
        ))
    if not items:
        paths = " or ".join(repr(".".join(p) or ".") for p in fields["title"])
        raise ScrapeError(f"json: none of the {len(elements)} items at {item_path!r} in {page.url} has a title at "
                          f"{paths}; the first item is {_describe(elements[0])}: set select.title",
                          error_class="selector_empty")
    return items
