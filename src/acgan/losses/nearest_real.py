"""IMLE's term (Li & Malik, "Implicit Maximum Likelihood Estimation", 2018), for G's step, within the batch.

Each real image of the batch pulls the generated image of its class nearest to it towards itself (mean squared
difference at half resolution). A GAN's loss says nothing about real images that no sample is near, which is how a
class loses its rarer kinds; this term is paid exactly there, and only by the sample that is closest already.
Half resolution: matching the coarse layout (shape, brightness) is what recovers a sub-population, and a pull on
every pixel blurs sooner (docs/results/family.md).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def nearest_real(fake: torch.Tensor, fake_labels: torch.Tensor, real: torch.Tensor, real_labels: torch.Tensor,
                 pool: int = 2) -> torch.Tensor:
    """Mean, over the real images that have a generated image of their class in the batch, of the mean squared
    difference (after `pool` x `pool` average pooling) to the nearest such image."""
    f = F.avg_pool2d(fake.float(), pool).flatten(1)
    r = F.avg_pool2d(real.float(), pool).flatten(1)
    d = torch.cdist(r, f).square() / f.shape[1]
    d = d.masked_fill(real_labels[:, None] != fake_labels[None, :], float("inf"))
    nearest = d.min(dim=1).values
    return nearest[torch.isfinite(nearest)].mean()
