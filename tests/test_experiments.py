"""`acgan experiment`: tiny budgets; every number in results.json is recounted here from the models it names."""
import json
import math

import pytest
from click.testing import CliRunner

from acgan.cli import main
from acgan.config import TrainConfig
from acgan.data import load_data
from acgan.evaluation.evaluator import load_evaluator
from acgan.evaluation.sweep import resize_roundtrip
from acgan.metrics import class_ms_ssim
from acgan.rundir import RunDir
from acgan.sampling import load_generator, sample_classes

SIZES = ["--set", "g_width=8", "--set", "d_width=8", "--set", "z_dim=8", "--set", "batch_size=8",
         "--set", "precision=fp32", "--set", "monitor_every=0", "--set", "checkpoint_every=2", "--set", "log_every=2"]
TINY = ["--dataset", "folder", "--steps", "2", "--per-class", "10", "--pairs", "4", "--set", "resolution=16", *SIZES]
RECIPE = ["--dataset", "folder", "--per-class", "10", "--set", "resolution=16", *SIZES, "--set", "ema_decay=0.9"]


def accuracy_of(run, evaluator_dir, per_class, seed, resolution=16):
    """(overall, per class) evaluator accuracy of a run's samples resized to `resolution` and back: the recount."""
    G, ev = load_generator(run), load_evaluator(evaluator_dir)
    fake, labels = sample_classes(G, list(range(G.num_classes)), per_class, seed)
    correct = ev.run(resize_roundtrip(fake, resolution, 16))[0].argmax(1) == labels
    return correct.float().mean().item(), [correct[labels == c].float().mean().item() for c in range(3)], fake, labels


