"""Precision/recall/density/coverage against the authors' reference package (prdc), and per-class FID."""
import numpy as np
import pytest
import torch
from prdc import compute_prdc

from acgan.metrics import fid_from_features
from acgan.metrics.prdc import knn_radii, prdc


@pytest.mark.parametrize("k,shift", [(3, 0.0), (5, 0.5), (5, 2.0)])
def test_prdc_matches_the_reference(k, shift):
    gen = torch.Generator().manual_seed(k)
    real = torch.randn(300, 16, generator=gen, dtype=torch.float64)
    fake = torch.randn(200, 16, generator=gen, dtype=torch.float64) * 0.7 + shift
    ref = compute_prdc(real.numpy(), fake.numpy(), nearest_k=k)
    ours = prdc(real, fake, k=k)
    for key in ("precision", "recall", "density", "coverage"):
        assert ours[key] == pytest.approx(float(ref[key]), abs=1e-12), key


def test_prdc_of_a_copy_and_of_one_point():
    real = torch.randn(100, 8, generator=torch.Generator().manual_seed(1))
    same = prdc(real, real.clone(), k=5)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0 and same["density"] == pytest.approx(1.0)
    one = prdc(real, real[:1].repeat(50, 1) + 1e-6 * torch.randn(50, 8), k=5)  # one mode, repeated
    assert one["recall"] <= 0.05 and one["coverage"] <= 0.1


def test_knn_radii_excludes_the_point_itself():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert knn_radii(x, 1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(x, 2).tolist() == [3.0, 2.0, 3.0, 6.0]


def test_prdc_needs_more_points_than_k():
    with pytest.raises(ValueError, match="more than k=5"):
        prdc(torch.zeros(5, 2), torch.zeros(9, 2), k=5)


def test_per_class_fid_of_shifted_gaussians():
    gen = np.random.default_rng(0)
    a = torch.from_numpy(gen.normal(size=(4000, 4)))
    b = torch.from_numpy(gen.normal(size=(4000, 4)) + np.array([1.0, 0, 0, 0]))
    assert fid_from_features(a, b) == pytest.approx(1.0, abs=0.1)  # |mu1 - mu2|^2 with equal covariances
