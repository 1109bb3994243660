"""Inception Score and FID against first principles and against torch-fidelity's own feature-level functions."""
import math

import pytest
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric

from acgan.metrics import fid_from_features, inception_score


def test_is_of_identical_predictions_is_one():
    logits = torch.tensor([[3.0, 1.0, -2.0]]).repeat(100, 1)
    mean, std = inception_score(logits, splits=10)
    assert math.isclose(mean, 1.0, abs_tol=1e-9) and std < 1e-9


def test_is_of_k_equally_used_one_hot_predictions_is_k():
    k = 7
    logits = torch.full((70 * k, k), -1e4)
    logits[torch.arange(70 * k), torch.arange(70 * k) % k] = 1e4
    mean, _ = inception_score(logits, splits=1)
    assert math.isclose(mean, k, rel_tol=1e-9)


def test_is_matches_torch_fidelity():
    logits = torch.randn(1000, 10, generator=torch.Generator().manual_seed(0)) * 3
    ref = isc_features_to_metric(logits, splits=10, shuffle=True, rng_seed=2020)
    mean, std = inception_score(logits, splits=10, shuffle_seed=2020)
    assert math.isclose(mean, ref["inception_score_mean"], rel_tol=1e-9)
    assert math.isclose(std, ref["inception_score_std"], rel_tol=1e-9)


def test_fid_of_identical_features_is_zero():
    f = torch.randn(500, 16, generator=torch.Generator().manual_seed(1))
    assert abs(fid_from_features(f, f)) < 1e-6


def test_fid_of_shifted_gaussians_is_the_squared_shift():
    gen = torch.Generator().manual_seed(2)
    f = torch.randn(4000, 8, generator=gen, dtype=torch.float64)
    assert math.isclose(fid_from_features(f, f + 0.5), 8 * 0.25, rel_tol=1e-9)  # same covariance, mean moved


@pytest.mark.parametrize("dim,n", [(16, 300), (64, 50)])  # 64-d from 50 samples: rank-deficient covariances
def test_fid_matches_torch_fidelity(dim, n):
    gen = torch.Generator().manual_seed(3)
    f1 = torch.randn(n, dim, generator=gen)
    f2 = torch.randn(n, dim, generator=gen) * 1.3 + 0.2
    ref = fid_statistics_to_metric(fid_features_to_statistics(f1.double()), fid_features_to_statistics(f2.double()),
                                   verbose=False)["frechet_inception_distance"]
    assert math.isclose(fid_from_features(f1, f2), ref, rel_tol=1e-6)
