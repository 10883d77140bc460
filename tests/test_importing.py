"""import, history and undo through the real CLI on real files and a real SQLite store."""
import sqlite3

import openpyxl
import pytest

from tests.helpers import EXAMPLES, SAMPLE_CSV, edit, export_xlsx, product, snapshot


def test_real_export_round_trip_plans_zero_changes(loaded):
    out, _ = export_xlsx(loaded)
    report = loaded.json("import", out, "--dry-run")
    assert report["counts"] == {"create": 0, "update": 0, "unchanged": 100, "conflict": 0, "invalid": 0,
                                "skipped": 0, "failed": 0}
    again = loaded.json("import", SAMPLE_CSV, "--dry-run")
    assert again["counts"]["unchanged"] == 100 and again["changes"] == []


def test_edits_are_applied_exactly_and_twice_is_a_no_op(ex):
    out, _ = export_xlsx(ex)
    edit(out, {("XERO-WRAP", "Category"): "Gifts", ("XERO-WRAP", "Type"): "Service",
               ("XERO-WRAP", "CostingMethod"): "FIFO", ("XERO-WRAP", "DefaultUnitOfMeasure"): "Item",
               ("XERO-WRAP", "Status"): "Active", ("00123", "PriceTier1"): 5.25})
    report = ex.json("import", out, "--yes")
    assert report["applied"] and report["counts"]["update"] == 2
    changed = {(c["code"], c["column"]): (c["old"], c["new"]) for c in report["changes"]}
    assert changed == {("XERO-WRAP", "Category"): ("", "Gifts"), ("XERO-WRAP", "Type"): ("", "Service"),
                       ("XERO-WRAP", "CostingMethod"): ("", "FIFO"),
                       ("XERO-WRAP", "DefaultUnitOfMeasure"): ("", "Item"),
                       ("XERO-WRAP", "Status"): ("Setup Required", "Active"),
                       ("00123", "PriceTier1"): ("4.95", "5.25")}
    assert product(ex, "XERO-WRAP")["Status"] == "Active"
    assert product(ex, "00123")["PriceTier1"] == "5.25"
    second = ex.json("import", out, "--yes")
    assert second["counts"]["update"] == 0 and second["changes"] == []


def test_a_big_file_reads_its_base_after_the_parse_and_plans_the_same(ex, monkeypatch):
    from inventory_tools import reading

    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 5.25, ("00123", "Name"): "Renamed"})
    overlapped = ex.json("import", out, "--dry-run")
    monkeypatch.setattr(reading, "OVERLAP_MAX_ROWS", 0)  # every file counts as big
    assert ex.json("validate", out)["valid"]
    after = ex.json("import", out, "--dry-run")
    assert after["changes"] == overlapped["changes"] and len(after["changes"]) == 2
    assert after["counts"] == overlapped["counts"]


def test_plan_text_shows_transitions_and_first_changes(ex):
    out, _ = export_xlsx(ex)
    edit(out, {("XERO-WRAP", "Category"): "Gifts", ("XERO-WRAP", "Type"): "Service",
               ("XERO-WRAP", "CostingMethod"): "FIFO", ("XERO-WRAP", "DefaultUnitOfMeasure"): "Item",
               ("XERO-WRAP", "Status"): "Active"})
    result = ex("import", out, "--dry-run")
    assert "1 product Setup Required → Active" in result.stderr
    assert "XERO-WRAP · Category: (blank) → Gifts" in result.stderr
    assert "Dry run: nothing was changed." in result.stderr
    assert product(ex, "XERO-WRAP")["Status"] == "Setup Required"


def _concurrent_edit(run, code, column, value):
    """Someone else changes the store after our export (through their own export/import)."""
    other, _ = export_xlsx(run, "other.xlsx")
    edit(other, {(code, column): value})
    run("import", other, "--yes")


