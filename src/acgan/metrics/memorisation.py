"""How near samples sit to real images: near enough to be real-looking at all (`near_real`), and so near the
training images that they copy them (`closer_than_real`, memorisation).

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


def near_real(fake: torch.Tensor, real: torch.Tensor, quantile: float = 0.95) -> float:
    """The share of samples [N, D] no farther from their nearest real image [M, D] than `quantile` of the real
    images are from their own nearest other real image: about `quantile` for samples as near real data as real
    images are, near 1 for copies of real images, 0 for samples nowhere near real data. Unlike precision, one real
    outlier with a wide neighbourhood cannot make far samples read as near."""
    d = torch.cdist(real.float(), real.float())
    d.fill_diagonal_(float("inf"))
    level = torch.quantile(d.min(dim=1).values, quantile)
    return (nearest_distance(fake, real) <= level).float().mean().item()


def closer_than_real(fake: torch.Tensor, real: torch.Tensor, train: torch.Tensor, quantile: float = 0.05) -> dict:
    """Features [N, D] of one class's samples, unseen real images and training images: {"share": the share of
    samples nearer to a training image than the test images' `quantile`, None when the "unseen" images sit on
    training images (data without a test split, whose real side is its training images), "level": that distance}."""
    level = torch.quantile(nearest_distance(real, train), quantile).item()
    share = (nearest_distance(fake, train) < level).float().mean().item() if level > 0 else None
    return {"share": share, "level": level}
