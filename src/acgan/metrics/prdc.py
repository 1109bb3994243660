"""Precision and recall (Kynkaanniemi et al. 2019) and density and coverage (Naeem et al. 2020) on feature sets.

Each real (fake) point owns a ball whose radius is the distance to its k-th nearest other real (fake) point.
precision: share of fakes inside some real ball; recall: share of reals inside some fake ball;
density: mean count of real balls holding a fake, over k; coverage: share of real balls holding at least one fake.
Strict "<" as the authors' code (clovaai/generative-evaluation-prdc); distances in float64.
"""
from __future__ import annotations

import torch

from ..pixels import to_unit


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row ([N]); needs N > k."""
    d = torch.cdist(features, features)
    return d.kthvalue(k + 1, dim=1).values  # the 1st smallest is the row itself, at distance 0


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> dict:
    """{precision, recall, density, coverage} of `fake` [F, D] against `real` [R, D] with k-NN balls."""
    if len(real) <= k or len(fake) <= k:
        raise ValueError(f"prdc needs more than k={k} real and fake points, got {len(real)} and {len(fake)}")
    real, fake = real.double(), fake.double()
    r_real, r_fake = knn_radii(real, k), knn_radii(fake, k)
    d = torch.cdist(real, fake)  # [R, F]
    inside_real = d < r_real[:, None]
    return {"precision": inside_real.any(0).double().mean().item(),
            "recall": (d < r_fake[None, :]).any(1).double().mean().item(),
            "density": (inside_real.sum(0).double().mean() / k).item(),
            "coverage": (d.min(1).values < r_real).double().mean().item()}


PIXEL_SIZE = 14  # px: the pixel space of the variety figures, the domain scores beside the evaluator and the monitor


def pixel_features(images: torch.Tensor, size: int = PIXEL_SIZE) -> torch.Tensor:
    """Images in [-1, 1] (or uint8 ones, converted a chunk at a time) downsampled (antialiased) to `size` px and
    flattened: a feature space that needs no network."""
    from torchvision.transforms.v2 import functional as TF
    if images.dtype == torch.uint8:
        return torch.cat([pixel_features(to_unit(chunk), size) for chunk in images.split(500)])
    return TF.resize(images.float(), [size, size], antialias=True).flatten(1)