def test_conflicts_abort_skip_overwrite(ex):
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 5.25, ("00123", "Brand"): "Hafele GmbH", ("00124", "PriceTier1"): 7})
    _concurrent_edit(ex, "00123", "PriceTier1", 5.5)
    before = snapshot(ex)

    aborted = ex.json("import", out, "--yes", expect=1)
    assert not aborted["applied"]
    assert aborted["conflicts"] == [{"code": "00123", "column": "PriceTier1", "base": "4.95", "file": "5.25",
                                     "current": "5.5"}]
    assert snapshot(ex) == before

    skipped = ex.json("import", out, "--yes", "--on-conflict", "skip", expect=1)
    assert skipped["applied"]
    assert product(ex, "00123")["PriceTier1"] == "5.5"  # kept the store's value
    assert product(ex, "00123")["Brand"] == "Hafele GmbH"
    assert product(ex, "00124")["PriceTier1"] == "7"

    ex.json("import", out, "--yes", "--on-conflict", "overwrite")
    assert product(ex, "00123")["PriceTier1"] == "5.25"


def test_store_change_with_untouched_file_cell_is_not_reverted(ex):
    out, _ = export_xlsx(ex)
    edit(out, {("00124", "Brand"): "Other brand"})
    _concurrent_edit(ex, "00123", "PriceTier1", 5.5)
    report = ex.json("import", out, "--yes")
    assert report["conflicts"] == []
    assert product(ex, "00123")["PriceTier1"] == "5.5"


def test_blank_clears_only_with_a_base(ex, tmp_path):
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "Brand"): None})
    ex.json("import", out, "--yes")
    assert product(ex, "00123")["Brand"] is None

    # Cin7's own CSV (no manifest): a blank cell leaves the value alone...
    csv_out = tmp_path / "cin7.csv"
    ex("export", csv_out)
    text = csv_out.read_text(encoding="utf-8").replace('"Hafele"', '""')
    hand = tmp_path / "hand.csv"
    hand.write_text(text, encoding="utf-8", newline="")
    report = ex.json("import", hand, "--yes")
    assert product(ex, "00124")["Brand"] == "Hafele" and report["counts"]["update"] == 0
    # ... unless --blank-clears, or --base names the export it came from
    report = ex.json("import", hand, "--dry-run", "--blank-clears")
    assert {(c["code"], c["column"]) for c in report["changes"]} == {("00124", "Brand")}
    export_id = ex("export", tmp_path / "again.csv").stdout.strip()
    text = (tmp_path / "again.csv").read_text(encoding="utf-8").replace('"Hafele"', '""')
    (tmp_path / "based.csv").write_text(text, encoding="utf-8", newline="")
    report = ex.json("import", tmp_path / "based.csv", "--yes", "--base", export_id)
    assert report["base_export_id"] == export_id
    assert product(ex, "00124")["Brand"] is None


def test_new_codes_create_and_missing_rows_are_untouched(ex, tmp_path):
    out, _ = export_xlsx(ex, "setup.xlsx", "--status", "Setup Required")
    edit(out, {("NEW-1", "Name"): "New widget", ("NEW-1", "Category"): "Hardware", ("NEW-1", "Type"): "Stock",
               ("NEW-1", "CostingMethod"): "FIFO", ("NEW-1", "DefaultUnitOfMeasure"): "Item",
               ("NEW-1", "Status"): "Active", ("NEW-1", "PriceTier1"): 3.5})
    report = ex.json("import", out, "--yes")
    assert report["counts"]["create"] == 1 and report["creates"] == ["NEW-1"]
    assert product(ex, "NEW-1")["PriceTier1"] == "3.5"
    assert product(ex, "00123") is not None  # not in the file, untouched


