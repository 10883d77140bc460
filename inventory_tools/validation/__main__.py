"""``python -m inventory_tools.validation > schemas/validation.yaml``: the rules as pandera's YAML."""
import sys

from .schema import schema_yaml

try:
    sys.stdout.write(schema_yaml())
except ImportError as exc:  # pandera writes YAML through PyYAML, which only the test tools install
    sys.exit(f"cannot write the schema: {exc.name or exc} is not installed; pip install pyyaml (or '.[test]')")
