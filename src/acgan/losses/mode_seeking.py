"""The mode-seeking term of MSGAN (Mao et al., "Mode Seeking Generative Adversarial Networks for Diverse Image
Synthesis", CVPR 2019), for G's step.

Two images of one class drawn from noise z1 and z2 should differ in proportion to how far apart their noise is;
G minimises 1 / (d_I / d_z + eps) with d_I = mean |G(z1, y) - G(z2, y)| and d_z = mean |z1 - z2|, means over the
pairs (the paper's code takes them over the whole batch). A G that maps different noise to the same image pays
for it, which counters the dropping of a class's rarer kinds that a class loss encourages.
"""
from __future__ import annotations

import torch

EPS = 1e-5


def mode_seeking(images: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(the term, the ratio d_I / d_z) for a batch whose rows 2i and 2i + 1 share a class."""
    d_images = (images[0::2].float() - images[1::2].float()).abs().mean()
    d_noise = (z[0::2] - z[1::2]).abs().mean()
    ratio = d_images / d_noise
    return 1.0 / (ratio + EPS), ratio.detach()
