"""Frechet distance between Gaussian fits of two feature sets, with a stable matrix square root.

tr(sqrt(S1 S2)) is the sum of the square roots of the eigenvalues of S1 S2 (real parts; tiny negative or complex
eigenvalues from round-off contribute 0), which avoids scipy.linalg.sqrtm's failures on near-singular products.
FID is biased at small n and only comparable at equal n, network and resize; below about 2,000 samples a 2048-d
covariance is rank-deficient.

A reference core: the evaluation pipeline computes FID through torch-fidelity (evaluation/steps/scores.py); this
function is the independent computation the tests compare it with, and the API for features of your own.
"""
from __future__ import annotations

import torch


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean [D] and unbiased covariance [D, D] in float64."""
    f = features.double()
    return f.mean(0), torch.cov(f.T)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    diff = mu1 - mu2
    eig = torch.linalg.eigvals(sigma1 @ sigma2)
    tr_covmean = torch.sqrt(eig.to(torch.complex128)).real.sum()
    return float(diff @ diff + torch.trace(sigma1) + torch.trace(sigma2) - 2 * tr_covmean)


def fid_from_features(f1: torch.Tensor, f2: torch.Tensor) -> float:
    """FID between two feature sets [N1, D] and [N2, D]."""
    if f1.dim() != 2 or f2.dim() != 2 or f1.shape[1] != f2.shape[1]:
        raise ValueError(f"fid_from_features needs [N, D] features of one width, got {tuple(f1.shape)}, "
                         f"{tuple(f2.shape)}")
    return frechet_distance(*feature_statistics(f1), *feature_statistics(f2))
