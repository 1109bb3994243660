"""Progress where stderr is a file: plain lines, a bounded number of them, no carriage-return redraws."""
import io
import subprocess
import sys

import pytest

from acgan.progress import PlainProgress


def test_plain_progress_prints_every_tenth_and_the_end():
    out = io.StringIO()
    bar = PlainProgress(total=200, desc="train", unit="step", interval=3600, file=out)
    for _ in range(200):
        bar.update(1)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("train: 200/200 (100%)") and "ETA 0m00s" in lines[-1]
    assert "\r" not in out.getvalue()


def test_plain_progress_prints_on_time(monkeypatch):
    clock = iter(range(0, 10_000, 40))  # 40 s per update
    monkeypatch.setattr("acgan.progress.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    bar = PlainProgress(total=10_000, interval=30, desc="x", file=out)
    bar.set_postfix(loss="0.5")
    for _ in range(5):
        bar.update(1)
    assert len(out.getvalue().splitlines()) == 5 and out.getvalue().splitlines()[0].endswith(", loss 0.5")


@pytest.mark.slow
def test_training_with_stderr_to_a_file(folder_data, tmp_path):
    err = tmp_path / "stderr.txt"
    with open(err, "w") as f:
        res = subprocess.run([sys.executable, "-m", "acgan.cli", "train", "--dataset", "folder", "--data-dir",
                              str(folder_data), "--resolution", "16", "--batch-size", "8", "--steps", "40",
                              "--device", "cpu", "--precision", "fp32", "--out", str(tmp_path / "run"),
                              "--set", "g_width=8", "--set", "d_width=8", "--set", "log_every=5"],
                             stdout=subprocess.PIPE, stderr=f, text=True, timeout=300)
    assert res.returncode == 0
    text = err.read_text()
    progress = [line for line in text.splitlines() if line.startswith("train: ")]
    assert "\r" not in text and 5 <= len(progress) <= 12, text
    assert progress[-1].startswith("train: 40/40 (100%)") and "d " in progress[-1]
    assert any(line.startswith("start: dcgan-small") for line in text.splitlines())
