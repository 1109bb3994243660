"""IMLE's term (Li & Malik, "Implicit Maximum Likelihood Estimation", 2018), for G's step, within the batch.

Each real image of the batch pulls the generated image of its class nearest to it towards itself (mean squared
difference at half resolution). A GAN's loss says nothing about real images that no sample is near, which is how a
class loses its rarer kinds; this term is paid exactly there, and only by the sample that is closest already.
Half resolution: matching the coarse layout (shape, brightness) is what recovers a sub-population.

Config key `imle`: the term's weight in G's loss.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .base import StepView, Term, register


def _rows(images: torch.Tensor, pool: int) -> torch.Tensor:
    return F.avg_pool2d(images.float(), pool).flatten(1)


def _distances(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return torch.cdist(real, fake).square() / fake.shape[1]


def _nearest(d: torch.Tensor, real_labels: torch.Tensor, fake_labels: torch.Tensor):
    """(distance, index) of each real row's nearest same-class sample; inf where its class has none."""
    return d.masked_fill(real_labels[:, None] != fake_labels[None, :], float("inf")).min(dim=1)


def nearest_real(fake: torch.Tensor, fake_labels: torch.Tensor, real: torch.Tensor, real_labels: torch.Tensor,
                 pool: int = 2) -> torch.Tensor:
    """Mean, over the real images that have a generated image of their class in the batch, of the mean squared
    difference (after `pool` x `pool` average pooling) to the nearest such image; 0 if none has."""
    nearest = _nearest(_distances(_rows(real, pool), _rows(fake, pool)), real_labels, fake_labels).values
    found = torch.isfinite(nearest)  # a mask, not a selection: its shape is fixed, so a CUDA graph can record it
    return torch.where(found, nearest, 0.0).sum() / found.sum().clamp(min=1)


def nearest_real_shared(fake: torch.Tensor, fake_labels: torch.Tensor, real: torch.Tensor, real_labels: torch.Tensor,
                        gather: Callable[[torch.Tensor], torch.Tensor], rank: int, world: int,
                        pool: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """The same term when the batch is split over `world` processes, each holding its slice in rank order:
    (this process's part, the term's value). Nearest samples are found in the whole batch (`gather` concatenates a
    tensor over the processes, in rank order); each process pays for the pairs whose sample it generated, scaled so
    that averaging the processes' gradients (DDP) gives the gradient of the term on the whole batch."""
    f = _rows(fake, pool)
    real_all, real_labels_all = gather(_rows(real, pool)), gather(real_labels)
    with torch.no_grad():
        nearest, index = _nearest(_distances(real_all, gather(f)), real_labels_all, gather(fake_labels))
    found = torch.isfinite(nearest)
    start = rank * len(f)
    mine = found & (index >= start) & (index < start + len(f))
    pairs = (real_all[mine] - f[index[mine] - start]).square().mean(1)
    part = pairs.sum() * world / found.sum().clamp(min=1)
    return part, torch.nan_to_num(nearest[found].mean())


@register("imle", "g", "IMLE's term for G: each real image pulls the nearest sample of its class (Li & Malik 2018)")
class IMLE(Term):
    def __call__(self, step: StepView) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.peers
        if p.world == 1:
            term = nearest_real(step.fake, step.fake_labels, step.real, step.real_labels)
            return self.weight * term, term.detach()
        part, value = nearest_real_shared(step.fake, step.fake_labels, step.real, step.real_labels, p.gather, p.rank,
                                          p.world)
        return self.weight * part, value