def experiment(args, evaluator_dir, out, data):
    res = CliRunner().invoke(main, ["experiment", *args, "--data-dir", str(data), "--evaluator", str(evaluator_dir),
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "data:image/png;base64" in (out / "report.html").read_text()
    return json.loads((out / "results.json").read_text())


def test_classes_per_model(split_data, evaluator_dir, tmp_path):
    r = experiment(["classes-per-model", *TINY, "--counts", "1,3"], evaluator_dir, tmp_path / "cpm", split_data)
    assert [(row["classes_per_model"], row["models"]) for row in r["rows"]] == [(1, 3), (3, 1)]
    assert RunDir(tmp_path / "cpm" / "per-model-1").read().split["groups"] == [[0], [1], [2]]
    for row, folder in zip(r["rows"], ("per-model-1", "per-model-3")):
        overall, per_class, fake, labels = accuracy_of(tmp_path / "cpm" / folder, evaluator_dir, 10, 0)
        assert row["accuracy"] == pytest.approx(overall) and row["per_class_accuracy"] == pytest.approx(per_class)
        ms = [m["mean"] for m in class_ms_ssim(fake, labels, 3, 4, 0)]
        assert row["class_ms_ssim"] == pytest.approx(ms) and row["mean_ms_ssim"] == pytest.approx(sum(ms) / 3)
    assert (tmp_path / "cpm" / "classes_per_model.png").is_file()


def test_resolution(split_data, evaluator_dir, tmp_path):
    r = experiment(["resolution", *TINY, "--resolutions", "16,32"], evaluator_dir, tmp_path / "res", split_data)
    assert set(r["models"]) == {"16", "32"} and r["evaluation_resolutions"] == [8, 16, 32]
    assert RunDir(tmp_path / "res" / "res-32").read().data["resolution"] == 32
    ev = load_evaluator(evaluator_dir)
    for model in ("16", "32"):  # each model's samples resized to r and back to the 16 px evaluator's input
        fake, labels = sample_classes(load_generator(tmp_path / "res" / f"res-{model}"), [0, 1, 2], 10, 0)
        for r_eval in (8, 16, 32):
            correct = (ev.run(resize_roundtrip(fake, r_eval, 16))[0].argmax(1) == labels).float().mean().item()
            assert r["models"][model]["accuracy"][str(r_eval)] == pytest.approx(correct), (model, r_eval)
    assert (tmp_path / "res" / "resolution.png").is_file()


def test_recipes_side_by_side(split_data, evaluator_dir, tmp_path):
    """Each row holds every seed's run; its numbers are what `check` says of that run, and the row's spread is
    the range over its runs."""
    from acgan.evaluation.run import check
    r = experiment(["recipes", *RECIPE, "--recipes", "acgan@paper-fashion-mnist,adc", "--preset", "demo",
                    "--steps", "2", "--seeds", "0,1"], evaluator_dir, tmp_path / "rec", split_data)
    assert [(row["recipe"], row["loss"]) for row in r["rows"]] == [("acgan@paper-fashion-mnist", "acgan"),
                                                                   ("adc", "adc")]
    assert RunDir(tmp_path / "rec" / "adc-seed1").read().config["seed"] == 1
    for row in r["rows"]:
        assert row["steps"] == 2 and [run["seed"] for run in row["runs"]] == [0, 1]
        for run in row["runs"]:
            folder = tmp_path / "rec" / f"{row['recipe'].replace('@', '-at-')}-seed{run['seed']}"
            said = check(folder, evaluator_dir, per_class=10, seed=run["seed"], log=lambda m: None)
            ratios = [c["diversity_ratio"] for c in said["per_class"]]
            assert run["accuracy"] == said["accuracy"] and run["min_ratio"] == min(ratios)
            assert run["mean_ratio"] == pytest.approx(sum(ratios) / 3)
            assert run["weakest_class"] == said["per_class"][ratios.index(min(ratios))]["class"]
            varieties = [c["variety"] for c in said["per_class"]]
            assert run["variety"] == said["lowest_variety"] == min(varieties)
            assert run["variety_class"] == said["per_class"][varieties.index(min(varieties))]["class"]
        for key in ("accuracy", "fid", "pixel_fid", "min_ratio", "variety"):
            values = [run[key] for run in row["runs"]]
            assert (row[key]["min"], row[key]["max"]) == (min(values), max(values))
            assert row[key]["mean"] == pytest.approx(sum(values) / 2)
    assert (tmp_path / "rec" / "recipes.png").is_file()


def test_recipes_at_equal_time(split_data, evaluator_dir, tmp_path):
    """--minutes turns a time budget into each recipe's own step count, timed on this machine."""
    r = experiment(["recipes", *RECIPE, "--recipes", "adc", "--minutes", "0.05", "--seeds", "0"], evaluator_dir,
                   tmp_path / "rec", split_data)
    row = r["rows"][0]
    assert row["steps"] == int(0.05 * 60 / row["seconds_per_step"])
    assert RunDir(tmp_path / "rec" / "adc-seed0").last_step() == row["steps"]


def test_overlap_classes_by_name_or_index_and_distinct():
    from acgan.errors import UserError
    from acgan.experiments.family import overlap_classes

    names = ["cat", "dog", "frog"]
    assert overlap_classes(names, "2", "cat", "1") == ["frog", "cat", "dog"]
    with pytest.raises(UserError, match="three different classes, got cat, cat, dog"):
        overlap_classes(names, "cat", "0", "dog")
    with pytest.raises(UserError, match="unknown class 'cow'"):
        overlap_classes(names, "cow", "cat", "dog")


def test_overlapping_classes(split_data, evaluator_dir, tmp_path):
    """A = half the cats + as many dogs, B = the other cats + as many frogs; each sample is named by the source
    data's evaluator and the share of cats counted per class."""
    out = tmp_path / "ov"
    r = experiment(["overlap", *RECIPE, "--recipes", "acgan@paper-fashion-mnist,tac", "--steps", "2",
                    "--shared", "cat", "--a", "1", "--b", "frog"], evaluator_dir, out, split_data)
    assert r["A"] == ["cat", "dog"] and r["B"] == ["cat", "frog"]  # a class by index, as --classes takes it
    assert sorted(p.name for p in (out / "data").iterdir()) == ["A", "B"]
    written = load_data(TrainConfig(dataset="folder", data_dir=str(out / "data")), 16)
    source = load_evaluator(evaluator_dir).run(written.images.load().float() / 127.5 - 1)[0].argmax(1)
    for cls, own in ((0, 1), (1, 2)):  # the written images really are 20 cats and 20 of the other class
        assert sorted(source[written.labels == cls].tolist()) == [0] * 20 + [own] * 20
    assert [row["recipe"] for row in r["rows"]] == ["acgan@paper-fashion-mnist", "tac"]
    for row, folder in zip(r["rows"], ("acgan-at-paper-fashion-mnist", "tac")):
        G = load_generator(out / folder)
        for k, (cls, own) in enumerate((("A", 1), ("B", 2))):
            said = load_evaluator(evaluator_dir).run(sample_classes(G, [k], 10, 0)[0])[0].argmax(1)
            cats, others = int((said == 0).sum()), int((said == own).sum())
            assert row[cls]["shared_share"] == cats / max(1, cats + others)
            assert math.isclose(row[cls]["neither"], 1 - (cats + others) / 10)
    assert (out / "overlap.png").is_file()
