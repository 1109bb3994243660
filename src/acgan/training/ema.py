"""An exponential moving average of G's weights, the generator that grids, sampling and evaluation use when on.

beta_t = min(decay, (1 + t) / (10 + t)): a warm-up ramp, so the average covers few steps early on and short runs
benefit (StudioGAN's fixed 0.9999 from step 1000 averages ~10k steps: useless for a 5-minute run). Buffers
(BatchNorm running statistics) are copied, not averaged."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, G: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(G).eval().requires_grad_(False)

    def beta(self, step: int) -> float:
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, G: nn.Module, step: int) -> None:
        beta = self.beta(step)
        ema, live = list(self.model.parameters()), list(G.parameters())
        torch._foreach_lerp_(ema, live, 1 - beta)
        for b_ema, b in zip(self.model.buffers(), G.buffers()):
            b_ema.copy_(b)