def test_reordered_columns_sorted_rows_and_renamed_sheet_still_match(ex):
    out, _ = export_xlsx(ex)
    wb = openpyxl.load_workbook(out)
    ws = wb["Inventory List"]
    ws.title = "My edits"
    data = [list(r) for r in ws.iter_rows(values_only=True)]
    header, body = data[0], sorted(data[1:], key=lambda r: str(r[1]), reverse=True)
    order = list(reversed(range(len(header))))
    ws.delete_rows(1, ws.max_row)
    for r in [header, *body]:
        ws.append([r[i] for i in order])
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, str):
                c.data_type = "s"
    wb.save(out)
    report = ex.json("import", out, "--dry-run")
    assert report["counts"]["unchanged"] == 12 and report["changes"] == []


def test_invalid_rows_block_everything_unless_skip_invalid(ex):
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "Status"): "Actvie", ("00124", "PriceTier1"): 8})
    before = snapshot(ex)
    report = ex.json("import", out, "--yes", expect=1)
    assert not report["applied"] and report["counts"]["invalid"] == 1
    assert any(p["rule"] and p["column"] == "Status" for p in report["problems"])
    assert snapshot(ex) == before
    report = ex.json("import", out, "--yes", "--skip-invalid", expect=1)
    assert report["applied"] and report["counts"]["invalid"] == 1
    assert product(ex, "00124")["PriceTier1"] == "8"
    assert product(ex, "00123")["Status"] == "Active"


def test_read_only_edit_is_ignored_with_a_warning(ex):
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "AverageCost"): 99})
    report = ex.json("import", out, "--yes")
    assert report["changes"] == []
    assert report["ignored"][0]["column"] == "AverageCost"
    assert product(ex, "00123")["AverageCost"] == "2.1375"


def test_workbook_from_another_store_is_refused(tmp_path, monkeypatch):
    from tests.helpers import Cli

    monkeypatch.chdir(tmp_path)  # both stores named as people do: relative to the current folder
    one, other = Cli("inventory.db", tmp_path), Cli("other.db", tmp_path)
    for cli in (one, other):
        cli("import", EXAMPLES / "inventory-list.csv", "--yes", "--results", f"{cli.store}-load.xlsx")
    out, _ = export_xlsx(one)
    result = other("import", out, "--yes", expect=1)
    flat = " ".join(result.stderr.split())  # the message may wrap
    assert "exported from another store" in flat
    assert str(tmp_path / "inventory.db") in flat and str(tmp_path / "other.db") in flat  # both, full paths


def test_results_workbook_marks_every_row(ex):
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 5.25})
    ex("import", out, "--yes", "--results", str(ex.cwd / "res.xlsx"))
    wb = openpyxl.load_workbook(ex.cwd / "res.xlsx")
    ws = wb["Results"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Result", "Message", "ProductCode"]
    results = {r[2].value: r for r in ws.iter_rows(min_row=2)}
    assert results["00123"][0].value == "updated" and results["00124"][0].value == "unchanged"
    price = results["00123"][header.index("PriceTier1")]
    assert price.fill.fgColor.rgb == "FFFFEB9C"
    assert price.comment is not None and price.comment.text == "4.95 → 5.25"
    changes = [[c.value for c in r] for r in wb["Changes"].iter_rows(min_row=2)]
    assert changes == [["00123", "PriceTier1", "4.95", "5.25"]]


def test_history_and_undo_restore_before_values(ex):
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 5.25, ("NEW-2", "Name"): "Temp", ("NEW-2", "Category"): "X",
               ("NEW-2", "Type"): "Stock", ("NEW-2", "CostingMethod"): "FIFO",
               ("NEW-2", "DefaultUnitOfMeasure"): "Item"})
    before = snapshot(ex)
    imp = ex.json("import", out, "--yes")
    hist = ex.json("history")
    assert hist[0]["op_id"] == imp["import_id"] and hist[0]["kind"] == "import"
    undone = ex.json("undo", "--yes")
    assert undone["applied"] and undone["undo_of"] == imp["import_id"] and undone["deletes"] == ["NEW-2"]
    assert snapshot(ex) == [r for r in before]
    assert ex.json("history")[1]["state"] == "undone"
    r = ex("undo", imp["import_id"], "--yes", expect=2)
    assert "not applied" in r.stderr


