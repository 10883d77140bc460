"""The rules are pandera's and readable: one schema, built from the column table, names every
rule validation applies (as a registered check per rule id); its YAML in schemas/ is current."""
import pandera.pandas as pa

from inventory_tools import columns as cols
from inventory_tools.resources import resource_path
from inventory_tools.validation import checks
from inventory_tools.validation.rules import table
from inventory_tools.validation.schema import build_schema, schema_yaml


def test_the_schema_file_is_the_schema_the_code_builds():
    """CI fails when schemas/validation.yaml is stale: regenerate it with
    `python -m inventory_tools.validation > schemas/validation.yaml`."""
    assert resource_path("schemas", "validation.yaml").read_text(encoding="utf-8") == schema_yaml()


def test_every_value_and_row_rule_is_a_named_check_of_the_schema_and_nothing_else_is():
    schema = build_schema()
    used = [c for column in schema.columns.values() for c in column.checks] + list(schema.checks)
    declared = {checks.RULE_OF[c.name] for c in used}
    assert declared == {rule.id for rule in table().values() if rule.stage in ("values", "rows")}
    assert all(c.error == table()[checks.RULE_OF[c.name]].title for c in used)


def test_the_yaml_reads_back_into_the_same_rules():
    again = pa.DataFrameSchema.from_yaml(schema_yaml())
    assert list(again.columns) == list(cols.names())
    names = lambda s: [(n, [c.name for c in col.checks]) for n, col in s.columns.items()]  # noqa: E731
    assert names(again) == names(build_schema())
    assert [(c.name, c.statistics) for c in again.checks] == [(c.name, c.statistics) for c in build_schema().checks]


def test_the_checks_are_pandera_checks_that_judge_on_their_own():
    """A check is usable without our runner: pandera validates a frame with it."""
    schema = pa.DataFrameSchema({"Status": pa.Column(str, [c for c in build_schema().columns["Status"].checks])})
    import pandas as pd

    ok = pd.DataFrame({"Status": ["Active", "", "Deprecated"]})
    assert schema.validate(ok) is not None
    bad = pd.DataFrame({"Status": ["Actvie"]})
    try:
        schema.validate(bad)
        raise AssertionError("Actvie passed")
    except pa.errors.SchemaError as exc:
        assert "not one of the allowed values" in str(exc)
