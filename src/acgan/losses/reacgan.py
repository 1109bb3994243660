"""ReACGAN (Kang et al., NeurIPS 2021, arXiv 2111.01118): the class term is D2D-CE on unit-sphere features, which
keeps the classifier's gradients bounded early in training.

D's class output here is [f (P normalised features), s(f, v_1..K) (cosines to the class proxies)]: see
models.common.TwoHeads.add_proxies. For sample i of class y_i, with s_p = s(f_i, v_{y_i}):
    P_i = e^{min(s_p - m_p, 0) / tau},  N_ij = e^{max(s(f_i, f_j) - m_n, 0) / tau}
    L_i = -log( P_i / (P_i + sum_{j: y_j != y_i} N_ij) )
Same-class samples are left out of the negatives: the margins pull a sample to its proxy without pushing it from
its own class. D: hinge + w mean L over real images; G: -D(G) + w mean L over generated images.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .adversarial import accuracy, d_source, g_source
from .base import Loss
from .registry import register

PROJECTION_DIM = 512  # P, the paper's and StudioGAN's


def d2d_ce(cls_out: torch.Tensor, labels: torch.Tensor, pos_margin: float, neg_margin: float,
           temperature: float) -> torch.Tensor:
    """Mean D2D-CE over the batch, from D's class output [B, P + K]."""
    f, cosines = cls_out[:, :PROJECTION_DIM], cls_out[:, PROJECTION_DIM:]
    positive = (cosines.gather(1, labels[:, None]).squeeze(1) - pos_margin).clamp(max=0) / temperature
    negatives = (f @ f.T - neg_margin).clamp(min=0) / temperature
    other_class = labels[:, None] != labels[None, :]
    negatives = negatives.masked_fill(~other_class, float("-inf"))
    return (torch.logsumexp(torch.cat([positive[:, None], negatives], 1), 1) - positive).mean()


@register("reacgan", "D2D-CE on unit-sphere features and class proxies, hinge (ReACGAN)")
@dataclass
class ReACGANLoss(Loss):
    class_weight: float = 0.5
    adversarial: str = "hinge"
    pos_margin: float = 0.98
    neg_margin: float = 0.02
    temperature: float = 0.5
    class_proxies = True

    @classmethod
    def from_config(cls, cfg) -> "ReACGANLoss":
        # ReACGAN's own lambda is 0.5: its presets set class_loss_weight, whose default is the paper's 1.0
        return cls(cfg.class_loss_weight, "hinge" if cfg.adversarial == "auto" else cfg.adversarial)

    @classmethod
    def class_outputs(cls, num_classes: int) -> int:
        return PROJECTION_DIM

    def _class_term(self, cls_out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return d2d_ce(cls_out.float(), labels, self.pos_margin, self.neg_margin, self.temperature)

    def discriminator(self, real, fake, y_real, y_fake) -> dict:
        (src_r, cls_r), (src_f, cls_f) = real, fake
        source = d_source(src_r.float(), src_f.float(), self.adversarial)
        cls = self._class_term(cls_r, y_real)
        return {"loss": source + self.class_weight * cls, "d_source": source.detach(), "d_class": cls.detach(),
                "acc_real": accuracy(cls_r[:, PROJECTION_DIM:].float(), y_real),
                "acc_fake": accuracy(cls_f[:, PROJECTION_DIM:].float(), y_fake)}

    def generator(self, fake, y_fake) -> dict:
        src_f, cls_f = fake
        source = g_source(src_f.float(), self.adversarial)
        cls = self._class_term(cls_f, y_fake)
        return {"loss": source + self.class_weight * cls, "g_source": source.detach(), "g_class": cls.detach()}
