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


def test_pixel_domain_scores_match_first_principles():
    """The pixel-space FID / KID / precision-recall beside the evaluator's: FID from our tested formula, KID as the
    unbiased MMD^2 of the cubic kernel on the whole sets (one subset of every sample is the whole set in some order),
    precision and recall as our k-NN manifolds (k 3) compute them."""
    from acgan.evaluation.steps.scores import pixel_metrics
    from acgan.metrics.prdc import pixel_features, prdc

    gen = torch.Generator().manual_seed(4)
    real = torch.rand(120, 1, 28, 28, generator=gen) * 2 - 1
    fake = (real[:100] * 0.6 + 0.3 * torch.randn(100, 1, 28, 28, generator=gen)).clamp(-1, 1)
    f, r = pixel_features(fake).double(), pixel_features(real).double()
    got = pixel_metrics(pixel_features(fake), pixel_features(real), seed=0)
    assert got["samples"] == 100 and got["real_samples"] == 120 and got["kid_subset_size"] == 100
    assert math.isclose(got["fid"], fid_from_features(f, r), rel_tol=1e-6)

    kernel = lambda a, b: (a @ b.T / a.shape[1] + 1) ** 3  # noqa: E731
    n = 100
    # KID draws its subsets with its own RNG: compare on sets where any subset of size n is the whole set
    got_equal = pixel_metrics(pixel_features(fake), pixel_features(real[:n]), seed=0)
    r_sub = r[:n]
    kxx, kyy, kxy = kernel(f, f), kernel(r_sub, r_sub), kernel(f, r_sub)
    mmd = ((kxx.sum() - kxx.diag().sum()) / (n * (n - 1)) + (kyy.sum() - kyy.diag().sum()) / (n * (n - 1))
           - 2 * kxy.mean()).item()
    assert math.isclose(got_equal["kid"], mmd, rel_tol=1e-6) and got_equal["kid_std"] < 1e-9 * max(1.0, abs(mmd))
    ours = prdc(r.float(), f.float(), k=3)
    assert math.isclose(got["precision"], ours["precision"], abs_tol=1e-6)  # float32 fractions
    assert math.isclose(got["recall"], ours["recall"], abs_tol=1e-6)
