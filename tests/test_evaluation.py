"""The evaluation suite: analyses against independent computations, and `evaluate` / `report` end to end."""
import json
import math
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from acgan.cli import main
from acgan.evaluation.evaluator import load_evaluator
from acgan.evaluation.steps.diversity import diversity
from acgan.evaluation.steps.joint import joint, pearson
from acgan.evaluation.steps.overfitting import class_as_style_grid, interpolation_grid, nearest_neighbours, slerp
from acgan.evaluation.sweep import accuracy_sweep, default_resolutions, resize_roundtrip
from acgan.evaluation.verdict import WORDS, verdict
from acgan.metrics import class_ms_ssim, ms_ssim, random_pairs

from .conftest import write_folder_dataset


def train_tiny(data_dir, run_dir, steps: int = 2):
    """A run of 8-channel nets at 16 px on a folder data set, `steps` steps: what evaluate and check read."""
    res = CliRunner().invoke(main, ["train", "--dataset", "folder", "--data-dir", str(data_dir), "--resolution", "16",
                                    "--batch-size", "8", "--steps", str(steps), "--quiet", "--out", str(run_dir),
                                    "--set", "g_width=8", "--set", "d_width=8"])
    assert res.exit_code == 0, res.output


def test_train_classifier_records_its_test_accuracy(evaluator_dir, split_data):
    ev = load_evaluator(evaluator_dir)
    assert ev.meta["class_names"] == ["cat", "dog", "frog"] and ev.meta["resolution"] == 16
    from acgan.config import TrainConfig
    from acgan.data import load_data
    test = load_data(TrainConfig(dataset="folder", data_dir=str(split_data)), 16, split="test")
    logits, feats = ev.run(test.images.load().float() / 127.5 - 1)
    assert math.isclose(ev.meta["test_accuracy"], (logits.argmax(1) == test.labels).float().mean().item(), abs_tol=1e-4)
    assert ev.meta["test_accuracy"] > 0.9  # the classes differ in mean colour: easy
    assert feats.shape == (60, ev.net.feature_dim)


def test_resolution_sweep_on_real_data(evaluator_dir, split_data):
    from acgan.config import TrainConfig
    from acgan.data import load_data
    ev = load_evaluator(evaluator_dir)
    test = load_data(TrainConfig(dataset="folder", data_dir=str(split_data)), 16, split="test")
    x = test.images.load().float() / 127.5 - 1
    assert default_resolutions(16) == [4, 8, 16, 32]
    sweep = accuracy_sweep(ev, x, test.labels, [4, 16], 3)
    direct = (ev.run(resize_roundtrip(x, 4, 16))[0].argmax(1) == test.labels).float()
    assert math.isclose(sweep["4"]["accuracy"], direct.mean().item())
    assert sweep["4"]["per_class"] == [direct[test.labels == c].mean().item() for c in range(3)]
    assert math.isclose(sweep["16"]["accuracy"], ev.meta["test_accuracy"], abs_tol=1e-4)  # round trip at 16 = identity
    assert torch.allclose(resize_roundtrip(x, 16, 16), x)


def test_class_ms_ssim_matches_direct_pairs():
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(30, 1, 16, 16, generator=gen) * 2 - 1
    labels = torch.arange(30) % 3
    out = class_ms_ssim(images, labels, 3, pairs=10, seed=5)
    gen = torch.Generator().manual_seed(5)
    x0 = (images[labels == 0] + 1) / 2
    i, j = random_pairs(len(x0), 10, gen)
    assert torch.all(i != j)
    assert math.isclose(out[0]["mean"], ms_ssim(x0[i], x0[j]).mean().item(), rel_tol=1e-6)


def test_collapsed_class_is_flagged():
    gen = torch.Generator().manual_seed(1)
    labels = torch.arange(40) % 2
    noise = torch.rand(40, 1, 16, 16, generator=gen)
    real = torch.where(labels.view(-1, 1, 1, 1) == 1,  # class 1 smoother, so it holds the real maximum
                       torch.nn.functional.avg_pool2d(noise, 7, 1, 3), torch.nn.functional.avg_pool2d(noise, 3, 1, 1))
    real = real * 2 - 1
    fake = real.clone()
    fake[labels == 1] = fake[labels == 1][0]  # class 1 collapsed to one image
    d = diversity(fake, labels, real, labels, 2, pairs=20)
    assert math.isclose(d["generated"][1]["mean"], 1.0, abs_tol=1e-5)
    assert d["threshold"] == max(r["mean"] for r in d["real"]) and 0 < d["threshold"] < 0.9
    assert d["fraction_classes_below_threshold"] == 0.5


