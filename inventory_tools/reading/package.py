"""An Office Open XML package (.xlsx, .xlsm, Strict OOXML) read the way the standard says: the
workbook part is found through ``_rels/.rels`` and ``[Content_Types].xml``, sheets through the
workbook's relationships, never by fixed names such as ``xl/workbook.xml``.

Real files differ from what Excel writes: parts at the package root (``workbook.xml``), names
with backslashes (``xl\\workbook.xml``) or another case, absolute or relative targets, Strict
OOXML's namespaces (``http://purl.oclc.org/ooxml/...``), namespace prefixes (``<x:sheet>``).
Elements are matched by local name, relationship types by their last segment.

Only small parts are parsed here (content types, relationships, workbook), with defusedxml.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from urllib.parse import unquote

from .zipcopy import package_copy

#: the main part's content type → what the package is
MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": "xlsx",  # .xlsm
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xlsx",  # .xltx
    "application/vnd.ms-excel.template.macroenabled.main+xml": "xlsx",  # .xltm
    "application/vnd.ms-excel.sheet.binary.macroenabled.main": "xlsb",
    "application/vnd.ms-excel.addin.macroenabled.main+xml": "xlam",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.ms-word.document.macroenabled.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml": "pptx",
}
#: sheet relationship types python-calamine reads (anything else it refuses: macro sheets)
READABLE_SHEET_TYPES = frozenset({"worksheet", "chartsheet", "dialogsheet"})
SHEET_STATES = frozenset({"visible", "hidden", "veryHidden"})


def norm(name: str) -> str:
    """A part name as compared: forward slashes, no leading slash, case-folded (OPC names are
    case-insensitive), percent-escapes decoded."""
    return unquote(name.replace("\\", "/")).lstrip("/").casefold()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse(data: bytes):
    from defusedxml import ElementTree as ET

    return ET.fromstring(data)


@dataclass
class SheetEntry:
    name: str
    state: str
    kind: str  # the relationship type's last segment: worksheet, chartsheet, xlMacrosheet...
    part: str | None  # the zip member name, None when the package lacks it


@dataclass
class Package:
    zf: zipfile.ZipFile
    members: dict[str, str] = field(default_factory=dict)  # norm(name) → zip member name
    overrides: dict[str, str] = field(default_factory=dict)  # norm(part) → content type
    defaults: dict[str, str] = field(default_factory=dict)  # extension → content type

    @classmethod
    def of(cls, zf: zipfile.ZipFile) -> "Package":
        pkg = cls(zf, {norm(n): n for n in zf.namelist() if not n.endswith("/")})
        ct = pkg.read("[Content_Types].xml")
        try:  # content types only help name the package: unreadable ones count as absent
            types = _parse(ct) if ct is not None else None
        except Exception:  # noqa: BLE001 - refused (entities) or not XML
            types = None
        if types is not None:
            for el in types.iter():
                kind = _local(el.tag)
                if kind == "Override" and el.get("PartName"):
                    pkg.overrides[norm(el.get("PartName"))] = (el.get("ContentType") or "").casefold()
                elif kind == "Default" and el.get("Extension"):
                    pkg.defaults[el.get("Extension").casefold()] = (el.get("ContentType") or "").casefold()
        return pkg

    def has(self, part: str) -> bool:
        return norm(part) in self.members

    def member(self, part: str) -> str | None:
        return self.members.get(norm(part))

    def read(self, part: str) -> bytes | None:
        name = self.member(part)
        return None if name is None else self.zf.read(name)

    def content_type(self, part: str) -> str:
        key = norm(part)
        if key in self.overrides:
            return self.overrides[key]
        return self.defaults.get(key.rsplit(".", 1)[-1], "") if "." in key else ""

    def rels(self, source: str = "") -> list[tuple[str, str, str]]:
        """(id, type's last segment, target part normalised) of ``source``'s relationships
        (``""``: the package's own, ``_rels/.rels``). External targets are left out."""
        base = posixpath.dirname(norm(source)) if source else ""
        rels_name = posixpath.join(base, "_rels", posixpath.basename(norm(source)) + ".rels") if source \
            else "_rels/.rels"
        data = self.read(rels_name)
        if data is None:
            return []
        out = []
        for el in _parse(data).iter():
            if _local(el.tag) != "Relationship" or (el.get("TargetMode") or "").casefold() == "external":
                continue
            target = el.get("Target") or ""
            if target.startswith("/") or target.startswith("\\"):
                part = norm(target)
            else:
                part = posixpath.normpath(posixpath.join(base, norm(target)))
            out.append((el.get("Id") or "", (el.get("Type") or "").rstrip("/").rsplit("/", 1)[-1], part))
        return out

    def main_part(self) -> str | None:
        """The officeDocument part (normalised): through ``_rels/.rels``, else the content types,
        else Excel's usual name."""
        for _, kind, part in self.rels():
            if kind == "officeDocument" and part in self.members:
                return part
        for part, ctype in self.overrides.items():
            if ctype in MAIN_TYPES and part in self.members:
                return part
        return "xl/workbook.xml" if "xl/workbook.xml" in self.members else None

    def kind(self) -> str | None:
        """xlsx (also .xlsm, .xltx, Strict), xlsb, xlam, docx, pptx, or None (not OOXML)."""
        main = self.main_part()
        if main is None:
            return None
        kind = MAIN_TYPES.get(self.content_type(main))
        if kind is None and main.endswith("workbook.xml"):
            return "xlsx"
        return kind

    def sheets(self) -> list[SheetEntry]:
        """The workbook's sheets, in order, with what each really is."""
        main = self.main_part()
        data = self.read(main) if main else None
        if data is None:
            return []
        rels = {rid: (kind, part) for rid, kind, part in self.rels(main)}
        out = []
        for el in _parse(data).iter():
            if _local(el.tag) != "sheet":
                continue
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), "")
            kind, part = rels.get(rid, ("", ""))
            out.append(SheetEntry(el.get("name") or "", el.get("state") or "visible", kind,
                                  self.members.get(part)))
        return out

    def sheet_part(self, sheet: str) -> str | None:
        """The zip member holding ``sheet``'s XML (None: no such sheet or part)."""
        return next((s.part for s in self.sheets() if s.name == sheet), None)


