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


def test_collapsed_only_when_every_measured_voter_fires():
    low = {"recall": 0.1, "coverage": 0.1, "intra_fid": 50.0, "distance_ratio": 0.9}
    v = verdict(low, EVALUATION, VALIDATED)
    assert v == {"collapsed": True, "fired": ["intra_fid", "recall", "coverage"],
                 "validated_fired": ["recall", "coverage", "intra_fid"]}
    assert not verdict(dict(low, coverage=0.9), EVALUATION, VALIDATED)["collapsed"]
    assert verdict({"recall": 0.1, "coverage": 0.1}, EVALUATION, VALIDATED)["collapsed"]  # intra_fid not measured
    assert not verdict({"distance_ratio": 0.1}, EVALUATION, VALIDATED)["collapsed"]  # no voter measured at all


def test_the_monitor_has_its_own_levels():
    row = {"recall": 0.4, "coverage": 0.7}  # low for 32 samples per class, not for the evaluation's 500
    assert verdict(row, VERDICT_LEVELS, tuple(VERDICT_LEVELS))["collapsed"]
    assert not verdict(row, EVALUATION, VALIDATED)["collapsed"]
