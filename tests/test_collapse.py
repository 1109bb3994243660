"""The one collapse rule (metrics/collapse.py), with the evaluation's levels and the training monitor's."""
from acgan.evaluation.steps.class_diversity import FIXED_LEVELS, VALIDATED
from acgan.metrics.collapse import fired, verdict
from acgan.training.monitor import VERDICT_LEVELS

EVALUATION = {**FIXED_LEVELS, "intra_fid": 10.0, "ms_ssim": 0.5}


def test_each_measure_fires_on_its_own_side_of_its_level():
    row = {"recall": 0.1, "coverage": 0.3, "distance_ratio": 0.4, "ms_ssim": 0.6, "intra_fid": 9.0, "precision": 0}
    assert fired(row, EVALUATION) == ["distance_ratio", "ms_ssim", "recall"]  # precision has no collapse level
    at_the_levels = {"recall": 0.25, "coverage": 0.25, "distance_ratio": 0.5, "ms_ssim": 0.5, "intra_fid": 10.0}
    assert fired(at_the_levels, EVALUATION) == []  # strictly past the level, not on it
    assert fired(row, {**EVALUATION, "recall": None}) == ["distance_ratio", "ms_ssim"]  # no level, no vote


def test_collapsed_only_when_every_measured_voter_fires_and_the_samples_are_alike():
    low = {"recall": 0.1, "coverage": 0.1, "intra_fid": 50.0, "distance_ratio": 0.3}
    v = verdict(low, EVALUATION, VALIDATED)
    assert v == {"collapsed": True, "missed": True, "alike": True, "fired": ["distance_ratio", "intra_fid", "recall",
                                                                           "coverage"],
                 "validated_fired": ["recall", "coverage", "intra_fid"]}
    assert not verdict(dict(low, coverage=0.9), EVALUATION, VALIDATED)["collapsed"]
    assert verdict({"recall": 0.1, "coverage": 0.1}, EVALUATION, VALIDATED)["collapsed"]  # spread not measured
    assert not verdict({"distance_ratio": 0.1}, EVALUATION, VALIDATED)["collapsed"]  # no voter measured at all
    # far from real data while as spread out as it (an untrained G): missed, not collapsed
    apart = verdict(dict(low, distance_ratio=0.9), EVALUATION, VALIDATED)
    assert apart["missed"] and apart["alike"] is False and not apart["collapsed"]
    # MS-SSIM, where measured, decides alike before the distance ratio (the paper's rule)
    assert verdict(dict(low, distance_ratio=0.9, ms_ssim=0.8), EVALUATION, VALIDATED)["collapsed"]
    assert not verdict(dict(low, ms_ssim=0.2), EVALUATION, VALIDATED)["collapsed"]


def test_the_monitor_has_its_own_levels():
    row = {"recall": 0.4, "coverage": 0.7}  # low for 32 samples per class, not for the evaluation's 500
    assert verdict(row, VERDICT_LEVELS, tuple(VERDICT_LEVELS))["collapsed"]
    monitor = {**VERDICT_LEVELS, "ms_ssim": 0.5}  # the monitor's MS-SSIM level: real data's threshold
    assert verdict({**row, "ms_ssim": 0.6}, monitor, tuple(VERDICT_LEVELS))["collapsed"]
    assert not verdict({**row, "ms_ssim": 0.3}, monitor, tuple(VERDICT_LEVELS))["collapsed"]
    assert not verdict(row, EVALUATION, VALIDATED)["collapsed"]
