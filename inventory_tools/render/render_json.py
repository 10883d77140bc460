"""The machine reports (``--json``): indented for people, written at C speed for big ones."""
from __future__ import annotations

import json

LONG_LIST = 20  # a longer list puts one compact item per line


def json_text(data) -> str:
    """``json.dumps(data, indent=2)`` to look at, except that the items of a long top-level list
    are compact, one per line. Python's json module has a C encoder only for unindented output;
    a report with 100,000 changes then takes a tenth of the time, and reads the same."""
    if not isinstance(data, dict) or not data:
        return _dumps(data, indent=2)
    parts = []
    for key, value in data.items():
        name = _dumps(str(key))
        if isinstance(value, list) and len(value) > LONG_LIST:
            items = ",\n    ".join(_dumps(item) for item in value)
            parts.append(f"  {name}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {name}: " + _dumps(value, indent=2).replace("\n", "\n  "))
    return "{\n" + ",\n".join(parts) + "\n}"


_COMPACT = json.JSONEncoder(ensure_ascii=False, default=str)  # (made once: a report has thousands of items)


def _dumps(value, indent: int | None = None) -> str:
    if indent is None:
        return _COMPACT.encode(value)
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)
