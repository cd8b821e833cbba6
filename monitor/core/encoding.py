"""Bytes -> text for fetched HTML and XML, robust to the ways Chinese sites lie about their encoding.

``decode_body(body, header_charset)`` returns a ``Decoded``: the text, the codec used and how many bytes that
codec could not read (each replaced by U+FFFD; 0 for a clean document).
It tries, in this order, and the first step that applies wins:

1. **A byte-order mark** (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE). The BOM is removed from the text. A document
   with no BOM that starts with ``<`` in UTF-32 or UTF-16 code units is read so too, as XML 1.0 appendix F
   describes (``3C 00 00 00`` and ``00 00 00 3C``: UTF-32 LE/BE; ``3C 00 3F 00`` and ``00 3C 00 3F``, or any
   ``<`` as a 16-bit unit: UTF-16 LE/BE; see ``wide_unicode_codec``).
2. **UTF-8 with non-ASCII bytes.** If the bytes decode as UTF-8 without a single error and are not plain
   ASCII, the document is UTF-8, whatever it declares. Pages saved by a browser are rewritten as UTF-8 but
   keep their ``<meta charset=gb2312>`` (people.com.cn, qq.com, 163.com), and servers send
   ``charset=ISO-8859-1`` for UTF-8 pages; legacy GB/Big5/Cyrillic text practically never forms valid UTF-8
   by chance. A document that is valid UTF-8 **but for a few bytes** (a stray ``0xA9``, a character cut in
   half, a Windows ``0x92`` quote: at most ``FEW_BAD_BYTES``, or one per 20 valid UTF-8 characters) is UTF-8
   too, those bytes replaced by U+FFFD and counted, unless steps 3 to 6 find a codec that reads it with
   *fewer errors*. Every valid multi-byte UTF-8 character is an error for another codec (it reads it as two
   or three characters of mojibake: ``’`` as ``â€™``, ``‚Äô`` or ``вЂ™``), so a UTF-8 feed with one
   ``0x92`` among curly quotes stays UTF-8, and an English page whose only non-ASCII byte is ``0x92`` is
   windows-1252. A single-byte codec that merely decodes without raising (mac-iceland, cp1125) is no
   reason to leave UTF-8.
3. **The HTTP header charset** (``header_charset``), accepted only if the bytes decode strictly with it. A
   header naming ISO-8859-1, US-ASCII or windows-1252 is *weak*: it is a common server default and every
   byte string decodes as Latin-1, so it cannot be checked; it is tried only after steps 4 and 5 (a GBK page
   served with the default ``charset=ISO-8859-1`` is read by its ``<meta>`` or by detection, not as
   mojibake).
4. **Declarations in the first 4 KiB** (see ``declared_charsets``): ``<?xml ... encoding="..."?>``,
   ``<meta charset=...>`` and ``<meta http-equiv="Content-Type" content="...; charset=...">``, in document
   order, each accepted only if the bytes decode strictly with it. ``charset`` attributes of other tags (the
   Wayback banner's ``<script charset="utf-8">`` before the Xinhua page's real ``gb2312`` meta) and anything
   inside comments or scripts are ignored, as are UTF-16/UTF-32 declared in an ASCII-compatible byte stream.
5. **Detection** with charset-normalizer; its guesses are also checked with a strict decode.
6. **GB18030 with replacement**: the last resort never fails, and for the Chinese sources this tool reads it
   loses the fewest characters; UTF-8 with replacement instead when that loses fewer bytes.

Every declared or detected name is widened to the superset browsers actually use:
``gb2312``/``gbk``/``x-gbk``/``cp936``/``euc-cn`` -> ``gb18030`` (pages declaring GB2312 routinely contain
GBK-only characters such as 镕 and 喆), ``big5`` -> ``big5hkscs``, and ``iso-8859-1``/``us-ascii`` ->
``windows-1252`` (then ``iso-8859-1``), as the WHATWG Encoding standard does. The encoding returned is the
Python codec name actually used (``"gb18030"``, ``"big5hkscs"``, ``"utf-8"``, ``"cp1251"``...); a pure-ASCII
document with no usable declaration is ``"ascii"``.

Decoding never fails, so a page whose bytes match no encoding (or a feed that was already mangled upstream)
comes out as mojibake. ``garbled_reason(texts)`` judges the text a scraper is about to return: more than 2% of
its non-space characters being U+FFFD, private-use or C1 control characters, or UTF-8 read as Latin-1
(``è„±è´«``), as GBK (``鑴辫传``) or as a Cyrillic or Mac codepage (``вЂ™``, ``тАЩ``, ``‚Äô``, ``и„±иґ«``), makes
it garbled, and the scrapers then fail the run (error class
``encoding``) with the reason instead of storing it.

It is called in one place, ``monitor.core.page.read_page``, where a fetched response becomes the ``Page`` the kinds
read (``page.text``) and whose codec and replaced bytes the run records (``page.codec``, ``page.replaced_bytes``).
"""

