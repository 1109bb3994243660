"""The verdict on generators of known kind: an untrained G is not learnt, one that repeats k images a class is
collapsed, one that returns training images has memorised, and unseen real images are good; then the rule's parts
by hand, and what the report and the command line say first."""
import json

import pytest
import torch
from click.testing import CliRunner

import acgan
from acgan.cli import main
from acgan.config import TrainConfig
from acgan.data import load_data
from acgan.evaluation.outputs.report import build_report
from acgan.evaluation.steps.verdict import class_verdict, model_verdict, next_step
from acgan.metrics.memorisation import closer_than_real, nearest_distance
from acgan.models import build_models

from .test_evaluate_any import write_shapes

NAMES = ["square", "bar", "column"]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """Three classes of shapes with variety inside each, and an evaluator of them."""
    root = tmp_path_factory.mktemp("verdict")
    write_shapes(root / "data" / "train", 200, 0)
    write_shapes(root / "data" / "test", 100, 1)
    res = CliRunner().invoke(main, ["train-classifier", "--dataset", "folder", "--data-dir", str(root / "data"),
                                    "--epochs", "5", "--out", str(root / "ev"), "--quiet"])
    assert res.exit_code == 0, res.output
    return root


def pools(data_dir, split):
    d = load_data(TrainConfig(dataset="folder", data_dir=str(data_dir)), 16, split=split)
    return [d.images[d.labels == c].float() / 127.5 - 1 for c in range(3)]


def test_generators_of_known_kind_get_their_word(shapes, tmp_path):
    train, test = pools(shapes / "data", "train"), pools(shapes / "data", "test")
    torch.manual_seed(0)
    untrained = build_models(TrainConfig(g_width=16, z_dim=8), 1, 16, 3)[0].eval()

    def pick(pool, z, k=None):  # z chooses the image, so each sample is one image of the pool
        i = (z[:, 0].abs() * 1000).long() % (k or len(pool))
        return pool[i]

    def jitter(x, z):  # two images a class, each copy lightly noised (no two alike to the pixel)
        return (x + 0.04 * torch.randn(x.shape, generator=torch.Generator().manual_seed(int(z[0, 0] * 1e6)))).clamp(
            -1, 1)

    generators = {
        "not learnt": lambda y, z: untrained(z, y),
        "collapsed": lambda y, z: jitter(torch.cat([pick(test[c], z[y == c], k=2) for c in range(3)])[torch.argsort(
            torch.argsort(y, stable=True))], z),
        "memorised": lambda y, z: torch.stack([train[c][int(abs(r[0]) * 1000) % len(train[c])]
                                               for c, r in zip(y.tolist(), z)]),
        "good": lambda y, z: torch.stack([test[c][int(abs(r[0]) * 1000) % len(test[c])]
                                          for c, r in zip(y.tolist(), z)]),
    }
    data = {"dataset": "folder", "data_dir": str(shapes / "data")}
    options = dict(z_dim=8, evaluator=str(shapes / "ev"), per_class=100, real_per_class=100, pairs=20,
                   log=lambda msg: None)
    found = {}
    for kind, G in generators.items():
        m = acgan.evaluate(G, data, tmp_path / kind.replace(" ", "-"), **options)
        found[kind] = m["verdict"]
        assert json.loads((tmp_path / kind.replace(" ", "-") / "metrics.json").read_text())["verdict"]["model"] \
            == m["verdict"]["model"]
    for kind, v in found.items():
        assert v["model"] == kind, (kind, v["per_class"], v["evidence"])
    assert list(found["good"]["per_class"].values()) == ["good"] * 3
    assert list(found["memorised"]["per_class"].values()) == ["memorised"] * 3
    assert list(found["collapsed"]["per_class"].values()) == ["collapsed"] * 3
    assert found["memorised"]["memorised_share"][0] > 0.9 and found["good"]["memorised_share"][0] < 0.2
    # the report opens with the diagnosis, chance and real data's level, and the next step; the paper's summary
    # figures, which would read as success here, are left out and say why
    report = build_report(tmp_path / "not-learnt")
    opening = report.split("</h1>", 1)[1]
    assert opening.startswith("<p class=verdict><b>Verdict: not learnt"), opening[:200]
    assert "chance 33.3%, real test images 100.0%" in opening[:400] and "<b>Next</b>: train longer" in opening
    assert "(paper: 84.7%)" not in report and "summary figure here is left out" in report
    assert "(paper: 84.7%)" in build_report(tmp_path / "good")
    res = CliRunner().invoke(main, ["report", str(tmp_path / "good")])
    assert res.exit_code == 0, res.output


def test_class_verdict_by_hand():
    alike = {"missed": True, "far": False, "near": 0.9, "collapsed": True, "validated_fired": ["recall", "coverage"]}
    apart = {"missed": True, "far": True, "near": 0.0, "collapsed": False, "validated_fired": ["recall", "coverage"]}
    fine = {"missed": False, "far": False, "near": 0.9, "collapsed": False, "validated_fired": []}
    # 26 classes: chance 3.8%; real 90%: a quarter of the way from one to the other is 25.4%
    assert class_verdict(0.044, 0.90, 1 / 26, fine, 0.0)[0] == "not learnt"
    assert class_verdict(0.25, 0.90, 1 / 26, fine, 0.0)[0] == "not learnt"
    assert class_verdict(0.26, 0.90, 1 / 26, fine, 0.0)[0] == "good"
    assert class_verdict(0.95, 0.90, 1 / 26, apart, 0.0)[0] == "not learnt"  # far from real data
    assert class_verdict(0.95, 0.90, 1 / 26, alike, 1.0)[0] == "collapsed"   # before memorised
    assert class_verdict(0.95, 0.90, 1 / 26, fine, 0.6)[0] == "memorised"
    assert class_verdict(0.95, 0.90, 1 / 26, fine, 0.5)[0] == "good"
    word, why = class_verdict(0.044, 0.90, 1 / 26, None, None)
    assert "chance 4%" in why and "real 90%" in why
    assert model_verdict(["good", "good"]) == "good"
    assert model_verdict(["good", "collapsed", "collapsed", "not learnt"]) == "collapsed"
    assert model_verdict(["memorised", "not learnt"]) == "not learnt"  # a tie: the order of attention
    words = {"A": "not learnt", "B": "good"}
    assert "stopped at step 185 of its 2,000 (9%)" in next_step("not learnt", words, (185, 2000), [690, 690],
                                                                ["A", "B"])
    assert "more training images for A (1)" in next_step("not learnt", words, (2000, 2000), [1, 690], ["A", "B"])


def test_closer_than_real_against_an_independent_computation():
    gen = torch.Generator().manual_seed(0)
    train, real = torch.randn(50, 6, generator=gen), torch.randn(40, 6, generator=gen)
    fake = torch.cat([train[:10] + 1e-3, torch.randn(30, 6, generator=gen)])
    by_hand = torch.tensor([min(float((q - t).norm()) for t in train) for q in real])
    assert torch.allclose(nearest_distance(real, train, chunk=7), by_hand, atol=1e-5)
    level = float(torch.quantile(by_hand, 0.05))
    share = sum(min(float((q - t).norm()) for t in train) < level for q in fake) / len(fake)
    out = closer_than_real(fake, real, train, 0.05)
    assert out["level"] == pytest.approx(level, abs=1e-5) and out["share"] == pytest.approx(share)
    assert out["share"] >= 10 / 40  # the ten near-copies at least
