"""The shared-string table of an .xlsx: marked so that a text cell says it is text in any reader's
view, and read entry by entry for the header rows.

A reader that converts a column to one type (fastexcel: a column as text, or as numbers) loses
whether a cell was typed as text: ``00123``, a number ``123`` and the text ``123`` look alike.
Each shared string gets :data:`MARK` (a private-use character) in front, as a text run of its
own, so python-calamine and fastexcel (calamine) read it as ``MARK + text`` exactly (a run's own
spaces are trimmed or kept as before). In a text column a cell with the mark is a text cell; a
number, a boolean or a date has none. In a number column a marked cell cannot pass for a
number. Strings that are not shared (inline strings, formula results) carry no mark; the sheet
scan counts them (:mod:`.scan`).

Self-closing ``<si/>`` items are left alone: calamine skips them (the indexes of the others
shift), and the copy must read exactly as the file does.
"""
from __future__ import annotations

import re
import zipfile

from .inflate import open_member

MARK = "\ue000"
_MARK_XML = MARK.encode("utf-8")
_SI_MARKED = b"<si><t>" + _MARK_XML + b"</t>"
#: an item's start tag, any namespace prefix, not self-closing
_SI_START = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)si(?:\s[^>]*?)?(?<!/)>")


def mark_strings(data: bytes) -> tuple[bytes, int] | None:
    """The shared-strings part with every item marked, and how many items were marked (None:
    a part this cannot mark safely, with CDATA sections)."""
    if b"<![CDATA[" in data:
        return None
    if _plain_items(data):
        # the usual form: a plain bytes replace, the items counted by how much it added
        marked = data.replace(b"<si>", _SI_MARKED)
        return marked, (len(marked) - len(data)) // (len(_SI_MARKED) - len(b"<si>"))
    count = 0

    def mark(m: re.Match) -> bytes:
        nonlocal count
        count += 1
        pfx = m.group(1)
        return m.group(0) + b"<" + pfx + b"t>" + _MARK_XML + b"</" + pfx + b"t>"
    return _SI_START.sub(mark, data), count


def marked_stream(zf: zipfile.ZipFile, member: str):
    """A producer for :func:`~.zipcopy.package_copy`: the shared-strings part streamed with every
    item marked, never held whole."""
    def produce(write) -> None:
        carry = b""
        with open_member(zf, member) as f:
            while True:
                chunk = f.read(4 << 20)
                buf = carry + chunk
                cut = max(buf.rfind(b"<"), 0) if chunk else len(buf)  # never split a tag
                done = mark_strings(buf[:cut])
                if done is None:
                    raise CannotMarkStrings("shared strings with CDATA sections")
                write(done[0])
                carry = buf[cut:]
                if not chunk:
                    break
    return produce


class CannotMarkStrings(Exception):
    """A shared-strings part the mark cannot be given to safely."""


def strings_at(zf: zipfile.ZipFile, member: str | None, indexes: set[int]) -> dict[int, str]:
    """The shared strings at ``indexes`` (as calamine reads them), streaming the part only as far
    as the highest index; stretches without a wanted item are skipped by counting their items."""
    out: dict[int, str] = {}
    if member is None or not indexes:
        return out
    wanted = sorted(indexes)
    n = 0
    carry = b""
    with open_member(zf, member) as f:
        while wanted:
            chunk = f.read(4 << 20)
            buf = carry + chunk
            cut = max(buf.rfind(b"<si"), 0) if chunk else len(buf)  # items before it are whole
            whole = buf[:cut]
            items = _count_items(whole)
            if items is not None:  # the usual form: items found by counting their start tags
                at, first = 0, n  # no item starts between offset `at` and item number `first`
                while wanted and wanted[0] < n + items:
                    at = _nth_item(whole, at, wanted[0] - first)
                    end = buf.find(b"</si>", at)
                    out[wanted[0]] = item_text(buf[at + 4:end if end >= 0 else len(buf)])
                    first = wanted.pop(0) + 1
                    at += 4
                n += items
                carry = buf[cut:]
                if not chunk:
                    break
                continue
            pos = 0
            for m in _SI_START.finditer(buf):
                end = buf.find(b"</" + m.group(1) + b"si>", m.end())
                if end < 0:
                    if chunk:
                        pos = m.start()
                        break
                    end = len(buf)
                if wanted and n == wanted[0]:
                    out[n] = item_text(buf[m.end():end])
                    wanted.pop(0)
                n += 1
                pos = end
                if not wanted:
                    return out
            else:
                pos = max(pos, len(buf) - 64) if chunk else len(buf)
            carry = buf[pos:]
            if not chunk:
                break
    return out


