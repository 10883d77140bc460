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
import zipfile
from dataclasses import dataclass, field
from urllib.parse import unquote

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
        if ct is not None:
            for el in _parse(ct).iter():
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