def test_undo_refuses_to_clobber_later_edits(ex):
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 5.25})
    imp = ex.json("import", out, "--yes")
    _concurrent_edit(ex, "00123", "PriceTier1", 6)
    refused = ex.json("undo", imp["import_id"], "--yes", expect=1)
    assert not refused["applied"]
    assert refused["conflicts"][0]["current"] == "6"
    assert product(ex, "00123")["PriceTier1"] == "6"
    ex.json("undo", imp["import_id"], "--on-conflict", "overwrite", "--yes")
    assert product(ex, "00123")["PriceTier1"] == "4.95"


def test_json_report_has_the_stable_core_keys(ex):
    out, _ = export_xlsx(ex)
    report = ex.json("import", out, "--dry-run")
    assert {"import_id", "applied", "counts", "changes", "conflicts", "problems"} <= set(report)
    assert set(report["counts"]) == {"create", "update", "unchanged", "conflict", "invalid", "skipped", "failed"}


def test_changes_only_export_holds_just_the_planned_products_as_planned(ex, tmp_path):
    r = ex("export", tmp_path / "none.csv", "--changes-only", expect=2)
    assert "import FILE --dry-run first" in r.stderr
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 5.25, ("NEW-9", "Name"): "Brand new", ("NEW-9", "Category"): "X",
               ("NEW-9", "Type"): "Stock", ("NEW-9", "CostingMethod"): "FIFO",
               ("NEW-9", "DefaultUnitOfMeasure"): "Item"})
    ex("import", out, "--dry-run")
    upload = tmp_path / "upload.csv"
    ex("export", upload, "--changes-only")
    from inventory_tools.csvio import read_records

    header, records, _ = read_records(upload.read_text(encoding="utf-8"))
    by_code = {r[0]: dict(zip(header, r)) for r in records}
    assert set(by_code) == {"00123", "NEW-9"}
    assert by_code["00123"]["PriceTier1"] == "5.2500" and by_code["00123"]["Name"] == "Brass Hinge 75mm"
    assert by_code["NEW-9"]["Status"] == "ACTIVE"
    assert product(ex, "00123")["PriceTier1"] == "4.95"  # nothing was applied




def test_plan_counts_what_it_lists(ex):
    """The plan's headline counts products in conflict; the list below it says how many cells, in
    how many products, whatever the policy (overwrite once said "0 conflict", then listed one)."""
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 5.25, ("00123", "Brand"): "Other", ("00124", "PriceTier1"): 7})
    other, _ = export_xlsx(ex, "other.xlsx")
    edit(other, {("00123", "PriceTier1"): 5.5, ("00123", "Brand"): "Mine"})
    ex("import", other, "--yes")
    for policy in ("abort", "skip", "overwrite"):
        text = " ".join(ex("import", out, "--dry-run", "--on-conflict", policy, expect=None).stderr.split())
        assert "· 1 in conflict" in text, (policy, text)
        assert "2 conflicting cells in 1 product" in text, (policy, text)
        assert text.count("00123 · PriceTier1: export") + text.count("00123 · Brand: export") == 2


def test_plan_words_match_what_blank_cells_do(ex, tmp_path):
    csv_out = tmp_path / "cin7.csv"
    ex("export", csv_out)
    hand = tmp_path / "hand.csv"
    hand.write_text(csv_out.read_text(encoding="utf-8").replace('"Hafele"', '""'), encoding="utf-8", newline="")
    kept = ex("import", hand, "--dry-run").stderr
    assert "blank cells leave values unchanged" in kept and "Brand" not in kept
    cleared = ex("import", hand, "--dry-run", "--blank-clears").stderr
    assert "00124 · Brand: Hafele → (blank)" in cleared
    assert "leave values unchanged" not in cleared and "blank cells clear" in cleared


