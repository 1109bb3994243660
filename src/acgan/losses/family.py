"""Fixes of AC-GAN's loss of intra-class variety, hinge source loss by default (formulas as in the papers and
PyTorch-StudioGAN's src/utils/losses.py; docs/models.md lists them all).

- acgan-mod (StudioGAN's ACGAN-Mod): D's class head learns from real images only.
    D: hinge + w CE(C(x_r), y_r)                      G: -s_f + w CE(C(G), y_f)
- tac (TAC-GAN, Gong et al. 2019): a twin head C_mi learns the class of generated images; G is pushed away from it.
    D: hinge + w [CE(C(x_r), y_r) + CE(C_mi(G), y_f)]  G: -s_f + w [CE(C(G), y_f) - CE(C_mi(G), y_f)]
- adc (ADC-GAN, Hou et al. 2022): one 2K-way head; a real image of class y is 2y, a generated one 2y + 1.
    D: hinge + w [CE(C(x_r), 2 y_r) + CE(C(G), 2 y_f + 1)]  G: -s_f + w [CE(C(G), 2 y_f) - CE(C(G), 2 y_f + 1)]
D's class head has K units for acgan-mod, 2K for tac ([C | C_mi]) and adc. `adversarial` picks hinge or bce.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch.nn import functional as F

from .adversarial import accuracy, d_source, g_source
from .base import Loss
from .registry import register


def _floats(out: tuple) -> tuple:
    """D's (source, class) logits in fp32: losses are scored in fp32 under bf16 autocast."""
    return out[0].float(), out[1].float()


@dataclass
class _Family(Loss):
    class_weight: float = 1.0
    adversarial: str = "hinge"

    @classmethod
    def from_config(cls, cfg):
        kind = "hinge" if cfg.adversarial == "auto" else cfg.adversarial
        return cls(cfg.class_loss_weight, kind)

    @classmethod
    def class_outputs(cls, num_classes: int) -> int:
        return 2 * num_classes

    def _out(self, prefix: str, source, cls, **stats) -> dict:
        return {"loss": source + self.class_weight * cls, f"{prefix}_source": source.detach(),
                f"{prefix}_class": cls.detach(), **stats}


@register("acgan-mod", "hinge; D's class head trained on real images only (StudioGAN's ACGAN-Mod)")
class ACGANModLoss(_Family):
    @classmethod
    def class_outputs(cls, num_classes: int) -> int:
        return num_classes

    def discriminator(self, real, fake, y_real, y_fake) -> dict:
        (src_r, cls_r), (src_f, cls_f) = _floats(real), _floats(fake)
        return self._out("d", d_source(src_r, src_f, self.adversarial),
                         F.cross_entropy(cls_r, y_real), acc_real=accuracy(cls_r, y_real),
                         acc_fake=accuracy(cls_f, y_fake))

    def generator(self, fake, y_fake) -> dict:
        src_f, cls_f = fake[0].float(), fake[1].float()
        return self._out("g", g_source(src_f, self.adversarial), F.cross_entropy(cls_f, y_fake))


@register("tac", "twin auxiliary classifier: a second head learns generated images' classes (TAC-GAN)")
class TACLoss(_Family):
    def discriminator(self, real, fake, y_real, y_fake) -> dict:
        (src_r, cls_r), (src_f, cls_f) = _floats(real), _floats(fake)
        k = cls_r.shape[1] // 2
        cls = F.cross_entropy(cls_r[:, :k], y_real) + F.cross_entropy(cls_f[:, k:], y_fake)
        return self._out("d", d_source(src_r, src_f, self.adversarial), cls,
                         acc_real=accuracy(cls_r[:, :k], y_real), acc_fake=accuracy(cls_f[:, :k], y_fake))

    def generator(self, fake, y_fake) -> dict:
        src_f, cls_f = fake[0].float(), fake[1].float()
        k = cls_f.shape[1] // 2
        cls = F.cross_entropy(cls_f[:, :k], y_fake) - F.cross_entropy(cls_f[:, k:], y_fake)
        return self._out("g", g_source(src_f, self.adversarial), cls)


@register("adc", "one 2K-way head telling real class y (2y) from generated class y (2y + 1) (ADC-GAN)")
class ADCLoss(_Family):
    def discriminator(self, real, fake, y_real, y_fake) -> dict:
        (src_r, cls_r), (src_f, cls_f) = _floats(real), _floats(fake)
        cls = F.cross_entropy(cls_r, 2 * y_real) + F.cross_entropy(cls_f, 2 * y_fake + 1)
        # accuracy over the K real-class units: what D thinks the class is
        return self._out("d", d_source(src_r, src_f, self.adversarial), cls,
                         acc_real=accuracy(cls_r[:, 0::2], y_real), acc_fake=accuracy(cls_f[:, 0::2], y_fake))

    def generator(self, fake, y_fake) -> dict:
        src_f, cls_f = fake[0].float(), fake[1].float()
        cls = F.cross_entropy(cls_f, 2 * y_fake) - F.cross_entropy(cls_f, 2 * y_fake + 1)
        return self._out("g", g_source(src_f, self.adversarial), cls)


@register("projection", "projection discriminator (Miyato & Koyama 2018): no classifier, D(x, y) = s(x) + e(y)^T h")
class ProjectionLoss(_Family):
    """D's class head is the projection: its logit for class y is e(y)^T h (+ a per-class bias), so
    D(x, y) = source logit + class logit of y, trained with the hinge (or BCE) loss alone; there is no CE term.
    d_class / g_class report the projection term's mean; acc_* are D's argmax over the projections."""

    @classmethod
    def class_outputs(cls, num_classes: int) -> int:
        return num_classes

    @staticmethod
    def _joint(out, y):
        src, cls = out[0].float(), out[1].float()
        proj = cls.gather(1, y[:, None]).squeeze(1)
        return src + proj, proj, cls

    def discriminator(self, real, fake, y_real, y_fake) -> dict:
        d_r, p_r, cls_r = self._joint(real, y_real)
        d_f, p_f, cls_f = self._joint(fake, y_fake)
        source = d_source(d_r, d_f, self.adversarial)
        return {"loss": source, "d_source": source.detach(), "d_class": (p_r.mean() - p_f.mean()).detach(),
                "acc_real": accuracy(cls_r, y_real), "acc_fake": accuracy(cls_f, y_fake)}

    def generator(self, fake, y_fake) -> dict:
        d_f, p_f, _ = self._joint(fake, y_fake)
        source = g_source(d_f, self.adversarial)
        return {"loss": source, "g_source": source.detach(), "g_class": p_f.mean().detach()}
