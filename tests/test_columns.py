import csv

from inventory_tools import columns as cols
from tests.helpers import SAMPLE_CSV


def test_column_table_is_cin7s_inventory_list_in_order():
    with open(SAMPLE_CSV, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert list(cols.names()) == header
    assert len(cols.names()) == 96


def test_column_facts_match_the_real_export():
    c = cols.by_name()
    assert c["ProductCode"].identifier and c["ProductCode"].required == "always"
    assert c["AverageCost"].read_only
    assert [c[n].decimals for n in ("Length", "CartonVolume", "SupplierFixedPrice", "QuantityToProduce")] == [4, 6, 7, 10]
    assert c["Status"].values == ("Active", "Setup Required", "Deprecated")
    assert c["IsAccountingDimensionEnabled"].values == ("True", "False")
    assert c["DimensionUnits"].api_field == "DimensionsUnits"
    assert c["DefaultUnitOfMeasure"].api_field == "UOM"
    assert c["ProductFamilySKU"].api_field == ""
    assert set(cols.required_always()) == {"ProductCode", "Name", "Status"}  # never blank after an import
    assert set(cols.required_when_active()) == {"ProductCode", "Name", "Status", "Category", "Type", "CostingMethod",
                                                "DefaultUnitOfMeasure"}