def test_joint_analysis():
    acc, ms = [0.9, 0.005, 0.5, 0.0, 0.3], [0.1, 0.4, 0.2, 0.35, 0.12]
    j = joint(acc, ms, threshold=0.25, accuracy_threshold=0.01)
    assert math.isclose(j["pearson_r"], np.corrcoef(acc, ms)[0, 1], rel_tol=1e-9)
    assert math.isclose(j["r_squared"], j["pearson_r"] ** 2)
    assert j["fraction_diverse_above_accuracy"] == 1.0 and j["fraction_collapsed_at_or_below_accuracy"] == 1.0
    assert math.isnan(pearson([1, 1], [2, 3]))


def test_nearest_neighbours_brute_force():
    gen = torch.Generator().manual_seed(2)
    pool, q = torch.rand(50, 1, 4, 4, generator=gen), torch.rand(3, 1, 4, 4, generator=gen)
    idx = nearest_neighbours(q, pool, k=4, chunk=7)
    brute = (q.flatten(1)[:, None] - pool.flatten(1)[None]).abs().sum(-1).argsort(1)[:, :4]
    assert torch.equal(idx, brute)


def test_large_image_sets_are_converted_to_float_a_chunk_at_a_time(evaluator_dir, monkeypatch):
    """Nearest neighbours, training features and the resolution sweep over many images give the numbers of one
    pass over all of them, while never holding more than a chunk of them in float (a whole 64-256 px data set in
    float is gigabytes)."""
    from acgan.evaluation import sweep
    from acgan.evaluation.steps import overfitting
    from acgan.pixels import to_unit

    gen = torch.Generator().manual_seed(3)
    pool = torch.randint(0, 256, (1300, 3, 16, 16), generator=gen, dtype=torch.uint8)
    q = to_unit(pool[[5, 700, 1299]]) + 0.01
    whole = nearest_neighbours(q, to_unit(pool), k=4)
    ev = load_evaluator(evaluator_dir)
    one_pass = ev.run(to_unit(pool))
    converted, real_to_unit = [], overfitting.to_unit
    monkeypatch.setattr(overfitting, "to_unit", lambda x: converted.append(len(x)) or real_to_unit(x))
    assert torch.equal(nearest_neighbours(q, pool, k=4, chunk=500, convert=overfitting.to_unit), whole)
    assert whole[:, 0].tolist() == [5, 700, 1299]
    assert torch.equal(overfitting._features(ev, pool, chunk=1000), one_pass[1])
    assert max(converted) == 1000 and sum(converted) == 1300 + 1300  # never more than a chunk at once
    labels = torch.arange(1300) % 3
    got = accuracy_sweep(ev, to_unit(pool), labels, [8], 3)
    monkeypatch.setattr(sweep, "CHUNK", 1300)  # one pass over all
    assert got == accuracy_sweep(ev, to_unit(pool), labels, [8], 3)


def test_large_images_are_sampled_in_smaller_generator_calls_from_the_same_noise():
    from acgan.models.common import Sampling
    from acgan.sampling import images_per_call, sample_classes

    class Recorded(Sampling):
        z_dim, num_classes, class_names = 4, 2, ["a", "b"]

        def __init__(self, resolution):
            self.resolution, self.calls = resolution, []

        def generate(self, z, labels):
            self.calls.append(len(z))
            return torch.tanh(z[:, :1, None, None] + labels[:, None, None, None].float()).expand(-1, 1, 2, 2)

    big, unsized = Recorded(256), Recorded(None)
    images, labels = sample_classes(big, [0, 1], 400, seed=1)
    assert unsized.calls == [] and torch.equal(images, sample_classes(unsized, [0, 1], 400, seed=1)[0])
    assert unsized.calls == [500, 300] and max(big.calls) == 31 and sum(big.calls) == 800
    assert [images_per_call(Recorded(r)) for r in (28, 64, 128, 256, None)] == [500, 500, 125, 31, 500]


