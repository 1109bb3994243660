"""Per-class diversity of a labelled image set: MS-SSIM of random same-class pairs, mean feature distance."""
from __future__ import annotations

import torch

from ..pixels import to_zero_one
from .ms_ssim import ms_ssim


def random_pairs(n: int, pairs: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`pairs` index pairs (i, j), i != j, drawn uniformly from n items."""
    i = torch.randint(0, n, (pairs,), generator=gen)
    j = (i + torch.randint(1, n, (pairs,), generator=gen)) % n
    return i, j


def class_ms_ssim(images: torch.Tensor, labels: torch.Tensor, num_classes: int, pairs: int = 100,
                  seed: int = 0) -> list[dict]:
    """[{mean, std}] per class over `pairs` random same-class pairs, for images in [-1, 1]; lower = more diverse."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for c in range(num_classes):
        x = to_zero_one(images[labels == c])
        if len(x) < 2:
            out.append({"mean": float("nan"), "std": float("nan")})
            continue
        i, j = random_pairs(len(x), pairs, gen)
        v = ms_ssim(x[i], x[j], data_range=1.0)
        out.append({"mean": v.mean().item(), "std": v.std().item()})
    return out


def distance_ratio(features: torch.Tensor, reference: torch.Tensor) -> float:
    """mean_pairwise_distance of `features` over that of `reference`; NaN when the reference's is 0 (features that
    do not vary at all say nothing about variety)."""
    ref = mean_pairwise_distance(reference)
    return mean_pairwise_distance(features) / ref if ref > 0 else float("nan")


def mean_pairwise_distance(features: torch.Tensor) -> float:
    """Mean Euclidean distance over all unordered pairs of rows."""
    n = len(features)
    d = torch.cdist(features.double(), features.double())
    return (d.sum() / (n * (n - 1))).item()