from __future__ import annotations

import codecs
import re
import threading
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "FEW_BAD_BYTES", "GARBLED_RATIO", "HEAD_BYTES", "Decoded", "charset_from_content_type", "declared_charset",
    "declared_charsets", "decode_body", "garbled_reason", "normalize_charset",
    "wide_unicode_codec",
]

#: How much of the document is searched for an in-document encoding declaration.
HEAD_BYTES = 4096
#: Text with more than this share of broken characters is garbled (see ``garbled_reason``).
GARBLED_RATIO = 0.02
#: A UTF-8 document with at most this many bad bytes (or one per 20 valid UTF-8 characters) is read as UTF-8.
FEW_BAD_BYTES = 8

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 LE one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Python codec name (after codecs.lookup) -> the encodings to try instead, in order.
_WIDEN: dict[str, tuple[str, ...]] = {
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "big5": ("big5hkscs",),
    "latin-1": ("cp1252", "latin-1"),
    "iso8859-1": ("cp1252", "latin-1"),
    "ascii": ("cp1252", "latin-1"),
}
# Labels Python does not know (or maps differently) that the web uses for the same encodings.
_ALIASES: dict[str, str] = {
    "x-gbk": "gbk",
    "x-euc-cn": "gb2312",
    "euc-cn": "gb2312",
    "csgb2312": "gb2312",
    "gb_2312-80": "gb2312",
    "chinese": "gb2312",
    "iso-ir-58": "gb2312",
    "x-gb2312": "gb2312",
    "cn-big5": "big5",
    "x-x-big5": "big5",
    "csbig5": "big5",
    "big5-tw": "big5",
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "x-mac-roman": "mac-roman",
    "x-cp1251": "cp1251",
    "x-cp1252": "cp1252",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
}
# Header charsets that are too often a server default to outrank what the document says (see decode_body).
_WEAK_HEADER = frozenset({"iso8859-1", "ascii", "cp1252"})
_UNICODE_WIDE = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be")

