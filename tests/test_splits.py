"""Class-split training: groups as sub-runs, parallel jobs, continuation, one generator over all classes."""
import json

import pytest
import torch
from click.testing import CliRunner

import acgan
from acgan.cli import main
from acgan.models.split import SplitGenerator
from acgan.rundir import RunDir
from acgan.training.splits import class_groups

ARGS = ["--dataset", "folder", "--resolution", "16", "--batch-size", "8", "--quiet", "--set", "g_width=8",
        "--set", "d_width=8", "--set", "z_dim=8", "--set", "checkpoint_every=2", "--set", "log_every=2"]


def test_class_groups():
    assert class_groups(5, 2, "consecutive", 0) == [[0, 1], [2, 3], [4]]
    shuffled = class_groups(10, 3, "random", 1)
    assert sorted(c for g in shuffled for c in g) == list(range(10)) and [len(g) for g in shuffled] == [3, 3, 3, 1]
    assert shuffled == class_groups(10, 3, "random", 1) != class_groups(10, 3, "random", 2)


def test_more_classes_per_model_than_the_data_has_is_refused_before_anything_is_written(split_data, tmp_path):
    line = "error: 4 classes per model is more than the data's 3 classes: use 3 at most"
    res = CliRunner().invoke(main, ["train", *ARGS, "--data-dir", str(split_data), "--steps", "2",
                                    "--classes-per-model", "4", "--out", str(tmp_path / "split")])
    assert res.exit_code == 2 and res.output.strip() == line, res.output
    res = CliRunner().invoke(main, ["experiment", "classes-per-model", "--dataset", "folder", "--data-dir",
                                    str(split_data), "--steps", "1", "--counts", "1,4", "--out", str(tmp_path / "e")])
    assert res.exit_code == 2 and res.output.strip() == line, res.output  # before the 1-class models train
    assert not (tmp_path / "split").exists() and not (tmp_path / "e").exists()


@pytest.mark.slow
def test_two_job_split_run(split_data, evaluator_dir, tmp_path):
    out = tmp_path / "split"
    runner = CliRunner()
    res = runner.invoke(main, ["train", *ARGS, "--data-dir", str(split_data), "--steps", "4",
                               "--classes-per-model", "2", "--jobs", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["split"]["groups"] == [[0, 1], [2]]
    g0 = json.loads((out / "group-000" / "config.json").read_text())["data"]["class_names"]
    g1 = json.loads((out / "group-001" / "config.json").read_text())["data"]["class_names"]
    assert g0 == ["cat", "dog"] and g1 == ["frog"]
    assert all(RunDir(out / d).load_checkpoint()[0]["step"] == 4 for d in ("group-000", "group-001"))

    # the same command again: nothing to do; --resume with more steps: every group continues
    res = runner.invoke(main, ["train", *ARGS, "--data-dir", str(split_data), "--steps", "4",
                               "--classes-per-model", "2", "--out", str(out)])
    assert res.exit_code == 0 and res.output.count("already done") == 2, res.output
    res = runner.invoke(main, ["train", "--resume", str(out), "--steps", "6"])
    assert res.exit_code == 0 and res.output.count("resumed to step 6") == 2, res.output

    # one generator over all classes: each class is drawn by the model that owns it
    G = acgan.load_generator(out)
    assert isinstance(G, SplitGenerator) and G.class_names == ["cat", "dog", "frog"] and G.step == 6
    z = torch.randn(3, 8)
    both = G.sample(torch.tensor([2, 0, 1]), z=z)
    frog = acgan.load_generator(out / "group-001").sample(torch.tensor([0]), z=z[:1])
    catdog = acgan.load_generator(out / "group-000").sample(torch.tensor([0, 1]), z=z[1:])
    assert torch.equal(both[0], frog[0]) and torch.equal(both[1:], catdog)

    res = runner.invoke(main, ["sample", str(out), "--per-class", "2", "--out", str(tmp_path / "grid.png")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["evaluate", str(out), "--evaluator", str(evaluator_dir), "--per-class", "10",
                               "--real-per-class", "10", "--pairs", "4"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "metrics.json").read_text())["class_names"] == ["cat", "dog", "frog"]
    assert (out / "eval" / "training_curves.png").is_file()  # one set of curves per group
    res = runner.invoke(main, ["report", str(out)])
    assert res.exit_code == 0 and "missing)" not in (out / "report.html").read_text()


def test_torchrun_ranks_split_the_groups(split_data, tmp_path, monkeypatch):
    """Under torchrun, rank r of W trains the groups g with g % W == r; each rank can run on its own."""
    out = tmp_path / "split"
    cmd = ["train", *ARGS, "--data-dir", str(split_data), "--steps", "2", "--classes-per-model", "1", "--out", str(out)]
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank, mine in (("0", "groups [0, 2]"), ("1", "groups [1]")):
        monkeypatch.setenv("RANK", rank)
        res = CliRunner().invoke(main, cmd)
        assert res.exit_code == 0, res.output
        assert mine in res.output
    assert all(RunDir(out / f"group-00{g}").load_checkpoint()[0]["step"] == 2 for g in range(3))
