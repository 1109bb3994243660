"""`acgan experiment`: tiny budgets, checking the structure and that numbers come from the trained models."""
import json

from click.testing import CliRunner

from acgan.cli import main

TINY = ["--dataset", "folder", "--steps", "2", "--per-class", "10", "--pairs", "4", "--set", "resolution=16",
        "--set", "g_width=8", "--set", "d_width=8", "--set", "z_dim=8", "--set", "batch_size=8",
        "--set", "precision=fp32", "--set", "monitor_every=0", "--set", "checkpoint_every=2", "--set", "log_every=2"]


def test_classes_per_model(split_data, evaluator_dir, tmp_path):
    out = tmp_path / "cpm"
    res = CliRunner().invoke(main, ["experiment", "classes-per-model", *TINY, "--data-dir", str(split_data),
                                    "--counts", "1,3", "--evaluator", str(evaluator_dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    r = json.loads((out / "results.json").read_text())
    assert [row["classes_per_model"] for row in r["rows"]] == [1, 3]
    assert [row["models"] for row in r["rows"]] == [3, 1]
    assert all(0 <= row["accuracy"] <= 1 and len(row["class_ms_ssim"]) == 3 for row in r["rows"])
    assert (out / "per-model-1" / "group-002").is_dir() and (out / "classes_per_model.png").is_file()
    assert "data:image/png;base64" in (out / "report.html").read_text()


def test_resolution(split_data, evaluator_dir, tmp_path):
    out = tmp_path / "res"
    res = CliRunner().invoke(main, ["experiment", "resolution", *TINY, "--data-dir", str(split_data),
                                    "--resolutions", "16,32", "--evaluator", str(evaluator_dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    r = json.loads((out / "results.json").read_text())
    assert set(r["models"]) == {"16", "32"} and r["evaluation_resolutions"] == [8, 16, 32]
    assert json.loads((out / "res-32" / "config.json").read_text())["data"]["resolution"] == 32
    assert (out / "resolution.png").is_file()
