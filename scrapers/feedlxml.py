"""The fast reader of well-formed feeds: lxml gives what feedparser gives, for the fields the ``rss`` kind reads.

Not a kind: ``scrapers.rss`` asks this module first and hands the document to feedparser when it answers None.

Decisions:

* **Why.** feedparser drives a Python state machine through SAX callbacks for every element and resolves a base
  URI at every start tag: 110-200 ms of CPU per 500-item feed, under the GIL, which made parsing the limit of a
  poll with 32 workers. libxml2 builds the tree in C (under 1 ms for the same feed); what remains is a walk over
  the entries' children in Python (7 ms in all).
* **Exactly feedparser's values, or nothing.** The result is a dict shaped like feedparser's (``version``,
  ``feed.title``/``link``, ``entries`` with ``title``, ``link``, ``id``, ``summary``, ``content``, ``author``,
  ``tags``, ``source``, ``published``/``updated``/``created`` and their ``*_parsed``), and every value is made the
  way feedparser 6 makes it: its element names (namespace URI -> its prefix, lower case), its order rules (the
  first non-empty title, a second ``<description>`` read as content, a permalink ``<guid>`` as the link only when
  there is none), its text pipeline (stripped; relative URIs resolved against ``xml:base`` with its functions;
  RSS text that looks like HTML treated as HTML; HTML resolved and sanitised with its functions; its UTF-8 mojibake
  repair and windows-1252 mapping) and its date parser. ``tests/test_feed_paths.py`` runs both readers over every
  real fixture, every feed under ``tests/fixtures`` and the feeds the tests write, and asserts identical items.
* **Anything else goes to feedparser** (``parse`` returns None): not well-formed XML (feedparser's lenient parser
  reads it, and marks it bozo), any DOCTYPE or entity declaration, a parser warning, a root that is not RSS 0.9x/2.0,
  RSS 1.0 (RDF) or Atom 1.0, an element feedparser gives a meaning this reader does not reproduce (``dc:title``,
  ``media:title``, ``itunes:summary``, an ``<image>`` inside an entry...), markup as child elements of a text field
  (Atom ``type="xhtml"``), base64 or other non-text content types, two titles or two authors in one entry.
* **Hostile XML.** The parser never loads a DTD, resolves an entity or touches the network
  (``resolve_entities=False, no_network=True, load_dtd=False``), and keeps libxml2's size limits
  (``huge_tree=False``: a deeper or larger document fails here and is read by feedparser, as before).
"""

from __future__ import annotations

import logging
import re
import threading
from functools import cache, partial
from typing import Any

log = logging.getLogger(__name__)

ATOM = "http://www.w3.org/2005/Atom"
RSS10 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
RDF_ROOT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF"
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}

_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
_BASE_ATTRIBUTE = re.compile(rb"base\s*=", re.I)
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")
# An absolute http(s) URL that urllib's join returns unchanged, whatever the base (no query, fragment, parameters,
# upper-case scheme, spaces or controls, non-ASCII host): feedparser's join is skipped for it (a third of the time).
_PLAIN_ABSOLUTE = re.compile(r"https?://[A-Za-z0-9.:@_~%!$&'()*+,=-]+(?:/[^?#;\x00-\x20\x7f]*)?")

TITLE = "title"
PUBLISHED = ("pubdate", "published", "issued", "dcterms_issued")
UPDATED = ("updated", "modified", "dc_date", "dcterms_modified", "lastbuilddate")
CREATED = ("created", "dcterms_created")
DATE_KEYS = {**dict.fromkeys(PUBLISHED, "published"), **dict.fromkeys(UPDATED, "updated"),
             **dict.fromkeys(CREATED, "created")}
AUTHORS = frozenset({"author", "dc_creator", "dc_author", "itunes_author", "managingeditor"})
CATEGORIES = frozenset({"category", "dc_subject", "keywords"})
PERSON_PARTS = {"name": "name", "itunes_name": "name", "email": "email", "itunes_email": "email",
                "uri": "href", "url": "href", "homepage": "href"}