def test_slerp_endpoints_and_norm():
    a, b = torch.randn(16), torch.randn(16)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    a, b = a / a.norm(), b / b.norm()
    assert math.isclose(slerp(a, b, 0.3).norm().item(), 1.0, rel_tol=1e-5)


def test_evaluate_and_report_end_to_end(split_data, evaluator_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    runner = CliRunner()
    train_tiny(split_data, run_dir, steps=4)
    args = ["evaluate", str(run_dir), "--evaluator", str(evaluator_dir), "--per-class", "12", "--real-per-class",
            "12", "--pairs", "6"]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["discriminability"]["resolutions"] == [4, 8, 16, 32]
    # the closing line leads with the validated verdicts, read back from metrics.json
    cd = m["class_diversity"]
    weakest = min(cd["per_class"], key=lambda r: r["variety"])
    assert weakest["variety"] == cd["lowest_variety"]
    line = res.output.strip().splitlines()[-1]
    assert f"weakest class {weakest['class']} keeps {weakest['variety']:.2f} of real data's variety" in line
    collapsed = [n for n, w in m["verdict"]["per_class"].items() if w == "collapsed"]  # the verdict's word wins
    assert line.startswith(f"verdict: {m['verdict']['model']} (") and f"next: {m['verdict']['next_step']}" in line
    assert f"collapsed classes: {', '.join(collapsed) or 'none'}" in line
    assert f"domain FID {m['domain_metrics']['fid']:.2f}" in line and line.endswith("metrics.json")
    assert len(m["diversity"]["generated"]) == 3 and m["diversity"]["pairs_per_class"] == 6
    assert m["domain_metrics"]["network"] == "acgan-evaluator" and m["domain_metrics"]["weights_sha256"]
    pixels = m["domain_metrics"]["pixels"]  # the same scores without a network (values: test_scores.py)
    assert pixels["space"] == "14 px pixels" and pixels["fid"] > 0 and pixels["samples"] == 36
    assert "skipped" in m["inception"]
    for name in ("samples", "discriminability", "ms_ssim_scatter", "joint", "nearest_pixel", "nearest_features",
                 "interpolation_linear", "interpolation_slerp", "class_as_style", "training_curves"):
        assert (run_dir / "eval" / f"{name}.png").is_file(), name
    first = {k: v for k, v in m.items() if k != "created"}
    assert runner.invoke(main, args).exit_code == 0  # second run: real statistics from the cache, same numbers
    again = {k: v for k, v in json.loads((run_dir / "metrics.json").read_text()).items() if k != "created"}
    assert again == first
    assert list((tmp_path / "cache").glob("real-stats-*.pt"))
    res = runner.invoke(main, ["report", str(run_dir)])
    assert res.exit_code == 0, res.output
    page = (run_dir / "report.html").read_text()
    for section in ("Discriminability", "Diversity", "Joint analysis", "Sample quality", "Overfitting", "Training"):
        assert section in page
    assert page.count("data:image/png;base64,") >= 10 and "missing)" not in page
    assert "14 px pixels (domain)" in page
    assert f"weakest class {weakest['class']} keeps {weakest['variety']:.2f} of real data" in page.split("Per class")[0]
    res = runner.invoke(main, ["report", str(run_dir), "--out", str(run_dir / "eval")])  # a folder, not a file
    assert res.exit_code == 2 and res.output == f"error: {run_dir / 'eval'}: this is a folder, and a file was " \
        "expected: choose another path\n", res.output
    assert not list(run_dir.glob(".*.tmp")) and (run_dir / "eval").is_dir()


def test_verdict_names_the_weakest_class_and_leaves_out_what_was_not_measured():
    rows = [{"class": "cat", "variety": 0.81}, {"class": "dog", "variety": 0.64}]
    m = {"model_resolution": 32, "discriminability": {"generated": {"32": {"accuracy": 0.5}},
                                                      "real": {"32": {"accuracy": 0.75}}},
         "diversity": {"fraction_classes_below_threshold": 0.5},
         "class_diversity": {"per_class": rows, "lowest_variety": 0.64, "collapsed_classes": ["dog"]},
         "domain_metrics": {"fid": 12.345}}
    assert verdict(m) == ("accuracy of samples 0.5000 (real 0.7500); weakest class dog keeps 0.64 of real data's "
                          "variety; collapsed classes: dog; domain FID 12.35; classes below the MS-SSIM threshold 50%")
    m["class_diversity"]["lowest_variety"] = None  # no real level to divide by: no variety figure
    m["class_diversity"]["collapsed_classes"] = []
    del m["domain_metrics"]
    assert verdict(m) == ("accuracy of samples 0.5000 (real 0.7500); collapsed classes: none; "
                          "classes below the MS-SSIM threshold 50%")


def test_evaluate_errors(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "no metrics.json" in res.output
    res = runner.invoke(main, ["evaluate", str(tmp_path)])
    assert res.exit_code == 2 and "not an acgan run directory" in res.output


def test_a_test_split_too_small_to_measure_is_refused_before_the_evaluator_trains(tmp_path, monkeypatch):
    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    write_folder_dataset(data / "train", per_class=16)
    write_folder_dataset(data / "test", per_class=3, seed=1)  # coverage's 5 nearest real neighbours need 6
    runner, run_dir = CliRunner(), tmp_path / "run"
    train_tiny(data, run_dir)
    for args in (["evaluate", str(run_dir), "--pairs", "4"], ["check", str(run_dir), "--per-class", "10"]):
        res = runner.invoke(main, args)
        assert res.exit_code == 2, res.output
        assert res.output.strip() == ("error: evaluation (`acgan evaluate`, `check`) needs at least 6 real test "
                                      "images of every class, and 'cat' has 3, 'dog' has 3, 'frog' has 3: add test "
                                      "images of those classes")
        assert not (tmp_path / "cache" / "evaluators").exists()  # refused before minutes of classifier training
        assert not (run_dir / "metrics.json").exists()


def test_a_process_that_waits_for_the_default_evaluator_does_not_train_another(split_data, trained_evaluator,
                                                                                 tmp_path, monkeypatch):
    """Two commands that need the same default evaluator: the second waits for the first's lock, then uses what
    it wrote. Made certain: this process holds the lock until the second says it waits."""
    import os
    import shutil
    import subprocess
    import sys
    import time

    from acgan.evaluation.evaluator.store import record_evaluator_dir
    from acgan.io import exclusive
    from acgan.rundir import RunDir

    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    train_tiny(split_data, run_dir)
    folder = record_evaluator_dir(RunDir(run_dir).read())
    err_path = tmp_path / "second.err"
    with exclusive(folder.with_name(folder.name + ".lock"), print, "unused"), open(err_path, "w") as err:
        second = subprocess.Popen([sys.executable, "-m", "acgan", "check", str(run_dir), "--per-class", "10"],
                                  env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.time() + 120
        while "waiting for another process that trains this data's evaluator" not in err_path.read_text():
            assert second.poll() is None and time.time() < deadline, err_path.read_text()
            time.sleep(0.05)
        shutil.copytree(trained_evaluator, folder)  # what the first process would have trained and saved
    assert second.wait(timeout=300) == 0, err_path.read_text()
    assert "no evaluator for this data yet" not in err_path.read_text()


def test_evaluation_options_below_what_the_measures_need_are_refused():
    from acgan.errors import UserError
    from acgan.evaluation.context import EvalOptions

    for key, value in (("per_class", 9), ("real_per_class", 3), ("inception_samples", 5), ("pairs", 1)):
        with pytest.raises(UserError, match=f"{key} must be at least"):
            EvalOptions(**{key: value})
    assert EvalOptions(per_class=10, real_per_class=10, inception_samples=10, pairs=2).per_class == 10


def test_grids_have_one_row_per_class():
    from acgan.config import TrainConfig
    from acgan.models import build_models
    G, _ = build_models(TrainConfig(g_width=8, z_dim=8), 1, 16, 3)
    G.class_names = ["a", "b", "c"]
    assert interpolation_grid(G, steps=5).shape == (3, 3 * 18 + 2, 5 * 18 + 2)
    assert class_as_style_grid(G, rows=2).shape == (3, 2 * 18 + 2, 3 * 18 + 2)


@pytest.mark.slow
def test_synset_classes_are_judged_by_imagenet_inception(tmp_path, monkeypatch):
    """Folder classes named n0XXXXXXX: discriminability uses torchvision's Inception-v3 from a local file."""
    from torchvision.models import inception_v3

    from acgan.evaluation.evaluator.inception import load_imagenet_inception

    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path / "cache"))
    synsets = ["n01440764", "n01443537"]
    data = tmp_path / "data"
    write_folder_dataset(data / "train", classes=synsets, per_class=16)
    write_folder_dataset(data / "test", classes=synsets, per_class=8, seed=1)
    torch.manual_seed(0)
    weights = tmp_path / "inception_v3.pth"
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), weights)
    order = tmp_path / "synsets.txt"
    order.write_text("n01234567 something\nn01443537 goldfish\nn01440764 tench\n")
    runner = CliRunner()
    common = ["--dataset", "folder", "--data-dir", str(data), "--resolution", "16", "--quiet"]
    res = runner.invoke(main, ["train-classifier", *common, "--epochs", "2", "--out", str(tmp_path / "ev")])
    assert res.exit_code == 0
    res = runner.invoke(main, ["train", *common, "--batch-size", "8", "--steps", "2", "--out", str(tmp_path / "run"),
                               "--set", "g_width=8", "--set", "d_width=8"])
    assert res.exit_code == 0, res.output
    args = ["evaluate", str(tmp_path / "run"), "--evaluator", str(tmp_path / "ev"), "--per-class", "10",
            "--real-per-class", "10", "--pairs", "4", "--resolutions", "16", "--imagenet-weights", str(weights)]
    res = runner.invoke(main, args)
    assert res.exit_code == 2 and "--imagenet-synsets" in res.output  # 2 of 1000 synsets: the order is needed
    res = runner.invoke(main, args + ["--imagenet-synsets", str(order)])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["discriminability"]["network"] == "torchvision inception_v3 IMAGENET1K_V1"
    # the same accuracy computed directly: argmax over 1000 ImageNet classes against each synset's index
    net = load_imagenet_inception(synsets, str(weights), str(order))
    assert net.targets == [2, 1]
    from acgan.config import TrainConfig
    from acgan.data import load_data
    real = load_data(TrainConfig(dataset="folder", data_dir=str(data)), 16, split="test")
    logits, _ = net.run(resize_roundtrip(real.images.load().float() / 127.5 - 1, 16, 299))
    direct = (logits.argmax(1) == torch.tensor([2, 1])[real.labels]).float().mean().item()
    assert math.isclose(m["discriminability"]["real"]["16"]["accuracy"], direct, abs_tol=1e-6)