# -- a copy python-calamine accepts ---------------------------------------------------------------
@dataclass
class CalamineChanges:
    """What a genuine package needs changed for calamine to read it: members given new contents,
    members given the names calamine looks for. ``strings``: the member calamine reads as the
    shared-string table (its name in the package), None when there is none."""

    replace: dict[str, bytes] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)
    strings: str | None = None
    styles: str | None = None  # the member calamine reads as the styles part

    def __bool__(self) -> bool:
        return bool(self.replace or self.rename)


def calamine_changes(zf: zipfile.ZipFile) -> CalamineChanges | None:
    """For a genuine workbook calamine would refuse: sheets it cannot read (Excel 4.0 macro sheets)
    left out of the workbook part, non-standard sheet states dropped, a workbook, shared-strings
    or styles part under another name renamed to the one calamine looks for. None: the package
    cannot be understood (the reader's own error says why)."""
    try:
        pkg = Package.of(zf)
        sheets = pkg.sheets()
        main = pkg.main_part()
    except Exception:  # noqa: BLE001 - damaged package XML: the reader's own error says so
        return None
    if main is None:
        return None
    drop = {s.name for s in sheets if s.kind not in READABLE_SHEET_TYPES}
    odd_state = any(s.state not in SHEET_STATES for s in sheets)
    renamed = posixpath.basename(main) != "workbook.xml"
    member = pkg.member(main)
    folder = posixpath.dirname(member.replace("\\", "/"))
    changes = CalamineChanges(rename=_standard_names(pkg, main, folder, renamed))
    if drop or odd_state:
        changes.replace[member] = _sheets_cleaned(zf.read(member).decode("utf-8", "replace"), drop).encode("utf-8")
    if renamed:
        rels = pkg.member("_rels/.rels")
        if rels is not None:
            changes.replace[rels] = _office_document_renamed(zf.read(rels).decode("utf-8", "replace")).encode("utf-8")
    final = {norm(changes.rename.get(m, m)): m for m in zf.namelist()}
    changes.strings = final.get(norm(posixpath.join(folder, "sharedStrings.xml")))
    changes.styles = final.get(norm(posixpath.join(folder, "styles.xml")))
    return changes