# Elements feedparser reads but whose values never reach a field the rss kind uses (at that place, text only or
# holding only such elements). Any other element feedparser knows, met where this reader does not handle it, sends
# the document to feedparser.
ENTRY_INERT = frozenset({
    "enclosure", "rights", "copyright", "dc_rights", "dc_language", "language", "dc_publisher", "webmaster",
    "subtitle", "tagline", "itunes_subtitle", "itunes_explicit", "itunes_block", "itunes_image", "media_content",
    "media_thumbnail", "media_group", "media_credit", "media_rating", "media_restriction", "media_license",
    "media_player", "expirationdate", "contributor", "dc_contributor", "name", "email", "uri", "url", "homepage",
    "georss_point", "generator",
})
FEED_INERT = frozenset({
    "description", "subtitle", "tagline", "rights", "copyright", "language", "dc_language", "pubdate", "published",
    "lastbuilddate", "updated", "modified", "issued", "created", "dc_date", "dcterms_modified", "dcterms_issued",
    "generator", "category", "keywords", "dc_subject", "dc_rights", "dc_creator", "dc_publisher", "author",
    "managingeditor", "webmaster", "contributor", "name", "email", "uri", "url", "homepage", "cloud", "width",
    "height", "info", "itunes_explicit", "itunes_block", "itunes_image", "itunes_subtitle", "itunes_owner",
    "itunes_name", "itunes_email", "itunes_author", "itunes_category", "itunes_keywords", "expirationdate",
})
# <image> and <textinput>: feedparser leaves them at any other unprefixed element, so only these may be inside.
IMAGE_PARTS = frozenset({"title", "link", "description", "url", "href", "width", "height"})
TEXTINPUT_PARTS = frozenset({"title", "link", "description", "name"})
# Keys an unknown element would overwrite on an entry (feedparser stores unknown elements under their name).
ENTRY_KEYS = frozenset({"title", "link", "links", "id", "summary", "content", "source", "author", "authors", "tags",
                        "published", "updated", "created", "published_parsed", "updated_parsed", "created_parsed",
                        "guidislink", "title_detail", "summary_detail", "author_detail"})
TEXT_TYPES = frozenset({"text/plain", "text/html"})
_CONTENT_TYPES = {"text/plain": "text/plain", "text/html": "text/html", "text": "text/plain", "html": "text/html"}
_C1_CONTROLS = re.compile("[\x80-\x9f]")     # what feedparser maps to windows-1252's characters


class _Outside(Exception):
    """The document holds something this reader does not reproduce: feedparser reads it."""


_IMPORT_LOCK = threading.Lock()


def _feedparser() -> dict[str, Any]:
    """What is taken from feedparser itself, so that its rules are applied, not copied (imported on first use, by
    one thread: two threads importing feedparser's submodules at once can meet a partly initialised module)."""
    with _IMPORT_LOCK:
        return _feedparser_parts()


@cache
def _feedparser_parts() -> dict[str, Any]:
    import feedparser  # noqa: F401  (the package first: its submodules import each other)
    from feedparser.datetimes import _parse_date
    from feedparser.datetimes.rfc822 import _parse_date_rfc822
    from feedparser.html import _cp1252
    from feedparser.mixin import _FeedParserMixin as Mixin
    from feedparser.sanitizer import _sanitize_html
    from feedparser.urls import _urljoin, make_safe_absolute_uri, resolve_relative_uris

    handlers = {name[7:] for name in dir(Mixin) if name.startswith("_start_")}
    handlers |= {name[5:] for name in dir(Mixin) if name.startswith("_end_")}
    return {
        "prefixes": {uri.lower(): prefix.lower() for uri, prefix in Mixin.namespaces.items()},
        "handlers": frozenset(handlers),
        "parse_date": partial(_parse_date_fast, _parse_date, _parse_date_rfc822),
        "cp1252": _cp1252, "sanitize": _sanitize_html,
        "urljoin": _urljoin, "safe_uri": make_safe_absolute_uri, "resolve_uris": resolve_relative_uris,
        "looks_like_html": Mixin.looks_like_html, "content_type": Mixin.map_content_type,
        "html_types": frozenset(Mixin.html_types), "relative_uri": frozenset(Mixin.can_be_relative_uri),
        "markup": frozenset(Mixin.can_contain_dangerous_markup | Mixin.can_contain_relative_uris),
    }


def parse(data: bytes, base_url: str | None = None) -> dict[str, Any] | None:
    """feedparser's result for the fields the rss kind reads, or None when feedparser must read ``data``.

    ``data`` are the bytes ``scrapers.rss`` gives feedparser (UTF-8, declared so); ``base_url`` what feedparser is
    given as the Content-Location.
    """
    if _DECLARATION.search(data):
        return _leave(base_url, "a DOCTYPE or entity declaration")
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True, collect_ids=False)
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        return _leave(base_url, f"not well-formed: {exc}")
    if len(parser.error_log) or root.getroottree().docinfo.xml_version != "1.0":
        return _leave(base_url, f"XML {root.getroottree().docinfo.xml_version}, {parser.error_log}")
    try:
        return _Reader(base_url or "", bool(_BASE_ATTRIBUTE.search(data))).read(root)
    except _Outside as outside:
        return _leave(base_url, str(outside) or "outside what it reads")