def test_undo_of_an_undo_restores_what_it_removed(ex):
    out, _ = export_xlsx(ex)
    new = {("NEW-2", "Name"): "Temp", ("NEW-2", "Category"): "X", ("NEW-2", "Type"): "Stock",
           ("NEW-2", "CostingMethod"): "FIFO", ("NEW-2", "DefaultUnitOfMeasure"): "Item",
           ("NEW-2", "Description"): "two\nlines", ("NEW-2", "Barcode"): "00077"}
    edit(out, {("00123", "PriceTier1"): 5.25, **new})
    before = snapshot(ex)
    imp = ex.json("import", out, "--yes")
    after = snapshot(ex)
    first = ex.json("undo", "--yes")
    assert first["deletes"] == ["NEW-2"] and snapshot(ex) == before
    redo = ex.json("undo", "--yes")  # the latest operation is that undo: undoing it redoes the import
    assert redo["undo_of"] == first["import_id"] and redo["creates"] == ["NEW-2"]
    assert snapshot(ex) == after  # every value of the removed product is back, exactly
    states = {op["op_id"]: op["state"] for op in ex.json("history")}
    assert states[imp["import_id"]] == "applied" and states[first["import_id"]] == "undone"
    ex.json("undo", imp["import_id"], "--yes")  # and the import can be undone again
    assert snapshot(ex) == before


def test_undo_checks_again_when_it_applies_that_what_it_removes_is_unchanged(ex):
    from inventory_tools.errors import StoreError
    from inventory_tools.stores import open_store
    from inventory_tools.undoing import plan_undo

    out, _ = export_xlsx(ex)
    edit(out, {("NEW-3", "Name"): "Temp", ("NEW-3", "Status"): "Setup Required"})
    ex.json("import", out, "--yes")
    store = open_store(ex.store)
    plan = plan_undo(store, None)
    assert plan.deletes == ["NEW-3"]
    other = sqlite3.connect(ex.store)  # someone edits it between the undo's plan and its apply
    other.execute('UPDATE products SET "Name"=\'Kept\' WHERE "ProductCode"=\'NEW-3\'')
    other.commit()
    other.close()
    with pytest.raises(StoreError, match="NEW-3 · Name changed"):
        store.apply(plan.change_set(), kind="undo", source="t", base_export_id=None, counts={},
                    undo_of=plan.op["op_id"])
    store.close()
    assert product(ex, "NEW-3")["Name"] == "Kept"
    assert ex.json("history")[0]["kind"] == "import"


def test_changes_only_export_refuses_a_plan_the_store_moved_past(ex, tmp_path):
    out, _ = export_xlsx(ex)
    edit(out, {("00124", "PriceTier1"): 9})
    applied = ex.json("import", out, "--yes")
    out2, _ = export_xlsx(ex, "second.xlsx")
    edit(out2, {("00123", "PriceTier1"): 5.25})
    ex("import", out2, "--dry-run")
    ex("export", tmp_path / "fine.csv", "--changes-only")  # the store has not moved: fine
    ex("undo", applied["import_id"], "--yes")  # now it has: the plan read 00124 at 9
    r = ex("export", tmp_path / "upload.csv", "--changes-only", expect=2)
    assert "changed since the dry run" in r.stderr and not (tmp_path / "upload.csv").exists()


# -- the results workbook is written on the other core while the apply runs --------------------
def _parts(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_results_written_alongside_the_apply_take_their_name_after_it(ex, tmp_path, monkeypatch):
    import os

    from inventory_tools import importing
    from inventory_tools.stores import open_store
    from inventory_tools.stores.sqlite import SqliteStore

    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 5.25})
    target = tmp_path / "res.xlsx"
    seen = {}
    real_write, real_apply = importing.write_results, SqliteStore.apply

    def write(path, *a, **k):  # runs in the copy: says who wrote, then writes the real workbook
        (tmp_path / "writer.pid").write_text(str(os.getpid()))
        return real_write(path, *a, **k)

    def apply(self, *a, **k):
        outcome = real_apply(self, *a, **k)
        seen["target_during_apply"] = target.exists()
        return outcome

    monkeypatch.setattr(importing, "write_results", write)
    monkeypatch.setattr(SqliteStore, "apply", apply)
    store = open_store(ex.store)
    result = importing.import_file(store, str(out), results=str(target))
    store.close()
    assert result.applied and result.results_path == str(target)
    assert seen["target_during_apply"] is False  # the name is taken only after the commit
    assert int((tmp_path / "writer.pid").read_text()) != os.getpid()  # written beside, not in line
    assert openpyxl.load_workbook(target)["Results"]["A2"].value in ("updated", "unchanged")
    assert _parts(tmp_path) == []


