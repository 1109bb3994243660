"""An exponential moving average of G's weights, the generator that grids, sampling and evaluation use when on.

beta_t = min(decay, (1 + t) / (10 + t)): a warm-up ramp, so the average covers few steps early on and short runs
benefit (StudioGAN's fixed 0.9999 from step 1000 averages ~10k steps: useless for a 5-minute run). Buffers
(BatchNorm running statistics) are copied, not averaged: they are the live G's, estimated for other weights.
`standing_statistics` re-estimates them for the averaged weights (BigGAN's "standing statistics")."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    ramp = 10.0  # the ramp averages about the last t / 9 steps at step t

    def __init__(self, G: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(G).eval().requires_grad_(False)

    def beta(self, step: int) -> float:
        return min(self.decay, (1 + step) / (self.ramp + step))

    def weight(self, step: int) -> float:
        """How far step `step`'s update moves the average towards G: 1 - beta."""
        return 1 - self.beta(step)

    @torch.no_grad()
    def update(self, G: nn.Module, weight) -> None:
        """Move the average by `weight` (`weight(step)`; a 0-d tensor of it in a replayed step) towards G."""
        ema, live = list(self.model.parameters()), list(G.parameters())
        # a tensor weight goes as a list of it: as a Scalar it would be read back to the host (and a graph would
        # keep the value it read while recording)
        torch._foreach_lerp_(ema, live, [weight] * len(ema) if torch.is_tensor(weight) else weight)
        for b_ema, b in zip(self.model.buffers(), G.buffers()):
            b_ema.copy_(b)


@torch.no_grad()
def standing_statistics(G: nn.Module, num_classes: int, z_dim: int, batches: int, batch_size: int, seed: int,
                        device: torch.device) -> None:
    """Re-estimate G's BatchNorm running statistics as the plain average of the batch statistics of `batches`
    forward passes in train mode over fresh z and uniform labels (BigGAN-PyTorch's accumulate_standing_stats).
    The noise comes from its own generator seeded by `seed`, so the global random stream, and with it training
    and resume, are untouched. G is left in eval mode."""
    norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # None: a cumulative average over the passes, each batch weighing the same
    gen = torch.Generator().manual_seed(seed)
    G.train()
    try:
        for _ in range(batches):
            z = torch.randn(batch_size, z_dim, generator=gen).to(device)
            labels = torch.randint(0, num_classes, (batch_size,), generator=gen).to(device)
            G(z, labels)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        G.eval()
