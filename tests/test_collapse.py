"""The one collapse rule (metrics/collapse.py), with the evaluation's levels and the training monitor's."""
from acgan.evaluation.steps.class_diversity import FIXED_LEVELS, VALIDATED
from acgan.metrics.collapse import FAR, fired, verdict
from acgan.training.monitor import VERDICT_LEVELS

EVALUATION = {**FIXED_LEVELS, "intra_fid": 10.0, "ms_ssim": 0.5}


def test_each_measure_fires_on_its_own_side_of_its_level():
    row = {"recall": 0.1, "coverage": 0.3, "distance_ratio": 0.4, "ms_ssim": 0.6, "intra_fid": 9.0, "precision": 0}
    assert fired(row, EVALUATION) == ["distance_ratio", "ms_ssim", "recall"]  # precision has no collapse level
    at_the_levels = {"recall": 0.25, "coverage": 0.25, "distance_ratio": 0.5, "ms_ssim": 0.5, "intra_fid": 10.0}
    assert fired(at_the_levels, EVALUATION) == []  # strictly past the level, not on it
    assert fired(row, {**EVALUATION, "recall": None}) == ["distance_ratio", "ms_ssim"]  # no level, no vote


def test_collapsed_only_when_every_measured_voter_fires_and_the_samples_sit_on_real_data():
    low = {"recall": 0.1, "coverage": 0.1, "intra_fid": 50.0, "distance_ratio": 0.9, "near": 0.8}
    v = verdict(low, EVALUATION, VALIDATED)
    assert v == {"collapsed": True, "missed": True, "far": False, "fired": ["intra_fid", "recall", "coverage"],
                 "validated_fired": ["recall", "coverage", "intra_fid"]}
    assert not verdict(dict(low, coverage=0.9), EVALUATION, VALIDATED)["collapsed"]
    assert verdict({"recall": 0.1, "coverage": 0.1}, EVALUATION, VALIDATED)["collapsed"]  # nearness not measured
    assert not verdict({"distance_ratio": 0.1}, EVALUATION, VALIDATED)["collapsed"]  # no voter measured at all
    # far from real data (an untrained G): missed, not collapsed; the level is strict
    away = verdict(dict(low, near=0.1), EVALUATION, VALIDATED)
    assert away["missed"] and away["far"] and not away["collapsed"]
    assert verdict(dict(low, near=FAR["near"]), EVALUATION, VALIDATED)["collapsed"]


def test_the_monitor_has_its_own_levels():
    row = {"recall": 0.4, "coverage": 0.7}  # low for 32 samples per class, not for the evaluation's 500
    assert verdict(row, VERDICT_LEVELS, tuple(VERDICT_LEVELS))["collapsed"]
    assert verdict({**row, "near": 0.9}, VERDICT_LEVELS, tuple(VERDICT_LEVELS))["collapsed"]
    assert not verdict({**row, "near": 0.0}, VERDICT_LEVELS, tuple(VERDICT_LEVELS))["collapsed"]
    assert not verdict(row, EVALUATION, VALIDATED)["collapsed"]


def test_the_monitor_calls_copies_collapsed_and_far_samples_not(tmp_path):
    """Two copies of real images a class (shapes at other places than the copies') collapse every class; samples
    nowhere near real data (an untrained generator's grey) miss it too, but far from it: no collapse."""
    import torch

    from acgan.config import TrainConfig
    from acgan.data import load_data
    from acgan.training.monitor import CollapseMonitor

    from .test_evaluate_any import write_shapes
    write_shapes(tmp_path / "shapes", 120, 0)
    data = load_data(TrainConfig(dataset="folder", data_dir=str(tmp_path / "shapes")), 16)
    monitor = CollapseMonitor(data.images, data.labels, 3, 8, per_class=32, pairs=20, seed=0)
    two = [data.images[data.labels == c][:2].float() / 127.5 - 1 for c in range(3)]

    class Generator:
        def __init__(self, images):
            self.images = images

        def sample(self, labels, z):
            return self.images(labels)
    copies = Generator(lambda labels: torch.stack([two[c][i % 2] for i, c in enumerate(labels.tolist())]))
    grey = Generator(lambda labels: torch.zeros(len(labels), 1, 16, 16) + 0.01 * torch.randn(len(labels), 1, 16, 16))
    stats, crossed = monitor.measure(copies, torch.no_grad())
    assert stats["classes_collapsed"] == crossed == [0, 1, 2]
    stats, crossed = monitor.measure(grey, torch.no_grad())
    assert stats["classes_collapsed"] == crossed == [] and max(stats["class_recall"]) < 0.5
