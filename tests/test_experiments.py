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


RECIPE = ["--dataset", "folder", "--per-class", "10", "--set", "resolution=16", "--set", "g_width=8",
          "--set", "d_width=8", "--set", "z_dim=8", "--set", "batch_size=8", "--set", "precision=fp32",
          "--set", "monitor_every=0", "--set", "checkpoint_every=2", "--set", "log_every=2",
          "--set", "ema_decay=0.9"]


def test_recipes_side_by_side(split_data, evaluator_dir, tmp_path):
    """Each row holds every seed's run, and its numbers are what `check` says of that run."""
    from acgan.evaluation.run import check
    from acgan.rundir import RunDir
    out = tmp_path / "rec"
    res = CliRunner().invoke(main, ["experiment", "recipes", *RECIPE, "--data-dir", str(split_data),
                                    "--recipes", "acgan@paper-fashion-mnist,adc", "--preset", "demo", "--steps", "2",
                                    "--seeds", "0,1", "--evaluator", str(evaluator_dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    r = json.loads((out / "results.json").read_text())
    assert [row["recipe"] for row in r["rows"]] == ["acgan@paper-fashion-mnist", "adc"]
    assert [row["loss"] for row in r["rows"]] == ["acgan", "adc"]
    assert all(len(row["runs"]) == 2 and row["steps"] == 2 for row in r["rows"])
    run = out / "adc-seed1"
    assert RunDir(run).read().config["loss"] == "adc" and RunDir(run).read().config["seed"] == 1
    found = r["rows"][1]["runs"][1]
    assert found["accuracy"] == check(run, evaluator_dir, per_class=10, seed=1)["accuracy"]
    assert found["fid"] >= 0 and 0 <= found["min_ratio"] <= found["mean_ratio"]
    assert (out / "recipes.png").is_file() and "adc" in (out / "report.html").read_text()


def test_recipes_at_equal_time(split_data, evaluator_dir, tmp_path):
    """--minutes turns a time budget into each recipe's own step count, timed on this machine."""
    from acgan.rundir import RunDir
    out = tmp_path / "rec"
    res = CliRunner().invoke(main, ["experiment", "recipes", *RECIPE, "--data-dir", str(split_data),
                                    "--recipes", "adc", "--minutes", "0.05", "--seeds", "0",
                                    "--evaluator", str(evaluator_dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    row = json.loads((out / "results.json").read_text())["rows"][0]
    assert row["steps"] == int(0.05 * 60 / row["seconds_per_step"])
    assert RunDir(out / "adc-seed0").last_step() == row["steps"]


def test_overlapping_classes(split_data, evaluator_dir, tmp_path):
    """A = half the cats + as many dogs, B = the other cats + as many frogs; each sample is named by the source
    data's evaluator and the share of cats counted per class."""
    import torch

    from acgan.evaluation.evaluator import load_evaluator
    from acgan.sampling import load_generator, sample_classes
    out = tmp_path / "ov"
    res = CliRunner().invoke(main, ["experiment", "overlap", *RECIPE, "--data-dir", str(split_data),
                                    "--recipes", "acgan@paper-fashion-mnist,tac", "--steps", "2", "--shared", "cat",
                                    "--a", "dog", "--b", "frog", "--evaluator", str(evaluator_dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "data").iterdir()) == ["A", "B"]
    assert len(list((out / "data" / "A").iterdir())) == 40  # 20 cats + 20 dogs of the 40 each
    r = json.loads((out / "results.json").read_text())
    assert [row["recipe"] for row in r["rows"]] == ["acgan@paper-fashion-mnist", "tac"]
    G = load_generator(out / "tac")
    said = load_evaluator(evaluator_dir).run(sample_classes(G, [1], 10, 0)[0])[0].argmax(1)  # class B
    cats, frogs = int((said == 0).sum()), int((said == 2).sum())
    assert r["rows"][1]["B"]["shared_share"] == cats / max(1, cats + frogs)
    assert r["rows"][1]["B"]["neither"] == 1 - (cats + frogs) / 10 and torch.is_tensor(said)
    assert (out / "overlap.png").is_file()
