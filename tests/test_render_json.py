"""--json output: the same data as json.dumps, indented, long lists one compact item per line."""
import json

from inventory_tools.render.render_json import LONG_LIST, json_text


def test_small_reports_are_exactly_json_dumps_indented():
    data = {"valid": True, "errors": 0, "problems": [{"cell": "A2", "message": "naïve"}], "nested": {"a": [1, 2]}}
    assert json_text(data) == json.dumps(data, indent=2, ensure_ascii=False)
    assert json_text([1, 2]) == json.dumps([1, 2], indent=2)
    assert json_text({}) == "{}"


def test_long_lists_read_back_the_same_one_item_per_line():
    changes = [{"code": f"C{i}", "column": "Name", "old": "a\nb", "new": "☃ \"q\""} for i in range(LONG_LIST + 5)]
    data = {"import_id": 3, "changes": changes, "counts": {"update": 25}, "path": None}
    text = json_text(data)
    assert json.loads(text) == data
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert sum(1 for line in lines if line.startswith('    {"code": ')) == len(changes)
