"""The AC-GAN objective on logits (Odena et al. 2017, eq. 2-3).

L_S = E[log P(S=real | x_real)] + E[log P(S=fake | x_fake)]
L_C = E[log P(C=c | x_real)] + E[log P(C=c | x_fake)]
D maximises L_S + L_C: its class head learns from real AND generated images.
G maximises L_C - L_S, with the source term in the usual non-saturating form (-log D(G(z)) instead of
log(1 - D(G(z)))). Both are written here as losses to minimise; `class_weight` scales L_C for both players.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from .adversarial import accuracy, d_source, g_source
from .base import Loss
from .registry import register


@register("acgan", "the paper's objective: D's class head on real and generated images, BCE source loss")
@dataclass
class ACGANLoss(Loss):
    class_weight: float = 1.0
    adversarial: str = "bce"  # the paper's; "hinge" swaps the source terms only

    @classmethod
    def from_config(cls, cfg) -> "ACGANLoss":
        return cls(cfg.class_loss_weight, "bce" if cfg.adversarial == "auto" else cfg.adversarial)

    def discriminator(self, real: tuple, fake: tuple, y_real: torch.Tensor, y_fake: torch.Tensor) -> dict:
        """-(L_S + w L_C) for D, from D's outputs on a real and a generated batch."""
        (src_r, cls_r), (src_f, cls_f) = real, fake
        src_r, cls_r, src_f, cls_f = src_r.float(), cls_r.float(), src_f.float(), cls_f.float()
        source = d_source(src_r, src_f, self.adversarial)
        cls = F.cross_entropy(cls_r, y_real) + F.cross_entropy(cls_f, y_fake)
        return {"loss": source + self.class_weight * cls, "d_source": source.detach(), "d_class": cls.detach(),
                "acc_real": accuracy(cls_r, y_real), "acc_fake": accuracy(cls_f, y_fake)}

    def generator(self, fake: tuple, y_fake: torch.Tensor) -> dict:
        """-(L_C - L_S) for G, non-saturating: BCE(D_S(G(z)), real) + w CE(D_C(G(z)), c)."""
        src_f, cls_f = fake[0].float(), fake[1].float()
        source = g_source(src_f, self.adversarial)
        cls = F.cross_entropy(cls_f, y_fake)
        return {"loss": source + self.class_weight * cls, "g_source": source.detach(), "g_class": cls.detach()}
