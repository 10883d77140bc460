"""LibreOffice (headless) for tests that need a real spreadsheet application to open and re-save
a workbook: where it is, and one way to run it."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
MISSING = "LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui"


def require() -> None:
    """Skip the calling test (or module) without LibreOffice; in CI it must be there."""
    if not SOFFICE:
        if os.environ.get("CI"):
            raise RuntimeError("LibreOffice is required in CI (.ci/run installs libreoffice-calc-nogui)")
        pytest.skip(MISSING, allow_module_level=True)


def convert(src: Path, fmt: str, outdir: Path) -> Path:
    """soffice --headless --convert-to FMT, with a private profile so runs never collide."""
    require()
    outdir.mkdir(exist_ok=True)
    profile = outdir / ".lo-profile"
    target = {"xlsx": 'xlsx:Calc MS Excel 2007 XML'}.get(fmt, fmt)
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", target,
                    "--outdir", str(outdir), str(src)], check=True, capture_output=True, timeout=180)
    out = outdir / f"{src.stem}.{fmt}"
    assert out.exists(), f"LibreOffice did not write {out}"
    return out
