"""An installed wheel (not the checkout) finds its schemas/ and templates/."""
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_installed_wheel_finds_its_data_files(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(dist.glob("*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=True).create(env_dir)
    py = env_dir / "bin" / "python"
    # The dependencies come from the interpreter running the tests (a venv's base Python may lack
    # them); its site-packages is appended after the new venv's own, so the wheel still wins.
    own = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True).stdout.strip()
    Path(own, "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--force-reinstall", "-q", str(wheel)],
                   check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    code = ("import inventory_tools, inventory_tools.columns as c, inventory_tools.exporting as e;"
            "print(inventory_tools.__file__); print(len(c.columns())); print(e.instructions_sheet().rows[0][0])")
    run = subprocess.run([str(py), "-c", code], cwd=work, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = run.stdout.split("\n")
    found = Path(out[0]).resolve()  # (paths compared as paths: /tmp/ci is not inside /tmp/ci-tmp)
    assert found.is_relative_to(env_dir.resolve()) and not found.is_relative_to(ROOT.resolve())
    assert out[1] == "96" and out[2].startswith("How to edit")
    load = subprocess.run([str(env_dir / "bin" / "inventory-tools"), "--store", "s.db", "import",
                           str(ROOT / "examples" / "inventory-list.csv"), "--yes", "--results", "r.xlsx"],
                          cwd=work, capture_output=True, text=True)  # export needs a store: only import/sync create one
    assert load.returncode == 0, load.stderr
    cli = subprocess.run([str(env_dir / "bin" / "inventory-tools"), "--store", "s.db", "export", "x.xlsx"],
                         cwd=work, capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert (work / "x.xlsx").exists()
