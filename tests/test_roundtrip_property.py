"""Property: whatever the store holds, export → re-read → import plans zero changes and zero errors."""
import string

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from inventory_tools import columns as cols
from inventory_tools.exporting import export
from inventory_tools.importing import plan_import
from inventory_tools.stores import open_store
from inventory_tools.changes import ChangeSet

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("\r\n\t"),
               max_size=60).map(lambda s: s.strip())
CODE = st.text(alphabet=string.ascii_uppercase + string.digits + "-_./", min_size=1, max_size=20) | \
    st.integers(0, 10**12).map(lambda n: f"{n:013d}")
DECIMAL = st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False).map(
    lambda d: format(d.normalize(), "f") if d else "0")


@st.composite
def product_tables(draw):
    n = draw(st.integers(1, 12))
    codes = draw(st.lists(CODE, min_size=n, max_size=n, unique_by=lambda c: c.casefold()))
    rows = []
    for code in codes:
        row = {c: "" for c in cols.names()}
        row.update({cols.KEY: code, "Name": draw(TEXT.filter(bool)) or "x", "Category": draw(TEXT.filter(bool)),
                    "Type": "Stock", "CostingMethod": draw(st.sampled_from(cols.column("CostingMethod").values)),
                    "DefaultUnitOfMeasure": "Item", "Status": draw(st.sampled_from(["Active", "Deprecated"])),
                    "Description": draw(TEXT), "Barcode": draw(st.sampled_from(["", "00012345"])),
                    "Sellable": draw(st.sampled_from(["Yes", "No"]))})
        for name in ("PriceTier1", "PriceTier2", "Weight", "AverageCost"):
            row[name] = draw(DECIMAL)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(cols.names()), dtype=object)


@settings(max_examples=15, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=product_tables())
def test_any_store_content_round_trips_as_no_change(tmp_path_factory, frame):
    work = tmp_path_factory.mktemp("prop")
    store = open_store(work / "s.db")
    try:
        store.apply(ChangeSet(creates=frame), kind="import", source="prop", base_export_id=None, counts={})
        for name in ("inv.xlsx", "inv.csv"):
            result = export(store, work / name)
            report, plan, base_id, invalid = plan_import(store, str(work / name),
                                                         base_export_id=result.export_id if name.endswith("csv")
                                                         else None)
            assert report.errors == 0, [p.message for p in report.problems][:5]
            assert plan.changes == [] and plan.creates.empty, [(c.code, c.column, c.old, c.new)
                                                                for c in plan.changes][:5]
    finally:
        store.close()
