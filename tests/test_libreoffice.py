"""A real spreadsheet application (LibreOffice, headless) opens, renders, edits and re-saves our
workbooks; import then sees exactly the edits a person made, and nothing else."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import EXAMPLES
from test_exporting import FORMULA_LIKE

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
if not SOFFICE:
    if os.environ.get("CI"):
        raise RuntimeError("LibreOffice is required in CI (.ci/run installs libreoffice-calc-nogui)")
    pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui",
                allow_module_level=True)

pytestmark = pytest.mark.libreoffice


def convert(src: Path, fmt: str, outdir: Path) -> Path:
    """soffice --headless --convert-to FMT, with a private profile so runs never collide."""
    outdir.mkdir(exist_ok=True)
    profile = outdir / ".lo-profile"
    target = {"xlsx": 'xlsx:Calc MS Excel 2007 XML'}.get(fmt, fmt)
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", target,
                    "--outdir", str(outdir), str(src)], check=True, capture_output=True, timeout=180)
    out = outdir / f"{src.stem}.{fmt}"
    assert out.exists(), f"LibreOffice did not write {out}"
    return out


@pytest.fixture
def ex(run):
    run("import", EXAMPLES / "inventory-list.csv", "--yes", "--results", str(run.cwd / "load.xlsx"))
    return run


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_resaved_by_libreoffice_validates_and_imports_as_no_change(loaded, tmp_path, fmt):
    out = tmp_path / "inv.xlsx"
    loaded("export", out)
    resaved = convert(out, fmt, tmp_path / "lo")
    report = loaded.json("validate", resaved)
    assert report["errors"] == 0, report["problems"][:5]
    plan = loaded.json("import", resaved, "--dry-run")
    assert plan["counts"]["unchanged"] == 100 and plan["changes"] == [] and plan["base_export_id"]


def test_workbook_renders_to_pdf_and_png(ex, tmp_path):
    out = tmp_path / "inv.xlsx"
    ex("export", out)
    pdf = convert(out, "pdf", tmp_path / "lo")
    assert pdf.stat().st_size > 5_000
    text = subprocess.run(["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "ProductCode" in text and "Brass Hinge 75mm" in text
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2_000


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
