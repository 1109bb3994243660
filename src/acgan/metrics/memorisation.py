"""Memorisation: are samples closer to the training images than unseen real images are?

Real test images of a class sit at some distance from their nearest training image of that class; a generator that
reproduces training images puts its samples much nearer. `closer_than_real` is the share of samples nearer to their
nearest training image than the `quantile` of the test images' own nearest distances: about `quantile` for samples
as new as test images, near 1 for copies. The paper's nearest-neighbour grids (section 4.5) show the same thing to
the eye."""
from __future__ import annotations

import torch


def nearest_distance(queries: torch.Tensor, pool: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Euclidean distance [Q] from each row of `queries` [Q, D] to its nearest row of `pool` [P, D]."""
    best = torch.full((len(queries),), float("inf"))
    for start in range(0, len(pool), chunk):
        best = torch.minimum(best, torch.cdist(queries.float(), pool[start:start + chunk].float()).min(dim=1).values)
    return best


def closer_than_real(fake: torch.Tensor, real: torch.Tensor, train: torch.Tensor, quantile: float = 0.05) -> dict:
    """Features [N, D] of one class's samples, unseen real images and training images: {"share": the share of
    samples nearer to a training image than the test images' `quantile`, "level": that distance}."""
    level = torch.quantile(nearest_distance(real, train), quantile).item()
    share = (nearest_distance(fake, train) < level).float().mean().item()
    return {"share": share, "level": level}