_XML_DECL = re.compile(rb"""<\?xml\s[^>]*?\bencoding\s*=\s*["']?\s*([A-Za-z0-9._:()+-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta\s[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:()+-]+)""", re.I)
_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_SCRIPT_OR_STYLE = re.compile(rb"<(script|style)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_CONTENT_TYPE_CHARSET = re.compile(r"""(?:^|;)\s*charset\s*=\s*["']?([^"';\s]+)""", re.I)


def charset_from_content_type(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type (``"text/html; charset=GBK"`` -> ``"GBK"``), or None."""
    if not content_type:
        return None
    match = _CONTENT_TYPE_CHARSET.search(content_type)
    return match.group(1) if match else None


def normalize_charset(name: str | None) -> str | None:
    """The Python codec name of a charset label (``"GB2312"`` -> ``"gb2312"``); None if unknown/not text."""
    if not name:
        return None
    label = name.strip().strip("\"'").strip().lower()
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):   # base64, zlib, rot13...: not charsets
        return None
    return info.name


def _candidates(name: str | None) -> tuple[str, ...]:
    """The codecs to try for a declared or detected label, widened to the supersets browsers use."""
    codec = normalize_charset(name)
    if codec is None:
        return ()
    return _WIDEN.get(codec, (codec,))


def declared_charsets(head: bytes) -> list[str]:
    """Every encoding declared in ``head`` (an XML declaration or a ``<meta>`` tag), in document order.

    Only the first ``HEAD_BYTES`` bytes are searched. Comments and the bodies of ``<script>`` and ``<style>``
    elements are skipped, and only ``<meta>`` tags and the XML declaration count: ``<script
    charset="utf-8">`` says how to read that script, not the page. Labels are returned lower-cased, as
    written (``"gb2312"``), not widened; UTF-16/UTF-32 declarations are dropped (text whose ASCII markup can
    be read this way is not UTF-16).
    """
    head = head[:HEAD_BYTES]
    head = _COMMENT.sub(b" ", head)
    head = _SCRIPT_OR_STYLE.sub(b" ", head)
    found: list[tuple[int, str]] = []
    for pattern in (_XML_DECL, _META_CHARSET):
        for match in pattern.finditer(head):
            found.append((match.start(), match.group(1).decode("ascii").lower()))
    result: list[str] = []
    for _, label in sorted(found):
        if normalize_charset(label) in _UNICODE_WIDE or label in result:
            continue
        result.append(label)
    return result


def declared_charset(head: bytes) -> str | None:
    """The first encoding declared in the document head (see ``declared_charsets``), lower-cased, or None."""
    labels = declared_charsets(head)
    return labels[0] if labels else None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _first_strict(body: bytes, labels: list[str | None]) -> tuple[str | None, str]:
    """The first label (widened) that decodes ``body`` strictly: (text, codec), or (None, "")."""
    for label in labels:
        if normalize_charset(label) in _UNICODE_WIDE:
            continue   # ASCII-compatible bytes cannot be UTF-16/32 (a real one has a BOM, see step 1)
        for codec in _candidates(label):
            text = _strict(body, codec)
            if text is not None:
                return text, codec
    return None, ""


class Decoded(NamedTuple):
    """A document decoded: its text, the Python codec used, and the bytes that codec could not read."""

    text: str
    codec: str
    replaced_bytes: int = 0   # bytes replaced by U+FFFD (0: the document decoded cleanly)


# Counts the bytes a decode replaces, per thread (a codec error handler is global; the scheduler runs threads).
_COUNTER = threading.local()


def _count_and_replace(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    _COUNTER.replaced += error.end - error.start
    return "\ufffd", error.end


codecs.register_error("news_monitor.count_and_replace", _count_and_replace)


def _decode_counting(body: bytes, codec: str) -> Decoded:
    """``body`` decoded with ``codec``, each unreadable byte sequence replaced by U+FFFD and its bytes counted."""
    _COUNTER.replaced = 0
    text = body.decode(codec, errors="news_monitor.count_and_replace")
    return Decoded(text, codec, _COUNTER.replaced)


def _utf8_error_floor(body: bytes) -> tuple[str, int]:
    """``body`` read as UTF-8 with replacement, and a floor of its bad bytes: each U+FFFD the decoder wrote stands
    for at least one (U+FFFD characters the document itself holds are not counted)."""
    text = body.decode("utf-8", errors="replace")
    return text, text.count("\ufffd") - body.count("\ufffd".encode())


def wide_unicode_codec(head: bytes) -> str | None:
    """The UTF-32/UTF-16 codec of a document with no byte-order mark whose first character is ``<``, else None.

    XML 1.0 appendix F: ``00 00 00 3C`` is UTF-32 BE, ``3C 00 00 00`` UTF-32 LE, ``00 3C 00 3F`` UTF-16 BE and
    ``3C 00 3F 00`` UTF-16 LE; any other ``<`` as a 16-bit unit (``3C 00 68 00``: ``<h`` of an HTML page) is
    UTF-16 too. The unusual UTF-32 octet orders (``00 00 3C 00``, ``00 3C 00 00``) have no Python codec: None.
    """
    if head.startswith(b"\x00\x00\x00<"):
        return "utf-32-be"
    if head.startswith(b"<\x00\x00\x00"):
        return "utf-32-le"
    if head.startswith(b"<\x00") and head[2:4] != b"\x00\x00":
        return "utf-16-le"
    if head.startswith(b"\x00<") and head[2:3] == b"\x00" and head[3:4] != b"\x00":
        return "utf-16-be"
    return None


def _few_bad_bytes(bad: int, valid: int) -> bool:
    """Whether ``bad`` unreadable bytes among ``valid`` multi-byte UTF-8 characters are "a few" (see step 2)."""
    return bad <= max(FEW_BAD_BYTES, valid // 20)


def decode_body(body: bytes, header_charset: str | None = None) -> Decoded:
    """Decode an HTML or XML document: its text, the codec used and the bytes it replaced.

    The order (first match wins): BOM (or ``<`` in UTF-32/UTF-16, XML appendix F); UTF-8 when the bytes are not
    pure ASCII and are valid UTF-8 but for a few bytes (beats any declaration, unless another codec reads the
    document with fewer errors); the HTTP header charset; ``<?xml encoding>`` / ``<meta charset>`` / ``<meta
    http-equiv content=charset=>`` in the first 4 KiB (never ``<script charset>``); charset-normalizer
    detection; a Latin-1 family header (weak, see step 3 of the module docstring); GB18030 (or UTF-8) with
    replacement. Declarations and guesses are accepted only if the bytes decode strictly with them, after
    widening GB2312/GBK to GB18030, Big5 to Big5-HKSCS and ISO-8859-1/ASCII to windows-1252. See the module
    docstring for why.
    """
    if not body:
        return Decoded("", normalize_charset(header_charset) or "utf-8")

    # 1. Byte-order marks, and BOM-less UTF-32/UTF-16 markup.
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return _decode_counting(body[len(bom):], codec)
    wide = wide_unicode_codec(body[:4])
    if wide is not None:
        return _decode_counting(body, wide)

    # 2. Valid UTF-8 with real non-ASCII content is UTF-8, whatever the declarations say; so is UTF-8 with a few
    # bad bytes, unless another codec reads it with fewer errors (checked below).
    is_ascii = body.isascii()
    utf8 = None
    valid_utf8 = 0
    if not is_ascii:
        try:
            return Decoded(body.decode("utf-8"), "utf-8")
        except UnicodeDecodeError:
            pass
        # Counting the bad bytes calls Python per error: first a C-speed floor (one U+FFFD per bad sequence), so a
        # GBK or Big5 page, which is nowhere near UTF-8, costs one lenient decode and no callbacks.
        lenient, floor = _utf8_error_floor(body)
        valid_utf8 = len(lenient) - len(lenient.encode("ascii", "ignore")) - lenient.count("\ufffd")
        if _few_bad_bytes(floor, valid_utf8):
            utf8 = _decode_counting(body, "utf-8")
            if not _few_bad_bytes(utf8.replaced_bytes, valid_utf8):
                utf8 = None
            elif valid_utf8 >= utf8.replaced_bytes:
                return utf8   # any other codec misreads each valid UTF-8 character: at least as many errors

    other = _by_declaration_or_detection(body, header_charset, is_ascii)
    # Another codec's errors: the bytes it could not read, and each valid UTF-8 character it reads as mojibake.
    if utf8 is not None and other.replaced_bytes + valid_utf8 >= utf8.replaced_bytes:
        return utf8
    return other


def _by_declaration_or_detection(body: bytes, header_charset: str | None, is_ascii: bool) -> Decoded:
    """Steps 3 to 6 of the module docstring: the header, the declarations, detection, the last resort."""
    # 3. and 4. The HTTP header, then the document's own declarations, each only if it decodes strictly.
    # A header naming a Latin-1 family charset is weak: it is many servers' default and every byte string
    # "decodes" as Latin-1, so it is tried only after the document's own declarations and detection.
    header_codec = normalize_charset(header_charset)
    weak_header = header_codec in _WEAK_HEADER
    labels = [header_charset] if header_charset and not weak_header else []
    labels += declared_charsets(body)
    if weak_header and is_ascii:
        labels.append(header_charset)
    text, codec = _first_strict(body, labels)
    if text is not None:
        return Decoded(text, codec)
    if is_ascii:
        return Decoded(body.decode("ascii"), "ascii")

    # 5. Detection.
    import charset_normalizer  # here: most documents never need it, and `check` or `status` none

    best = charset_normalizer.from_bytes(body).best()
    text, codec = _first_strict(body, [best.encoding] if best is not None else [])
    if text is not None:
        return Decoded(text, codec)
    if weak_header:
        text, codec = _first_strict(body, [header_charset])
        if text is not None:
            return Decoded(text, codec)

    # 6. Last resort: never fails. GB18030 unless UTF-8 loses fewer bytes (counted only when its floor allows it).
    gb = _decode_counting(body, "gb18030")
    if _utf8_error_floor(body)[1] >= gb.replaced_bytes:
        return gb
    utf8 = _decode_counting(body, "utf-8")
    return utf8 if utf8.replaced_bytes < gb.replaced_bytes else gb


# Characters no correctly decoded headline contains: U+FFFD (a byte sequence the codec could not read),
# private-use code points (GB18030 maps byte pairs that are unassigned in GBK there, e.g. Big5 read as GBK) and
# C1 controls (bytes 0x80-0x9F read as Latin-1).
_BROKEN_CHARS = re.compile("[\ufffd\ue000-\uf8ff\u0080-\u009f]")
# UTF-8 read as windows-1252/Latin-1: a lead byte (U+00C2..U+00EF) followed by what continuation bytes
# 0x80-0xBF become in those codecs. French or German text practically never has such pairs; "脱贫" read this
# way is "è„±è´«".
_CP1252_CONTINUATION = "\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152" \
    "\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178"
_UTF8_AS_LATIN1 = re.compile(f"[\u00c2-\u00ef][{_CP1252_CONTINUATION}]{{1,2}}")
# UTF-8 read as GBK (the mix that broke RSSHub's people.com.cn route): "脱贫攻坚" becomes "鑴辫传鏀诲潥", rare
# characters whose GB18030 bytes are valid UTF-8 again. Real Chinese text practically never round-trips so.
_CJK_RUN = re.compile("[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]{3,}")
_CJK_CHAR = re.compile("[\u2e80-\u9fff\uf900-\ufaff]")


def _utf8_read_as_gbk(run: str) -> bool:
    """Whether a run of CJK characters is UTF-8 bytes that were decoded as GBK/GB18030."""
    try:
        raw = run.encode("gb18030")
    except UnicodeEncodeError:
        return False
    for cut in (0, 1, 2):   # the run's last character may have taken the first bytes of one cut short
        try:
            decoded = raw[: len(raw) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return bool(_CJK_CHAR.search(decoded))
    return False


# UTF-8 read as a Cyrillic or Mac codepage (a single-byte codec that decodes every byte string without raising):
# "’" becomes "вЂ™" (windows-1251), "тАЩ" (cp866, cp1125), "Б─≥" (KOI8), "вАЩ" (mac-cyrillic), "‚Äô" (mac-roman,
# mac-iceland), "脱贫" becomes "и„±иґ«". Judged per word (a run of non-ASCII characters): the whole word, but for at
# most two characters at its end (a bad byte next to it), must be the bytes of UTF-8 letters, punctuation or
# CJK. Real Cyrillic, Greek or Latin words practically never are: their letters are lead bytes in a row.
_SINGLE_BYTE_MOJIBAKE_CODECS = ("cp1251", "cp866", "cp1125", "koi8-r", "koi8-u", "mac-cyrillic", "mac-roman",
                                "mac-iceland", "mac-latin2", "mac-turkish", "mac-greek")
_NON_ASCII_WORD = re.compile(r"[^\x00-\x7f\s\ufffd]+")   # U+FFFD: a byte the codepage has no character for
_MIN_CUT_WORD = 4      # a word's last characters are left off only if this many decode


def _cased_like_a_word(word: str) -> bool:
    """Letters only, in one case or capitalised (чем, Москва, ΕΛΛΑΔΑ): mojibake mixes cases (тАЩ) or symbols."""
    return word.isalpha() and (word.islower() or word.isupper() or word[1:].islower() or len(word) == 1)


def _utf8_read_as_single_byte(word: str) -> bool:
    """Whether a word is UTF-8 bytes decoded with one of ``_SINGLE_BYTE_MOJIBAKE_CODECS``."""
    if _cased_like_a_word(word):
        return False   # "чем" is E7 A5 AC in cp866, valid UTF-8 for 祬: a real word all the same
    if _CJK_CHAR.search(word):
        return False   # no single-byte codepage has a CJK character: every encode below would fail, slowly
    for codec in _SINGLE_BYTE_MOJIBAKE_CODECS:
        try:
            raw = word.encode(codec)
        except UnicodeEncodeError:
            continue
        for cut in (0, 1, 2):
            if cut and len(raw) - cut < _MIN_CUT_WORD:
                break
            try:
                decoded = raw[: len(raw) - cut].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if decoded and len(decoded) < len(word) and all(
                    unicodedata.category(char)[0] in "LP" or _CJK_CHAR.match(char) for char in decoded):
                return True
            break
    return False


def garbled_reason(texts: str | Iterable[str | None]) -> str | None:
    """Why decoded text is mojibake rather than text (a short phrase for an error message), or None if it is fine.

    ``texts`` is the text a scraper would store (titles, summaries...). It is garbled when more than
    ``GARBLED_RATIO`` of its non-space characters are broken (U+FFFD, private-use, C1 controls) or belong to
    UTF-8 read as Latin-1, as GBK or as a Cyrillic or Mac codepage; a stray broken character in a long text is
    tolerated.
    """
    text = texts if isinstance(texts, str) else " ".join(t for t in texts if t)
    total = sum(1 for char in text if not char.isspace())
    if not total:
        return None
    # The specific diagnoses first: they say what went wrong, not only that something did.
    pairs = _UTF8_AS_LATIN1.findall(text)
    covered = sum(len(pair) for pair in pairs)
    if len(pairs) >= 2 and covered > GARBLED_RATIO * total:
        return f"{covered} of {total} characters look like UTF-8 read as Latin-1 (such as {pairs[0]!r})"
    words = [word for word in _NON_ASCII_WORD.findall(text) if _utf8_read_as_single_byte(word)]
    covered = sum(len(word) for word in words)
    if len(words) >= 2 and covered > GARBLED_RATIO * total:
        return (f"{covered} of {total} characters look like UTF-8 read as a Cyrillic or Mac codepage "
                f"(such as {words[0][:8]!r})")
    runs = [run for run in _CJK_RUN.findall(text) if _utf8_read_as_gbk(run)]
    covered = sum(len(run) for run in runs)
    if covered > GARBLED_RATIO * total:
        return f"{covered} of {total} characters look like UTF-8 read as GBK (such as {runs[0][:8]!r})"
    broken = _BROKEN_CHARS.findall(text)
    if len(broken) >= 2 and len(broken) > GARBLED_RATIO * total:
        kinds = sorted({"replacement (U+FFFD)" if c == "\ufffd" else "control" if c < "\u00a0" else "private-use"
                        for c in broken})
        return f"{len(broken)} of {total} characters are {' or '.join(kinds)} characters"
    return None
