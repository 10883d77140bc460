"""A real spreadsheet application (LibreOffice, headless) opens, renders, edits and re-saves our
workbooks; import then sees exactly the edits a person made, and nothing else."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import EXAMPLES
from tests.helpers import FORMULA_LIKE
from tests.helpers.libreoffice import SOFFICE, convert, require

require()

pytestmark = pytest.mark.libreoffice


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_resaved_by_libreoffice_validates_and_imports_as_no_change(loaded, tmp_path, fmt):
    out = tmp_path / "inv.xlsx"
    loaded("export", out)
    resaved = convert(out, fmt, tmp_path / "lo")
    report = loaded.json("validate", resaved)
    assert report["errors"] == 0, report["problems"][:5]
    plan = loaded.json("import", resaved, "--dry-run")
    assert plan["counts"]["unchanged"] == 100 and plan["changes"] == [] and plan["base_export_id"]


def test_edits_made_in_libreoffice_are_exactly_what_import_sees(ex, tmp_path):
    out = tmp_path / "inv.xlsx"
    ex("export", out)
    fods = convert(out, "fods", tmp_path / "lo")
    xml = fods.read_text(encoding="utf-8")
    # A person changes one price and one name in LibreOffice (its flat-XML document, edited as text).
    xml, n1 = re.subn(r'office:value="4.95"', 'office:value="5.25"', xml, count=1)
    xml = xml.replace("<text:p>4.9500</text:p>", "<text:p>5.2500</text:p>", 1)
    xml, n2 = re.subn(r"<text:p>Brass Hinge 100mm</text:p>", "<text:p>Brass Hinge 100 mm</text:p>", xml, count=1)
    assert n1 == n2 == 1
    edited_dir = tmp_path / "edited"
    edited_dir.mkdir()
    (edited_dir / "inv.fods").write_text(xml, encoding="utf-8")
    resaved = convert(edited_dir / "inv.fods", "xlsx", tmp_path / "lo2")
    report = ex.json("import", resaved, "--yes")
    assert {(c["code"], c["column"], c["old"], c["new"]) for c in report["changes"]} == {
        ("00123", "PriceTier1", "4.95", "5.25"), ("00124", "Name", "Brass Hinge 100mm", "Brass Hinge 100 mm")}


def test_formula_like_values_stay_inert_text_in_libreoffice(run, tmp_path):
    import csv

    from inventory_tools.csvio import read_records

    header, records, _ = read_records((EXAMPLES / "inventory-list.csv").read_text(encoding="utf-8"))
    rows = []
    for i, text in enumerate(FORMULA_LIKE):
        rec = list(records[0])
        rec[0], rec[header.index("Name")] = f"EVIL-{i}", text
        rows.append(rec)
    src = tmp_path / "evil.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\r\n").writerows([header, *rows])
    run("import", src, "--yes")
    out = tmp_path / "evil.xlsx"
    run("export", out)
    fods = convert(out, "fods", tmp_path / "lo")
    xml = fods.read_text(encoding="utf-8")
    assert "table:formula" not in xml
    from defusedxml import ElementTree

    ns = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
    shown = {"".join(p.itertext()) for p in ElementTree.fromstring(xml.encode()).iter(f"{ns}p")}
    assert set(FORMULA_LIKE) <= shown  # each value is shown exactly as typed, as text
    resaved = convert(out, "xlsx", tmp_path / "lo2")
    plan = run.json("import", resaved, "--dry-run")
    assert plan["changes"] == [] and plan["counts"]["unchanged"] == len(FORMULA_LIKE)


# -- focused exports and print layout: one store, every workbook converted in one LibreOffice run --
def convert_many(srcs: list[Path], fmt: str, outdir: Path) -> dict[str, Path]:
    """Several files in one soffice run (each run costs seconds of start-up)."""
    outdir.mkdir(exist_ok=True)
    profile = outdir / ".lo-profile"
    target = {"xlsx": 'xlsx:Calc MS Excel 2007 XML'}.get(fmt, fmt)
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", target,
                    "--outdir", str(outdir), *map(str, srcs)], check=True, capture_output=True, timeout=300)
    out = {src.stem: outdir / f"{src.stem}.{fmt}" for src in srcs}
    missing = [p for p in out.values() if not p.exists()]
    assert not missing, f"LibreOffice did not write {missing}"
    return out


#: Rows added to the example list: text that needs more than one line, with words the layout
#: checks find on the rendered pages.
RICH = [
    ("LONG-NAME-1", {"Name": "Stainless cabinet hinge with soft-close damper, 110 degree opening, "
                             "full overlay, nickel plated finish lastwordofname"}),
    ("MULTI-DESC", {"Description": "Alphaline one of the text\nBravoline two of the text\nCharlieline three"}),
    ("LONG-DESC", {"Description": "A single line description that goes on about the product, its uses, its "
                                  "materials, the finish and the warranty terms that apply wherever it is sold "
                                  "finalwordofdescription"}),
    ("MULTI-ATTR", {"AdditionalAttribute1": "Firstattr line\nSecondattr line\nThirdattr line"}),
    ("AFTER-ALL", {"Name": "The row after the tall ones"}),
]
EXPORTS = {  # file stem -> export arguments
    "full": [],
    "setup": ["--columns", "setup"],
    "pricing": ["--columns", "pricing", "--category", "hardware", "--category", "Apparel"],
    "dimensions": ["--columns", "dimensions", "--status", "Active", "--code", "*-*"],
    "purchasing": ["--columns", "purchasing", "--brand", "Hafele"],
}


@pytest.fixture(scope="module")
def focused(tmp_path_factory):
    """A store (the examples plus RICH rows), its exports, and LibreOffice's PDF and re-saved
    .xlsx of each: ``(Cli, {stem: exported}, {stem: pdf}, {stem: resaved})``."""
    import csv

    from tests.helpers import Cli
    from inventory_tools.csvio import read_records

    base = tmp_path_factory.mktemp("focused")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INVENTORY_TOOLS_CACHE_DIR", str(base / "cache"))
        header, records, _ = read_records((EXAMPLES / "inventory-list.csv").read_text(encoding="utf-8"))
        rows = [list(r) for r in records]
        for code, values in RICH:
            row = list(records[0])
            row[0] = code
            for k, v in values.items():
                row[header.index(k)] = v
            rows.append(row)
        src = base / "rich.csv"
        with src.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\r\n").writerows([header, *rows])
        run = Cli(str(base / "inventory.db"), base)
        run("import", src, "--yes", "--results", str(base / "load.xlsx"))
        exported = {}
        for stem, args in EXPORTS.items():
            exported[stem] = base / f"{stem}.xlsx"
            run("export", exported[stem], *args)
        pdfs = convert_many(list(exported.values()), "pdf", base / "pdf")
        resaved = convert_many(list(exported.values()), "xlsx", base / "lo")
    return run, exported, pdfs, resaved


def test_focused_exports_resaved_by_libreoffice_round_trip_exactly(focused, tmp_path, monkeypatch):
    run, exported, _, resaved = focused
    monkeypatch.setattr(run, "store", str(tmp_path / "copy.db"))  # a copy: this test imports
    shutil.copy(Path(run.cwd) / "inventory.db", tmp_path / "copy.db")
    before = run.json("list")["products"]
    for stem in ("setup", "pricing", "dimensions", "purchasing"):
        report = run.json("validate", resaved[stem])
        assert report["errors"] == 0, (stem, report["problems"][:3])
        result = run.json("import", resaved[stem], "--yes")
        assert result["changes"] == [] and result["counts"]["create"] == 0, stem
        assert result["counts"]["unchanged"] > 0 and result["base_export_id"], stem
    assert run.json("list")["products"] == before
    # what LibreOffice kept: the columns, their text formats and dropdowns
    import openpyxl

    for stem in ("setup", "pricing"):
        ours, theirs = (openpyxl.load_workbook(p)["Inventory List"] for p in (exported[stem], resaved[stem]))
        assert [c.value for c in theirs[1]] == [c.value for c in ours[1]]
        assert theirs["A2"].number_format == "@" and theirs["A2"].data_type == "s"
        kinds = sorted(str(dv.formula1) for dv in theirs.data_validations.dataValidation)
        assert kinds == sorted(str(dv.formula1) for dv in ours.data_validations.dataValidation)


def test_an_edit_made_in_libreoffice_to_a_pricing_file_changes_only_that_cell(focused, tmp_path, monkeypatch):
    run, exported, _, _ = focused
    monkeypatch.setattr(run, "store", str(tmp_path / "copy.db"))
    shutil.copy(Path(run.cwd) / "inventory.db", tmp_path / "copy.db")
    fods = convert(exported["pricing"], "fods", tmp_path / "lo")
    xml = fods.read_text(encoding="utf-8")
    xml, n = re.subn(r'office:value="4.95"', 'office:value="5.1"', xml, count=1)
    xml = xml.replace("<text:p>4.9500</text:p>", "<text:p>5.1000</text:p>", 1)
    assert n == 1
    (tmp_path / "edited").mkdir()
    (tmp_path / "edited" / "pricing.fods").write_text(xml, encoding="utf-8")
    resaved = convert(tmp_path / "edited" / "pricing.fods", "xlsx", tmp_path / "lo2")
    result = run.json("import", resaved, "--yes")
    assert [(c["code"], c["column"], c["old"], c["new"]) for c in result["changes"]] == [
        ("00123", "PriceTier1", "4.95", "5.1")]


def _words(pdf: Path, page: int) -> list[tuple[float, float, float, float, str]]:
    """(xMin, yMin, xMax, yMax, text) of every word LibreOffice drew on a page."""
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    import html

    return [(float(a), float(b), float(c), float(d), html.unescape(t)) for a, b, c, d, t in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out)]


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def test_a_setup_export_prints_legibly_on_one_page_across(focused, tmp_path):
    import openpyxl

    from inventory_tools import column_sets

    _, exported, pdfs, _ = focused
    pdf = pdfs["setup"]
    text = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    lines = text.splitlines()
    headers = list(column_sets.choose("setup").names)
    header_line = next(line for line in lines if "ProductCode" in line)
    assert header_line.split() == headers  # every header, whole, in order, on one line
    ws = openpyxl.load_workbook(exported["setup"])["Inventory List"]
    first = [(r[0].value, r[1].value) for r in ws.iter_rows(min_row=2, max_row=9)]
    for code, name in first:  # the first rows' codes and names, in full, on one line each
        assert any(line.split()[:1] == [code] and name in line for line in lines), (code, name)
    # nothing drawn over anything else (boxes of stacked lines may share their descender's 1.5 pt)
    words = _words(pdf, 1)
    body = [w for w in words if w[1] < 500]
    for i, a in enumerate(body):
        for b in body[i + 1:]:
            assert a[2] <= b[0] + 0.5 or b[2] <= a[0] + 0.5 or a[3] <= b[1] + 1.5 or b[3] <= a[1] + 1.5, (a, b)
    heads = sorted((w for w in words if w[4] in headers and abs(w[1] - words[0][1]) < 1), key=lambda w: w[0])
    assert [w[4] for w in heads] == headers
    # the long name wraps inside its row: its last word is above the next row's code
    last = next(w for w in words if w[4] == "lastwordofname")
    after = next(w for w in words if w[4] == "MULTI-DESC")
    assert last[3] <= after[1] + 0.5
    # the page is a picture a person can look at
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000


def test_every_chosen_set_prints_one_page_across_and_the_full_list_repeats_codes(focused):
    _, _, pdfs, _ = focused
    for stem in ("setup", "pricing", "dimensions", "purchasing"):
        first = _words(pdfs[stem], 1)
        heads = {w[4] for w in first if abs(w[1] - first[0][1]) < 1}
        from inventory_tools import column_sets

        assert set(column_sets.choose(stem).names) <= heads, stem  # all columns on the first page
    pdf = pdfs["full"]
    data_pages = [p for p in range(1, _pages(pdf) + 1) if any(w[4] == "XERO-WRAP" for w in _words(pdf, p))]
    assert 1 < len(data_pages) < 15
    for p in data_pages:  # the header and the codes on every page
        assert {"ProductCode", "00123", "AFTER-ALL"} <= {w[4] for w in _words(pdf, p)}, p


def test_multi_line_cells_stay_inside_their_rows_when_printed(focused):
    _, _, pdfs, _ = focused
    pdf = pdfs["full"]
    checked = 0
    for p in range(1, _pages(pdf) + 1):
        words = _words(pdf, p)
        tops = {w[4]: w[1] for w in words if w[0] < 60}  # the repeated code column: each row's top
        if "ProductCode" not in tops:
            continue
        order = [code for code, _ in sorted(tops.items(), key=lambda kv: kv[1]) if code != "ProductCode"]
        for last_word, code in (("Charlieline", "MULTI-DESC"), ("finalwordofdescription", "LONG-DESC"),
                                ("Thirdattr", "MULTI-ATTR"), ("lastwordofname", "LONG-NAME-1")):
            hits = [w for w in words if w[4] == last_word]
            if hits and code in order:
                below = order[order.index(code) + 1]
                assert hits[0][3] <= tops[below] + 0.5, (p, last_word, below)  # above the next row
                assert hits[0][1] >= tops[code] - 0.5, (p, last_word, code)
                checked += 1
    assert checked == 4


def test_the_instructions_sheet_reads_whole_lines(focused):
    _, _, pdfs, _ = focused
    pdf = pdfs["setup"]
    last = _pages(pdf)
    text = " ".join(w[4] for p in range(1, last + 1) for w in _words(pdf, p))
    from inventory_tools.resources import resource_path

    source = resource_path("templates", "instructions.txt").read_text(encoding="utf-8")
    for line in source.splitlines():
        line = line.lstrip("# ").strip()
        if line:
            assert " ".join(line.split()) in text, line  # every sentence printed, none cut at the edge
    assert "Only the columns of the setup set" in text