def test_a_failed_apply_leaves_no_results_and_no_part_file(ex, tmp_path, monkeypatch):
    from inventory_tools import importing
    from inventory_tools.errors import StoreError
    from inventory_tools.stores import open_store
    from inventory_tools.stores.sqlite import SqliteStore

    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 5.25})
    before = snapshot(ex)

    def apply(self, *a, **k):
        while not _parts(tmp_path):  # the workbook is being written under its temporary name...
            pass
        raise StoreError("the store refused")  # ...when the apply fails

    monkeypatch.setattr(SqliteStore, "apply", apply)
    store = open_store(ex.store)
    with pytest.raises(StoreError, match="refused"):
        importing.import_file(store, str(out), results=str(tmp_path / "res.xlsx"))
    store.close()
    assert not (tmp_path / "res.xlsx").exists() and _parts(tmp_path) == []
    assert snapshot(ex) == before


@pytest.mark.parametrize("header", [["Code", "Name"], ["*ItemCode", "ItemName", "SalesUnitPrice"], ["SKU", "Name"]])
def test_a_file_without_a_productcode_column_is_refused_as_validate_refuses_it(ex, tmp_path, header):
    """Xero's Items CSV, or a sheet whose A1 was renamed: the same clear problem from import as from
    validate, exit 1, nothing applied, never a traceback."""
    path = tmp_path / "items.csv"
    path.write_text(",".join(header) + "\n" + ",".join(["A-1", "Thing", "3"][:len(header)]) + "\n", encoding="utf-8")
    before = snapshot(ex)
    checked = ex.json("validate", path, expect=1)
    imported = ex.json("import", path, "--yes", expect=1)
    assert not imported["applied"] and snapshot(ex) == before
    missing = [p for p in imported["problems"] if p["rule"] == "header.missing"]
    assert missing and missing == [p for p in checked["problems"] if p["rule"] == "header.missing"]
    assert "ProductCode" in missing[0]["message"]


def test_missing_exported_rows_and_new_codes_are_said_plainly(ex):
    """A code changed in the file (a "rename") is a new product beside the old one, said plainly;
    deleted rows delete nothing and are counted."""
    out, _ = export_xlsx(ex)
    wb = openpyxl.load_workbook(out)
    ws = wb["Inventory List"]
    codes = [r[0].value for r in ws.iter_rows(min_row=2)]
    renamed, dropped = codes.index("SOCK-BLK-M") + 2, codes.index("OLD-KETTLE") + 2
    ws.cell(row=renamed, column=1).value = "SOCK-BLACK-M"
    ws.delete_rows(dropped)
    wb.save(out)
    shown = ex("import", out, "--dry-run").stderr
    assert "2 exported products are not in your file (" in shown and "1 new code is: renames are not supported" in shown
    assert "SOCK-BLK-M" in shown and "OLD-KETTLE" in shown
    edit(out, {("SOCK-BLACK-M", "Name"): "Socks"})
    ws_only_deleted = openpyxl.load_workbook(out)
    sheet_ = ws_only_deleted["Inventory List"]
    sheet_.delete_rows(renamed if renamed < dropped else renamed - 1)
    ws_only_deleted.save(out)
    shown = ex("import", out, "--dry-run").stderr
    assert "2 exported products not in your file" in shown and "left unchanged" in shown
    assert product(ex, "OLD-KETTLE") is not None