def _leave(base_url: str | None, reason: str) -> None:
    """None, logged (debug): which feeds feedparser still reads, and why."""
    log.debug("feedlxml: %s is read by feedparser: %s", base_url, reason)
    return None


class _Reader:
    """One document's walk (see the module docstring); raises ``_Outside`` where feedparser must read it."""

    def __init__(self, base_url: str, has_base_attributes: bool):
        fp = _feedparser()
        self.fp = fp
        self.prefixes = fp["prefixes"]
        self.handlers = fp["handlers"]
        self.names: dict[str, str] = {}
        self.steps: dict[tuple[str, str], str] = {}
        self.base_url = base_url
        self.has_base_attributes = has_base_attributes
        self.atom = False
        if has_base_attributes and not base_url:
            raise _Outside   # feedparser's base stack keeps a child's base when the parent's is empty

    # --- names, attributes, bases ---------------------------------------------------------------------------

    def name(self, element) -> str:
        """feedparser's name of an element: its namespace's prefix (as feedparser knows it), ``_``, the local
        name, all in lower case (``dc_creator``, ``content_encoded``; Atom, RSS 1.0 and no namespace: none)."""
        tag = element.tag
        name = self.names.get(tag)
        if name is not None:
            return name
        if not isinstance(tag, str):
            raise _Outside
        if tag[0] == "{":
            uri, local = tag[1:].split("}", 1)
            lower = uri.lower()
            if "backend.userland.com/rss" in lower:
                lower = "http://backend.userland.com/rss"
            prefix = self.prefixes.get(lower)
            if prefix is None:   # a namespace feedparser does not know: the prefix the document gave it
                prefix = (element.prefix or "").lower()
                local = local.lower()
                return f"{prefix}_{local}" if prefix else local
        else:
            prefix, local = "", tag
        name = f"{prefix}_{local.lower()}" if prefix else local.lower()
        self.names[tag] = name
        return name

    def attributes(self, element) -> dict[str, str]:
        """The element's attributes as feedparser's handlers see them (keys in lower case, with and without a known
        namespace's prefix; the values of ``rel`` and ``type`` in lower case)."""
        if not element.attrib:
            return {}
        found: dict[str, str] = {}
        locals_: list[tuple[str, str]] = []
        for key, value in element.attrib.items():
            if key[0] == "{":
                uri, local = key[1:].split("}", 1)
                prefix = self.prefixes.get(uri.lower(), "")
                found[(f"{prefix}:{local}" if prefix else local).lower()] = value
            else:
                local = key
                found[local.lower()] = value
            locals_.append((local.lower(), value))
        for local, value in locals_:
            found[local] = value
        return {key: value.lower() if key in ("rel", "type") else value for key, value in found.items()}

    def base(self, parent_base: str, element) -> str:
        """The base URI feedparser holds inside ``element`` (its ``xml:base`` resolved on the parent's)."""
        given = None
        if self.has_base_attributes:
            attributes = self.attributes(element)
            given = attributes.get("xml:base", attributes.get("base"))
        given = given or parent_base
        key = (parent_base, given)
        step = self.steps.get(key)
        if step is None:
            if parent_base:
                step = self.fp["safe_uri"](parent_base, given) or parent_base
            else:
                step = self.fp["urljoin"](parent_base, given)
            self.steps[key] = step
        return step

    def join(self, base: str, uri: str) -> str:
        """feedparser's ``_urljoin`` (its resolution of a link or id against the base)."""
        if _PLAIN_ABSOLUTE.fullmatch(uri):
            return uri
        return self.fp["urljoin"](base or "", uri)

    # --- text -----------------------------------------------------------------------------------------------

    @staticmethod
    def text(element) -> str:
        """An element's text; an element with child elements is markup feedparser serialises itself."""
        if len(element):
            raise _Outside(f"markup inside <{element.tag}>")
        return element.text or ""

    def value(self, raw: str, element_name: str, base: str, content_type: str | None = None,
              relative: bool = True) -> str:
        """feedparser's ``pop`` for text of ``element_name`` (``content_type``: its content's type, if any)."""
        fp = self.fp
        output = raw.strip()
        if output and relative and element_name in fp["relative_uri"]:
            output = self.join(base, output)
        markup = "<" in output or "&" in output
        if markup and not self.atom and content_type == "text/plain" and fp["looks_like_html"](output):
            content_type = "text/html"
        if element_name in fp["markup"] and (content_type or "text/html") in fp["html_types"]:
            if markup:
                output = fp["resolve_uris"](output, base, "utf-8", content_type or "text/html")
                output = fp["sanitize"](output, "utf-8", content_type or "text/html")
            else:   # what both give for text with no markup (tests/test_feed_paths.py checks it)
                output = output.replace("\r\n", "\n")
        if not output.isascii():
            try:    # noqa: SIM105 (faster than contextlib.suppress) feedparser's repair of UTF-8 read as Latin-1
                output = output.encode("iso-8859-1").decode("utf-8")
            except UnicodeError:
                pass
            if _C1_CONTROLS.search(output):
                output = output.translate(fp["cp1252"])
        return output

    def content_type(self, attributes: dict[str, str], default: str) -> str:
        """The type of a text construct; one this reader does not reproduce (xhtml, base64...) is ``_Outside``."""
        if "mode" in attributes:
            raise _Outside(f"mode={attributes['mode']!r}")
        content_type = attributes.get("type", default)
        content_type = _CONTENT_TYPES.get(content_type) or self.fp["content_type"](content_type)
        if content_type not in TEXT_TYPES:
            raise _Outside(f"type={content_type!r}")
        return content_type

    # --- structure ------------------------------------------------------------------------------------------

    def check_unknown(self, element) -> None:
        """An element feedparser has no handler for: it stores its text under its name, which must be no key the
        kind reads, and nothing inside may be an element it knows."""
        name = self.name(element)
        if name in self.handlers or name in ENTRY_KEYS:
            raise _Outside(f"<{element.tag}> there")
        self.check_inert(element, frozenset())

    def check_inert(self, element, allowed: frozenset[str]) -> None:
        """An element whose value reaches no field read: its descendants must be unknown to feedparser or
        ``allowed`` too, and must not be stored over a key the kind reads."""
        for child in element.iterdescendants():
            name = self.name(child)
            if name in self.handlers:
                if name not in allowed:
                    raise _Outside(f"<{child.tag}> inside <{element.tag}>")
            elif name in ENTRY_KEYS:
                raise _Outside(f"<{child.tag}> inside <{element.tag}>")

    def read(self, root) -> dict[str, Any]:
        feed: dict[str, Any] = {}
        entries: list[dict[str, Any]] = []
        base = self.base(self.base_url, root)
        if self.name(root) == "rss":
            version = root.get("version", "")
            version = _RSS_VERSIONS.get(version) or ("rss20" if version.startswith("2.") else "rss")
            if self.first_version(root) in ("rss10", "rss090"):
                version = self.first_version(root)
            channels = [child for child in root if self.name(child) == "channel"]
            if len(channels) > 1 or len(channels) != len(root):
                raise _Outside("<rss> holding more than one <channel>")
            for channel in channels:
                self.read_feed(channel, self.base(base, channel), feed, entries)
        elif root.tag == RDF_ROOT:
            version = self.first_version(root)
            if version not in ("rss10", "rss090"):
                raise _Outside(f"RDF whose first namespace says {version}")
            self.read_rdf(root, base, feed, entries)
        elif root.tag == f"{{{ATOM}}}feed":
            version = self.first_version(root)
            if version != "atom10":
                raise _Outside(f"Atom whose first namespace says {version}")
            self.atom = True
            self.read_feed(root, base, feed, entries, atom=True)
        else:
            raise _Outside(f"the root <{root.tag}> (RSS 0.9x/1.0/2.0 and Atom 1.0 are read here)")
        return {"version": version, "bozo": False, "feed": feed, "entries": entries}

    @staticmethod
    def first_version(root) -> str | None:
        """The version feedparser takes from the first namespace the root declares that names one."""
        for prefix, uri in root.nsmap.items():
            lower = uri.lower()
            if prefix is None and lower == RSS090:
                return "rss090"
            if lower == RSS10:
                return "rss10"
            if lower == ATOM.lower():
                return "atom10"
        return None

    def read_rdf(self, root, base: str, feed: dict, entries: list) -> None:
        """RSS 1.0 / 0.90: the channel, then the items beside it (the channel must come first: feedparser would
        not store its title after an item's or the image's)."""
        seen_channel = False
        for child in root:
            name = self.name(child)
            if name == "channel":
                if seen_channel:
                    raise _Outside
                seen_channel = True
                self.read_feed(child, self.base(base, child), feed, entries, items_inside=False)
            elif not seen_channel:
                raise _Outside
            elif name == "item":
                entries.append(self.read_entry(child, self.base(base, child)))
            elif name in ("image", "textinput"):
                self.check_parts(child, IMAGE_PARTS if name == "image" else TEXTINPUT_PARTS)
            else:
                self.check_unknown(child)

    def check_parts(self, element, parts: frozenset[str]) -> None:
        for child in element:
            if self.name(child) not in parts or len(child):
                raise _Outside

    def read_feed(self, channel, base: str, feed: dict, entries: list, atom: bool = False,
                  items_inside: bool = True) -> None:
        """The channel (or Atom feed): its title and link, and its entries."""
        attributes = self.attributes(channel)
        if "href" in attributes or "lastmod" in attributes:
            raise _Outside
        titles = 0
        for child in channel:
            name = self.name(child)
            if name == ("entry" if atom else "item") and items_inside:
                entries.append(self.read_entry(child, self.base(base, child)))
            elif name == TITLE:
                titles += 1
                if titles > 1:
                    raise _Outside("two titles in one element")
                child_base = self.base(base, child)
                content_type = self.content_type(self.attributes(child), "text/plain")
                feed["title"] = self.value(self.text(child), TITLE, child_base, content_type)
            elif name == "link":
                self.read_link(child, self.base(base, child), feed, entry=False)
            elif name in ("id", "guid"):
                is_link = self.attributes(child).get("ispermalink", "true") == "true"
                value = self.value(self.text(child), "id", self.base(base, child), relative=is_link)
                if is_link:
                    feed.setdefault("link", value)
            elif name in ("image", "textinput"):
                self.check_parts(child, IMAGE_PARTS if name == "image" else TEXTINPUT_PARTS)
            elif name in FEED_INERT:
                self.check_inert(child, FEED_INERT)
            else:
                self.check_unknown(child)

    def read_link(self, element, base: str, context: dict, entry: bool) -> None:
        """``<link>``: an Atom link's ``href`` (the alternate HTML one is the link), else the element's text."""
        attributes = self.attributes(element)
        href = attributes.get("url", attributes.get("uri", attributes.get("href")))
        if href:
            attributes["href"] = href
        if "href" in attributes:
            rel = attributes.setdefault("rel", "alternate")
            kind = attributes.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
            resolved = self.join(base, attributes["href"])
            if rel == "alternate" and self.fp["content_type"](kind) in self.fp["html_types"]:
                context["link"] = resolved
            return
        value = self.value(self.text(element), "link", base)
        if entry:
            value = value.replace("&amp;", "&")
        context["link"] = _LINK_ENTITY.sub(r"&\g<1>", value) if "&" in value else value

    def read_entry(self, item, base: str) -> dict[str, Any]:
        """One ``<item>`` / ``<entry>`` as feedparser's entry dict (the keys the rss kind reads)."""
        entry: dict[str, Any] = {}
        attributes = self.attributes(item)
        if "href" in attributes or "lastmod" in attributes:
            raise _Outside
        about = attributes.get("rdf:about")
        if about:
            entry["id"] = about
        has_content = False
        titles = authors = 0
        tags: list[dict[str, Any]] = []
        for child in item:
            name = self.name(child)
            child_base = self.base(base, child)
            if name == TITLE:
                titles += 1
                if titles > 1:
                    raise _Outside("two titles in one element")
                content_type = self.content_type(self.attributes(child), "text/plain")
                entry["title"] = self.value(self.text(child), TITLE, child_base, content_type)
            elif name == "link":
                self.read_link(child, child_base, entry, entry=True)
            elif name in ("description", "dc_description", "summary", "content", "content_encoded"):
                has_content = self.read_text_construct(child, name, child_base, entry, has_content)
            elif name in ("guid", "id"):
                is_link = self.attributes(child).get("ispermalink", "true") == "true"
                value = self.value(self.text(child), "id", child_base, relative=is_link)
                entry["id"] = value
                if is_link:
                    entry.setdefault("link", value)
            elif name in DATE_KEYS:
                key = DATE_KEYS[name]
                value = self.value(self.text(child), key, child_base)
                entry[key] = value
                entry[f"{key}_parsed"] = self.fp["parse_date"](value)
            elif name in AUTHORS:
                authors += 1
                if authors > 1:
                    raise _Outside("two authors in one entry")
                entry["author"] = self.read_author(child, child_base)
            elif name in CATEGORIES:
                self.read_category(child, child_base, tags)
            elif name == "source":
                entry["source"] = self.read_source(child, child_base)
            elif name in ENTRY_INERT:
                self.check_inert(child, ENTRY_INERT)
            else:
                self.check_unknown(child)
        if tags:
            entry["tags"] = tags
        return entry

    def read_text_construct(self, element, name: str, base: str, entry: dict, has_content: bool) -> bool:
        """A description, summary or content, with feedparser's order rules; returns whether the entry now has
        content (a ``<description>`` or ``<summary>`` after a summary, with no content yet, is read as content)."""
        attributes = self.attributes(element)
        if name in ("description", "dc_description", "summary") and "summary" in entry and not has_content:
            name = "content"
            default = "text/plain"
        else:
            default = "text/html" if name in ("description", "dc_description", "content_encoded") else "text/plain"
        if name == "content" and "src" in attributes:
            raise _Outside
        content_type = self.content_type(attributes, default)
        raw = self.text(element)
        if name in ("content", "content_encoded"):
            value = self.value(raw, "content", base, content_type)
            entry.setdefault("content", []).append({"type": content_type, "value": value})
            entry.setdefault("summary", value)
            return True
        entry["summary"] = self.value(raw, "description" if name != "summary" else "summary", base, content_type)
        return has_content

    def read_author(self, element, base: str) -> str:
        """An author: ``Name (email)``, the name or the e-mail of an Atom person, else the element's text."""
        detail: dict[str, str] = {}
        own_text = element.text or ""
        for child in element:
            part = PERSON_PARTS.get(self.name(child))
            if part is None:
                self.check_unknown(child)
            elif len(child):
                raise _Outside
            else:
                detail[part] = (child.text or "").strip()
            own_text += child.tail or ""
        author = self.value(own_text, "author", base)
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                author = f"{name} ({email})"
            elif name or email:
                author = name or email
        return author

    def read_category(self, element, base: str, tags: list[dict[str, Any]]) -> None:
        """``<category>`` / ``<dc:subject>``: feedparser's tag list (term, scheme, label; the text as the term)."""
        attributes = self.attributes(element)
        _add_tag(tags, attributes.get("term"), attributes.get("scheme", attributes.get("domain")),
                 attributes.get("label"))
        value = self.value(self.text(element), "category", base)
        if value:
            if tags and not tags[-1]["term"]:
                tags[-1]["term"] = value
            else:
                _add_tag(tags, value, None, None)

    def read_source(self, element, base: str) -> dict[str, Any]:
        """``<source>``: its text (RSS) or its ``<title>`` (Atom) is the title."""
        attributes = self.attributes(element)
        source: dict[str, Any] = {}
        if "url" in attributes:
            source["href"] = attributes["url"]
        own_text = element.text or ""
        titles = 0
        for child in element:
            name = self.name(child)
            if name == TITLE:
                titles += 1
                if titles > 1:
                    raise _Outside("two titles in one element")
                content_type = self.content_type(self.attributes(child), "text/plain")
                source["title"] = self.value(self.text(child), TITLE, self.base(base, child), content_type)
            elif name in ("link", "id", "updated", "published"):
                self.text(child)
            else:
                self.check_unknown(child)
            own_text += child.tail or ""
        value = self.value(own_text, "source", base)
        if value:
            source["title"] = value
        return source


def _parse_date_fast(parse_date, parse_rfc822, value: str):
    """feedparser's ``_parse_date``, its first handler skipped where it cannot succeed: the W3C-DTF reader needs a
    four-digit year first, so a date starting with a letter (``Tue, 15 Dec 2020 ...``) goes to the RFC 822 reader,
    feedparser's second, at once (the W3C-DTF try was a third of the fast reader's time)."""
    if value[:1].isascii() and value[:1].isalpha():
        try:
            parsed = parse_rfc822(value)
        except (KeyError, OverflowError, ValueError, AttributeError):
            parsed = None
        if parsed and len(parsed) == 9:
            return parsed
    return parse_date(value)


def _add_tag(tags: list[dict[str, Any]], term: str | None, scheme: str | None, label: str | None) -> None:
    if not term and not scheme and not label:
        return
    value = {"term": term, "scheme": scheme, "label": label}
    if value not in tags:
        tags.append(value)