def test_mean_pairwise_distance_brute_force():
    import itertools

    from acgan.metrics import mean_pairwise_distance
    f = torch.randn(7, 5, generator=torch.Generator().manual_seed(4))
    brute = np.mean([torch.dist(f[i], f[j]).item() for i, j in itertools.combinations(range(7), 2)])
    assert math.isclose(mean_pairwise_distance(f), brute, rel_tol=1e-6)


def test_check_command(split_data, evaluator_dir, tmp_path):
    runner = CliRunner()
    run_dir = tmp_path / "run"
    train_tiny(split_data, run_dir)
    for command in ("check", "evaluate"):  # a folder that holds no evaluator: one line, before any sampling
        res = runner.invoke(main, [command, str(run_dir), "--evaluator", str(tmp_path / "none")])
        assert res.exit_code == 2 and res.output == f"error: {tmp_path / 'none'} holds no evaluator: make one " \
            f"with `acgan train-classifier --out {tmp_path / 'none'}`\n", res.output
    res = runner.invoke(main, ["check", str(run_dir), "--evaluator", str(evaluator_dir), "--per-class", "10"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert list(d)[:4] == ["verdict", "accuracy", "lowest_variety", "collapsed_classes"]  # the verdicts open it
    assert set(d["verdict"]["per_class"]) == {"cat", "dog", "frog"} and d["verdict"]["model"] in WORDS
    assert d["lowest_variety"] == min(r["variety"] for r in d["per_class"])
    assert [r["class"] for r in d["per_class"]] == ["cat", "dog", "frog"]
    assert math.isclose(d["accuracy"], np.mean([r["accuracy"] for r in d["per_class"]]), abs_tol=1e-3)
    assert d["min_diversity_ratio"] == min(r["diversity_ratio"] for r in d["per_class"])
    assert all(0 <= r["ms_ssim"] <= 1 for r in d["per_class"])
    # every diversity measure beside the old ones, and the verdict (tested on known generators in test_evaluate_any)
    assert all(0 <= r[m] <= 1 for r in d["per_class"] for m in ("precision", "recall", "coverage"))
    assert all(r["intra_fid"] >= 0 and r["density"] >= 0 for r in d["per_class"])
    assert d["collapsed_classes"] == [r["class"] for r in d["per_class"] if r["collapsed"]]
    assert d["validated_measures"] == ["recall", "coverage", "intra_fid"]
    assert "warning" not in res.stderr
    meta = json.loads((evaluator_dir / "evaluator.json").read_text())
    (evaluator_dir / "evaluator.json").write_text(json.dumps(meta | {"test_accuracy": 0.45}))  # chance is 1/3
    res = runner.invoke(main, ["check", str(run_dir), "--evaluator", str(evaluator_dir), "--per-class", "10"])
    assert res.exit_code == 0 and res.stderr.startswith("warning: the evaluator recognises 45% of real test images "
                                                        "(chance: 33%)"), res.stderr
    assert f"--epochs N --out {evaluator_dir}`" in res.stderr and json.loads(res.stdout)["accuracy"] == d["accuracy"]


def squares(n: int, seed: int):
    """Separable data: class c is a bright 5 x 5 square in quadrant c of a noisy 16 px image."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 80, (n, 1, 16, 16), generator=gen, dtype=torch.uint8)
    y = torch.arange(n) % 3
    for i, c in enumerate(y.tolist()):
        top, left = 8 * (c // 2) + int(torch.randint(0, 4, (1,), generator=gen)), 8 * (c % 2)
        x[i, 0, top:top + 5, left:left + 5] = 255
    return x, y


def test_evaluator_learns_separable_data_and_survives_a_single_step():
    from acgan.evaluation.evaluator import EvalNet, train_evaluator
    x, y = squares(300, 0)
    test_x, test_y = squares(90, 1)
    _, acc, _ = train_evaluator(x, y, test_x, test_y, num_classes=3, epochs=3, progress=False)
    assert acc >= 0.95, acc  # unseen images of the three positions
    torch.manual_seed(0)
    untrained = EvalNet(1, 3).state_dict()
    net, _, _ = train_evaluator(x[:30], y[:30], x[:30], y[:30], num_classes=3, epochs=1, progress=False)
    # one step on a tiny set still gets a valid schedule with a learning rate above zero: the weights move
    assert any(not torch.equal(untrained[k], v) for k, v in net.state_dict().items() if v.is_floating_point())


def test_the_evaluator_takes_enough_steps_on_small_data_and_no_more_work_on_large():
    from acgan.evaluation.evaluator.net import evaluator_schedule
    assert evaluator_schedule(60_000, 28) == (4, 256) and evaluator_schedule(50_000, 32) == (4, 256)  # as always
    epochs, batch = evaluator_schedule(900, 64)  # 4 epochs of 256 were 12 steps here
    assert batch == 36 and epochs * (900 // batch) >= 750
    assert evaluator_schedule(10_000, 256) == (4, 256)  # more epochs would cost more than CIFAR-10's 4
    assert evaluator_schedule(900, 64, epochs=2) == (2, 36)
    # 30 epochs would give 750 steps; 16 cost what 750 x 256 images at 32 px cost (a 64 px image costs 4)
    assert evaluator_schedule(3_000, 64) == (16, 120) and 16 * 3_000 * 4 <= 750 * 256 < 17 * 3_000 * 4


def test_data_without_a_test_split_holds_out_images_to_measure_the_evaluator(folder_data, tmp_path):
    """A folder of classes with no train/ and test/: the evaluator's accuracy is measured on images it did not
    learn from (one in ten of each class), not on its own training images."""
    from acgan.config import TrainConfig
    from acgan.data import load_data
    res = CliRunner().invoke(main, ["train-classifier", "--dataset", "folder", "--data-dir", str(folder_data),
                                    "--resolution", "16", "--epochs", "3", "--out", str(tmp_path / "ev"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "learns from 66 of its images and measures its accuracy on the other 6" in res.stderr, res.stderr
    ev = load_evaluator(tmp_path / "ev")
    assert ev.meta["test_split"] == "held out from train"
    data = load_data(TrainConfig(dataset="folder", data_dir=str(folder_data)), 16)
    held = torch.cat([torch.nonzero(data.labels == c).flatten()[5::10] for c in range(3)])  # 24 a class: 5 and 15
    logits, _ = ev.run(data.images[held.numpy()].float() / 127.5 - 1)
    assert len(held) == 6
    assert math.isclose(ev.meta["test_accuracy"], (logits.argmax(1) == data.labels[held]).float().mean().item(),
                        abs_tol=1e-4)
    # a default evaluator from before (its accuracy measured on its training images) is retrained where it is used
    from acgan.evaluation.evaluator import evaluator_dir_for
    run_dir = tmp_path / "run"
    train_tiny(folder_data, run_dir)
    default = evaluator_dir_for(TrainConfig(dataset="folder", data_dir=str(folder_data)), 16)
    shutil.copytree(tmp_path / "ev", default)
    meta = json.loads((default / "evaluator.json").read_text())
    (default / "evaluator.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "test_split"}))
    res = CliRunner().invoke(main, ["check", str(run_dir), "--per-class", "10"])
    assert res.exit_code == 0 and "measured its accuracy on images it learnt from" in res.stderr, res.stderr
    assert json.loads((default / "evaluator.json").read_text())["test_split"] == "held out from train"


def test_a_default_evaluator_works_at_most_at_max_resolution(folder_data, tmp_path, monkeypatch):
    """Above MAX_RESOLUTION the default evaluator is trained at that size (its first stage runs at full size, so
    each doubling costs four times the time) and the run's images are downsized to it; `train-classifier` without
    --resolution makes the same one, where `evaluate` and `check` look."""
    from acgan.evaluation.evaluator import store
    from acgan.rundir import RunDir
    monkeypatch.setattr(store, "MAX_RESOLUTION", 8)
    run_dir = tmp_path / "run"
    train_tiny(folder_data, run_dir)
    res = CliRunner().invoke(main, ["check", str(run_dir), "--per-class", "10"])
    assert res.exit_code == 0 and "it works at 8 px, the images downsized to it" in res.stderr, res.stderr
    folder = store.record_evaluator_dir(RunDir(run_dir).read())
    assert load_evaluator(folder).meta["resolution"] == 8
    res = CliRunner().invoke(main, ["train-classifier", "--dataset", "folder", "--data-dir", str(folder_data)])
    assert res.exit_code == 0 and f"already in {folder}" in res.output, res.output
    # at or below the cap nothing changes: a 16 px evaluator where the cap is 16
    monkeypatch.setattr(store, "MAX_RESOLUTION", 16)
    assert store.evaluator_resolution(16) == 16 and store.evaluator_resolution(32) == 16
    assert store.record_evaluator_dir(RunDir(run_dir).read()) != folder


def test_an_old_weak_default_evaluator_of_split_data_is_retrained(split_data, trained_evaluator, tmp_path,
                                                                    monkeypatch):
    """A default evaluator from before small data sets got enough steps (no `test_split` in its meta) that reads
    near chance is retrained where it is used; one that reads well, or a new one that reads weak, is kept."""
    from acgan.evaluation.evaluator.store import record_evaluator_dir
    from acgan.rundir import RunDir
    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    train_tiny(split_data, run_dir)
    folder = record_evaluator_dir(RunDir(run_dir).read())

    def install(**changes):
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(trained_evaluator, folder)
        meta = json.loads((folder / "evaluator.json").read_text())
        meta = {k: v for k, v in {**meta, **changes}.items() if v is not None}
        (folder / "evaluator.json").write_text(json.dumps(meta))

    def check() -> str:
        res = CliRunner().invoke(main, ["check", str(run_dir), "--per-class", "10"])
        assert res.exit_code == 0, res.output
        return res.stderr

    # 3 classes: weak below 1/3 + (2/3) / 4 = 50%
    install(test_split=None, test_accuracy=0.4, epochs=4)
    assert "recognises 40% of real test images after 4 epochs" in check()
    assert json.loads((folder / "evaluator.json").read_text())["test_split"] == "test"
    for kept in ({"test_split": None, "test_accuracy": 0.9}, {"test_accuracy": 0.4}):
        install(**kept)
        assert "retraining" not in check() and "no evaluator" not in check()
        assert json.loads((folder / "evaluator.json").read_text())["test_accuracy"] == kept["test_accuracy"]
