"""Find the data folders (``schemas/``, ``templates/``) in a checkout or an installed wheel."""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    # Installed wheel: hatch maps schemas/ and templates/ into inventory_tools/_data/.
    for base in (_PKG / "_data", _PKG.parent):
        candidate = base.joinpath(*parts)
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"inventory-tools data file missing: {'/'.join(parts)} (broken install?)")
