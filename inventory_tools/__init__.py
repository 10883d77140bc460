"""inventory-tools: export, validate, import and sync Cin7 Core inventory lists with Xero.

The library API mirrors the CLI; every function returns a value object the CLI only renders.
"""
__version__ = "0.1.0"