def calamine_ready_copy(path) -> str | None:
    """A temporary copy of the package that python-calamine reads (:func:`calamine_changes`), for
    a genuine workbook it would refuse; None: read the file itself. The caller removes the copy."""
    with zipfile.ZipFile(path) as zf:
        changes = calamine_changes(zf)
    if not changes:
        return None
    return package_copy(path, replace=changes.replace, rename=changes.rename)


#: workbook parts python-calamine looks for by name, beside the workbook part
_FIXED_NAMES = {"sharedStrings": "sharedStrings.xml", "styles": "styles.xml"}


def _standard_names(pkg: Package, main: str, folder: str, renamed: bool) -> dict[str, str]:
    """zip member → the name python-calamine expects, for the parts named otherwise: the
    workbook part and its relationships, the shared strings and the styles."""
    out = {}
    if renamed:
        out[pkg.member(main)] = posixpath.join(folder, "workbook.xml")
        rels = pkg.member(posixpath.join(posixpath.dirname(main), "_rels", posixpath.basename(main) + ".rels"))
        if rels:
            out[rels] = posixpath.join(folder, "_rels", "workbook.xml.rels")
    for _, kind, part in pkg.rels(main):
        expected = _FIXED_NAMES.get(kind)
        if expected and part in pkg.members and posixpath.join(posixpath.dirname(main), expected.casefold()) != part:
            if pkg.has(posixpath.join(posixpath.dirname(main), expected)):
                continue  # the expected name is taken by another part: leave the package as it is
            out[pkg.members[part]] = posixpath.join(folder, expected)
    return out


_SHEET_EL = re.compile(r"<(?:\w+:)?sheet[\s/][^>]*>(?:\s*</(?:\w+:)?sheet>)?")
_NAME_ATTR = re.compile(r"""\sname=(["'])(.*?)\1""")
_STATE_ATTR = re.compile(r"""\sstate=(["'])(.*?)\1""")
_REL_EL = re.compile(r"<(?:\w+:)?Relationship\s[^>]*>")
_TARGET_ATTR = re.compile(r"""(\sTarget=["'])([^"']*)(["'])""")


def _sheets_cleaned(workbook_xml: str, drop: set[str]) -> str:
    """The workbook XML without the ``drop`` sheets, and with standard sheet states."""
    from .sst import entities

    def fix(m: re.Match) -> str:
        tag = m.group(0)
        name = _NAME_ATTR.search(tag)
        if name and entities(name.group(2)) in drop:
            return ""
        state = _STATE_ATTR.search(tag)
        if state and state.group(2) not in SHEET_STATES:
            hidden = state.group(2).casefold() in ("hide", "hidden", "false", "0")
            tag = tag.replace(state.group(0), ' state="hidden"' if hidden else "")
        return tag
    return _SHEET_EL.sub(fix, workbook_xml)


def _office_document_renamed(rels_xml: str) -> str:
    """The package relationships with the officeDocument target renamed to ``workbook.xml``."""
    def fix(m: re.Match) -> str:
        tag = m.group(0)
        if "officeDocument" not in tag:
            return tag
        return _TARGET_ATTR.sub(lambda t: t.group(1) + posixpath.join(posixpath.dirname(
            t.group(2).replace("\\", "/")), "workbook.xml") + t.group(3), tag)
    return _REL_EL.sub(fix, rels_xml)
