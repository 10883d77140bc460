"""``python -m inventory_tools.validation > schemas/validation.yaml``: the rules as pandera's YAML."""
import sys

from .schema import schema_yaml

sys.stdout.write(schema_yaml())