def _nth_item(data: bytes, pos: int, k: int) -> int:
    """Where the ``k``-th (from 0) ``<si>`` at or after ``pos`` starts (there is one): counted
    64 KB at a time, then found."""
    while True:
        block = pos + (1 << 16)
        starting = data.count(b"<si>", pos, block + 3)  # the tags that start before `block`
        if starting > k:
            break
        k -= starting
        pos = block
    for _ in range(k):
        pos = data.index(b"<si>", pos) + 4
    return data.index(b"<si>", pos)


def _plain_items(data: bytes) -> bool:
    """Whether every item in ``data`` starts with a bare ``<si>`` (the usual form: Excel,
    LibreOffice, openpyxl, xlsxwriter, ours), so plain byte searches find them all; else only
    :data:`_SI_START` does (attributes, a namespace prefix)."""
    return b"<si " not in data and b":si" not in data


def _count_items(data: bytes) -> int | None:
    """How many items start in ``data`` (None: a form only the pattern counts)."""
    return data.count(b"<si>") if _plain_items(data) else None


_RPH = re.compile(rb"<(?:\w+:)?rPh[\s>].*?</(?:\w+:)?rPh>", re.S)
_T = re.compile(rb"<(?:\w+:)?t(\s[^>]*)?(?:/>|>(.*?)</(?:\w+:)?t>)", re.S)
_X_ESCAPE = re.compile(r"_x00([0-9A-Fa-f]{2})_")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
#: the five predefined entities and character references (XML knows no others)
_REFERENCE = re.compile(r"&(lt|gt|amp|quot|apos|#x[0-9A-Fa-f]+|#[0-9]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def item_text(body: bytes) -> str:
    """The text of one ``<si>`` (or ``<is>``) item: its ``<t>`` runs joined, phonetic runs left
    out, each run trimmed of ASCII spaces unless ``xml:space="preserve"``, entities and the
    ``_x00HH_`` escapes decoded (as calamine does)."""
    out = []
    for attrs, raw in _T.findall(_RPH.sub(b"", body)):
        text = xml_text(raw or b"")
        if b'xml:space="preserve"' not in (attrs or b"") and b"xml:space='preserve'" not in (attrs or b""):
            text = text.strip(" \t\r\n")
        out.append(_X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
    return "".join(out)


def xml_text(raw: bytes) -> str:
    """Element text as XML means it: entities and character references decoded, CDATA kept,
    line ends normalised."""
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    parts = []
    last = 0
    for m in _CDATA.finditer(text):
        parts.append(entities(text[last:m.start()]))
        parts.append(m.group(1))
        last = m.end()
    parts.append(entities(text[last:]))
    return "".join(parts)


def entities(text: str) -> str:
    """``text`` with its entity and character references decoded, in one pass as an XML parser
    does (``&amp;lt;`` is ``&lt;``); a reference to no character is left as written."""
    if "&" not in text:
        return text
    return _REFERENCE.sub(_reference, text)


def _reference(m: re.Match) -> str:
    ref = m.group(1)
    if ref[0] != "#":
        return _NAMED[ref]
    code = int(ref[2:], 16) if ref[1] == "x" else int(ref[1:])
    return chr(code) if 0 < code <= 0x10FFFF else m.group(0)
