"""The names of the sheets an exported workbook holds (the writer and the reader share them)."""

DATA_SHEET = "Inventory List"
INSTRUCTIONS_SHEET = "Instructions"
MANIFEST_SHEET = "_manifest"  # hidden: which export this is (its id, store, time, schema version)
LISTS_SHEET = "_lists"  # hidden: the values behind open dropdowns (units in use, reference lists)
