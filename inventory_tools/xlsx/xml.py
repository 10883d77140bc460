"""The XML of an .xlsx package: text escaping, the style sheet, comments, fixed parts."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..cellref import col_letter

ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
OOXML_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4})_")


def xml_text(text: str) -> str:
    """Escape text for an XML element, keeping CR and control characters readable back exactly."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "_x" in text:
        # A literal "_x0041_" would be decoded by spreadsheet apps: escape its underscore.
        text = OOXML_ESCAPE.sub(r"_x005F_\1_", text)
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if ILLEGAL_XML.search(text):
        text = ILLEGAL_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return text


def xml_attr(text: str) -> str:
    return xml_text(text).replace('"', "&quot;").replace("\n", "&#10;")


# -- styles --------------------------------------------------------------------------------
NUMBER_FORMATS = {4: 164, 6: 165, 7: 166, 10: 167}


@dataclass(frozen=True)
class CellStyle:
    """Index into cellXfs (see styles_xml)."""

    DEFAULT = 0
    HEADER = 1
    TEXT = 2
    HEADER_READONLY = 3
    WRAP = 4
    TITLE = 5
    HIGHLIGHT_TEXT = 14
    HIGHLIGHT_NUMBER = 15
    HEADING = 16  # bold, wrapped: a section heading in a plain sheet


def number_style_index(decimals: int | None, read_only: bool) -> int:
    base = 6 + 2 * list(NUMBER_FORMATS).index(decimals if decimals in NUMBER_FORMATS else 4)
    return base + (1 if read_only else 0)


_TOP = ' applyAlignment="1"><alignment vertical="top"/></xf>'  # data cells: a tall row reads from its top


def styles_xml() -> str:
    numfmts = "".join(f'<numFmt numFmtId="{fid}" formatCode="0.{"0" * d}"/>' for d, fid in NUMBER_FORMATS.items())
    xfs = [
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',  # 0 default
        '<xf numFmtId="49" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"'
        ' applyNumberFormat="1"><alignment vertical="center"/></xf>',  # 1 header
        '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"' + _TOP,  # 2 text
        '<xf numFmtId="49" fontId="2" fillId="3" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"'
        ' applyNumberFormat="1"/>',  # 3 read-only header
        '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyAlignment="1">'
        '<alignment wrapText="1" vertical="top"/></xf>',  # 4 wrapped text
        '<xf numFmtId="0" fontId="3" fillId="0" borderId="0" xfId="0" applyFont="1"/>',  # 5 title
    ]
    for d, fid in NUMBER_FORMATS.items():
        xfs.append(f'<xf numFmtId="{fid}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"' + _TOP)
        xfs.append(f'<xf numFmtId="{fid}" fontId="2" fillId="3" borderId="0" xfId="0" applyNumberFormat="1"'
                   ' applyFont="1" applyFill="1"' + _TOP)
    xfs.append('<xf numFmtId="49" fontId="0" fillId="4" borderId="0" xfId="0" applyNumberFormat="1"'
               ' applyFill="1"' + _TOP)  # 14 highlighted text
    xfs.append('<xf numFmtId="0" fontId="0" fillId="4" borderId="0" xfId="0" applyFill="1"' + _TOP)  # 15 highlighted number
    xfs.append('<xf numFmtId="49" fontId="4" fillId="0" borderId="0" xfId="0" applyFont="1" applyNumberFormat="1"'
               ' applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>')  # 16 heading
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<numFmts count="{len(NUMBER_FORMATS)}">{numfmts}</numFmts>'
        '<fonts count="5"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/><family val="2"/></font>'
        '<font><i/><sz val="11"/><color rgb="FF595959"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="5"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FF1F4E78"/><bgColor indexed="64"/></patternFill></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFE7E6E6"/><bgColor indexed="64"/></patternFill></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFFFEB9C"/><bgColor indexed="64"/></patternFill></fill>'
        '</fills>'
        '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
        '<border><left/><right/><top/><bottom style="thin"><color rgb="FF808080"/></bottom><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>'
    )


def page_setup_xml(orientation: str, pages_wide: int, *, grid_lines: bool = False) -> str:
    """Printing: orientation, ``pages_wide`` pages across (as many down as it takes), and a
    footer with the file, the sheet and the page number."""
    return (('<printOptions gridLines="1"/>' if grid_lines else "")
            + '<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.6" header="0.3" footer="0.3"/>'
            f'<pageSetup orientation="{orientation}" fitToWidth="{pages_wide}" fitToHeight="0"/>'
            '<headerFooter><oddFooter>&amp;L&amp;F · &amp;A&amp;RPage &amp;P of &amp;N</oddFooter></headerFooter>')


MAX_COMMENTS = 10_000  # notes beyond this slow spreadsheet apps down; fills and lists still mark every cell
SHEET_COMMENT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rIdComments" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'comments" Target="../comments1.xml"/>'
    '<Relationship Id="rIdVml" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'vmlDrawing" Target="../drawings/vmlDrawing1.vml"/></Relationships>')


def comments_xml(comments: list[tuple[int, int, str]]) -> str:
    items = "".join(
        f'<comment ref="{col_letter(c)}{r + 2}" authorId="0"><text><r><t xml:space="preserve">{xml_text(t)}</t>'
        f'</r></text></comment>' for r, c, t in comments)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<authors><author>inventory-tools</author></authors><commentList>{items}</commentList></comments>')


def vml_xml(comments: list[tuple[int, int, str]]) -> str:
    """The legacy drawing spreadsheet apps need to show notes (hidden until hovered)."""
    shapes = "".join(
        f'<v:shape id="_x0000_s{1025 + i}" type="#_x0000_t202" style="position:absolute;margin-left:60pt;'
        'margin-top:2pt;width:160pt;height:60pt;z-index:1;visibility:hidden" fillcolor="#ffffe1" '
        'o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/>'
        '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left"/>'
        '</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
        f'<x:Anchor>{c + 1}, 15, {r + 1}, 2, {c + 3}, 15, {r + 5}, 16</x:Anchor><x:AutoFill>False</x:AutoFill>'
        f'<x:Row>{r + 1}</x:Row><x:Column>{c}</x:Column></x:ClientData></v:shape>'
        for i, (r, c, _t) in enumerate(comments))
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit">'
            '<o:idmap v:ext="edit" data="1"/></o:shapelayout><v:shapetype id="_x0000_t202" coordsize="21600,21600" '
            'o:spt="202" path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
            '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>' + shapes + '</xml>')


ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
              'officeDocument" Target="xl/workbook.xml"/>'
              '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
              'extended-properties" Target="docProps/app.xml"/></Relationships>')
APP_XML = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            '<Application>inventory-tools</Application></Properties>')
