"""LeCam's term for D (Tseng et al., "Regularizing Generative Adversarial Networks under Limited Data", CVPR 2021).

D's source logits on real images are pulled down to the running mean of its logits on generated images, and those
on generated images up to the running mean on real ones, each one-sided and squared: it bounds how far apart D
holds the two, which under limited data keeps D from memorising its training images. The running means are
debiased exponential averages (decay 0.99), as in the authors' code (google/lecam-gan); they are part of the
training state, so that a resumed run goes on as an unbroken one.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


class LeCam:
    def __init__(self, weight: float, device, decay: float = 0.99):
        self.weight, self.decay = weight, decay
        self.sums = torch.zeros(2, device=device)   # undebiased running means: real, generated
        self.count = torch.zeros((), device=device)  # updates so far, for the debiasing

    def anchors(self) -> torch.Tensor:
        """The debiased running means of D's source logits (real, generated)."""
        return self.sums / (1 - self.decay ** self.count)

    def __call__(self, real_logits: torch.Tensor, fake_logits: torch.Tensor,
                 average: Callable[[torch.Tensor], torch.Tensor] = lambda t: t) -> tuple[torch.Tensor, torch.Tensor]:
        """(the weighted term for D's loss, its unweighted value). `average` means a tensor over the processes
        under torchrun, so that every process keeps the running means of the whole batch."""
        real, fake = real_logits.float(), fake_logits.float()
        means = average(torch.stack([real.detach().mean(), fake.detach().mean()]))
        self.sums.mul_(self.decay).add_(means, alpha=1 - self.decay)
        self.count += 1
        anchor_real, anchor_fake = self.anchors()
        term = F.relu(real - anchor_fake).square().mean() + F.relu(anchor_real - fake).square().mean()
        return self.weight * term, term.detach()

    def state_dict(self) -> dict:
        return {"sums": self.sums.clone(), "count": self.count.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.sums.copy_(state["sums"])
        self.count.copy_(state["count"])
