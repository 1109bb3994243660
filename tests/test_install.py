"""The wheel holds the package and its presets, and works installed on its own: --help and a 2-step training run."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds and installs a wheel

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_trains(folder_data, tmp_path):
    dist, site = tmp_path / "dist", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)], check=True,
                   capture_output=True, cwd=tmp_path, timeout=300)
    wheel = next(dist.glob("acgan-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {"acgan/presets/demo.yaml", "acgan/presets/paper-cifar.yaml", "acgan/cli/__main__.py"} <= set(names)
    source = {p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src" / "acgan").rglob("*.py")}
    assert source <= set(names), sorted(source - set(names))  # every module, sub-packages included
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True,
                   timeout=300)
    env = dict(os.environ, PYTHONPATH=str(site))  # ahead of the source tree's editable install

    def run(*args):
        return subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
    where = run("-c", "import acgan; print(acgan.__file__)")
    assert where.stdout.strip() == str(site / "acgan" / "__init__.py"), where.stderr
    helped = run("-m", "acgan", "--help")
    assert helped.returncode == 0 and "train-classifier" in helped.stdout
    trained = run("-m", "acgan", "train", "--dataset", "folder", "--data-dir", str(folder_data), "--resolution",
                  "16", "--batch-size", "8", "--steps", "2", "--quiet", "--device", "cpu", "--precision", "fp32",
                  "--set", "g_width=8", "--set", "d_width=8", "--out", str(tmp_path / "run"))
    assert trained.returncode == 0, trained.stderr
    assert (tmp_path / "run" / "checkpoints" / "ckpt-0000002.pt").is_file()
    script = site / "bin" / "acgan"  # the console script pip wrote
    assert script.is_file() and subprocess.run([str(script), "--version"], env=env, capture_output=True,
                                               text=True).stdout.startswith("acgan")
