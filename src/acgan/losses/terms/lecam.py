"""LeCam's term for D (Tseng et al., "Regularizing Generative Adversarial Networks under Limited Data", CVPR 2021).

D's source logits on real images are pulled down to the running mean of its logits on generated images, and those
on generated images up to the running mean on real ones, each one-sided and squared: it bounds how far apart D
holds the two, which under limited data keeps D from memorising its training images. The running means are
debiased exponential averages (decay 0.99), as in the authors' code (google/lecam-gan); they are part of the
training state, so that a resumed run goes on as an unbroken one.

Config key `lecam`: the term's weight in D's loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Peers, StepView, Term, register


@register("lecam", "d", "LeCam's term for D: its logits on real and generated images held near each other's running "
                         "means (Tseng et al. 2021)")
class LeCam(Term):
    decay = 0.99

    def __init__(self, weight: float, device: torch.device, peers: Peers = Peers()):
        super().__init__(weight, device, peers)
        self.sums = torch.zeros(2, device=device)   # undebiased running means: real, generated
        self.count = torch.zeros((), device=device)  # updates so far, for the debiasing

    def anchors(self) -> torch.Tensor:
        """The debiased running means of D's source logits (real, generated)."""
        return self.sums / (1 - self.decay ** self.count)

    def __call__(self, step: StepView) -> tuple[torch.Tensor, torch.Tensor]:
        """Every process keeps the running means of the whole batch (averaged over the processes)."""
        real, fake = step.d_real[0].float(), step.d_fake[0].float()
        means = self.peers.average(torch.stack([real.detach().mean(), fake.detach().mean()]))
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
