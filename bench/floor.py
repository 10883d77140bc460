"""Export floors: the store's products as a plain .xlsx (one sheet, typed cells: decimals as numbers,
everything else as text), written by the fastest means available. Run by bench/run.py, one per
process:

    python bench/floor.py xml  STORE.db OUT.xlsx   # sheet XML built by polars, deflate level 1
    python bench/floor.py rust STORE.db OUT.xlsx   # rust_xlsxwriter through rustpy-xlsxwriter

Both read the store through ADBC (Arrow, no Python row objects). The ``xml`` floor builds every
cell's XML with polars string expressions (no per-cell Python) and hands Arrow's contiguous string
buffer to zlib on a second thread, so compressing chunk N overlaps building chunk N+1. They write
no styles, dropdowns, manifest, instructions or snapshot: a floor, not a product.
"""
from __future__ import annotations

import csv
import queue
import sys
import threading
import zipfile
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
CHUNK_ROWS = 20_000  # rows rendered at a time: bounds memory and feeds the compressing thread early
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook {_NS} '
    f'xmlns:r="{_REL}"><sheets><sheet name="Inventory List" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}


def column_table() -> list[dict]:
    with (ROOT / "schemas" / "columns.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_store(store: str, names: list[str]) -> pl.DataFrame:
    """The products through ADBC; coalesce() because the driver types an all-NULL first batch as
    INT64 and then fails on the first text value. Blank ("") cells are written as no cell."""
    import adbc_driver_sqlite.dbapi as adbc

    sel = ", ".join(f'coalesce("{n}", \'\') AS "{n}"' for n in names)
    with adbc.connect(store) as con, con.cursor() as cur:
        cur.execute(f"SELECT {sel} FROM products ORDER BY rowid")
        return pl.from_arrow(cur.fetch_arrow_table())


def col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _escaped(v: pl.Expr) -> pl.Expr:
    """XML text: &, <, > escaped; CR kept as a character reference (a parser would turn a raw CR
    into LF); characters XML cannot hold dropped."""
    return (v.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True).str.replace_all("\r", "&#13;", literal=True)
            .str.replace_all(r"[\x00-\x08\x0B\x0C\x0E-\x1F]", ""))


def row_xml(table: list[dict], first_row: int) -> pl.Expr:
    """One ``<row>`` element per product: an expression over the whole frame (polars runs it in
    Rust, column by column, on its own threads)."""
    r = (pl.int_range(pl.len()) + first_row).cast(pl.String)
    cells = []
    for i, c in enumerate(table):
        v, ref = pl.col(c["name"]), pl.concat_str([pl.lit(f'<c r="{col_letter(i)}'), r])
        if c["type"] == "decimal":  # the store's canonical decimal text is a valid XML number
            cell = pl.concat_str([ref, pl.lit('"><v>'), v, pl.lit("</v></c>")])
        else:
            cell = pl.concat_str([ref, pl.lit('" t="inlineStr"><is><t xml:space="preserve">'), _escaped(v),
                                  pl.lit("</t></is></c>")])
        cells.append(pl.when(v != "").then(cell))
    return pl.concat_str([pl.lit('<row r="'), r, pl.lit('">'), *cells, pl.lit("</row>")], ignore_nulls=True)


def _buffer(s: pl.Series) -> memoryview:
    """The concatenated bytes of a string Series, straight from its Arrow data buffer (no copy)."""
    arr = s.to_arrow(compat_level=pl.CompatLevel.oldest())  # large_string: offsets + one data buffer
    arr = arr.combine_chunks() if hasattr(arr, "combine_chunks") else arr
    _, offsets, data = arr.buffers()
    import numpy as np

    off = np.frombuffer(offsets, dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    return memoryview(data)[off[0]:off[-1]]


class _Writer(threading.Thread):
    """Compresses and writes on its own thread: zlib and file writes release the GIL."""

    def __init__(self, fh):
        super().__init__(daemon=True)
        self.fh, self.q, self.error = fh, queue.Queue(maxsize=3), None

    def run(self):
        while (item := self.q.get()) is not None:
            try:
                self.fh.write(item)
            except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
                self.error = exc


def _batches(store: str, names: list[str], rows: int):
    """The products in Arrow batches of ``rows``, read on a thread of their own (the driver releases
    the GIL) so reading the next batch overlaps rendering this one."""
    import adbc_driver_sqlite.dbapi as adbc

    q: queue.Queue = queue.Queue(maxsize=2)

    def read():
        try:
            sel = ", ".join(f'coalesce("{n}", \'\') AS "{n}"' for n in names)
            with adbc.connect(store) as con, con.cursor() as cur:
                cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(rows)})
                cur.execute(f"SELECT {sel} FROM products ORDER BY rowid")
                for batch in cur.fetch_record_batch():
                    q.put(batch)
            q.put(None)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
            q.put(exc)

    threading.Thread(target=read, daemon=True).start()
    while (item := q.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield pl.from_arrow(item)


def write_xml(store: str, out: str) -> None:
    table = column_table()
    names = [c["name"] for c in table]
    header = "".join(f'<c r="{col_letter(i)}1" t="inlineStr"><is><t>{n}</t></is></c>' for i, n in enumerate(names))
    head = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet {_NS}>'
            f'<sheetData><row r="1">{header}</row>')
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True) as z:
        for name, xml in _PARTS.items():
            z.writestr(name, xml)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            w = _Writer(fh)
            w.start()
            w.q.put(head.encode())
            first = 2
            for batch in _batches(store, names, CHUNK_ROWS):
                w.q.put(_buffer(batch.select(row_xml(table, first)).to_series()))
                first += batch.height
            w.q.put(b"</sheetData></worksheet>")
            w.q.put(None)
            w.join()
            if w.error:
                raise w.error


def write_rust(store: str, out: str) -> None:
    """rust_xlsxwriter (via rustpy-xlsxwriter) from a polars frame: decimals as Float64, text as
    String, blanks as null (no cell)."""
    from rustpy_xlsxwriter import FastExcel

    table = column_table()
    df = read_store(store, [c["name"] for c in table])
    df = df.with_columns([pl.col(c["name"]).replace("", None).cast(pl.Float64) if c["type"] == "decimal"
                          else pl.col(c["name"]).replace("", None) for c in table])
    FastExcel(out).sheet("Inventory List", df).save()


if __name__ == "__main__":
    kind, store_path, out_path = sys.argv[1:]
    {"xml": write_xml, "rust": write_rust}[kind](store_path, out_path)
