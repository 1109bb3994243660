"""resnet: the SNGAN / BigGAN 32-px family for 28-32 px images, 1 or 3 channels; one code for CPU and GPU sizes.

G: z -> Linear to (c, s, s), s = resolution / 2^n (n = 3 up-blocks at 32 px, 2 at 28) -> n residual up-blocks
(conditional BatchNorm whose gain and bias come from a shared class embedding of `embed_dim`, ReLU, nearest
upsampling, 3x3 convs, a 1x1 shortcut) -> BN, ReLU, 3x3 conv -> Tanh; c = 4 * g_width at every block (g_width 64
gives BigGAN-32's 256 channels; 16 is CPU-sized).
D: `resnet_d_blocks` residual down-blocks (the first two halve the size: 32 -> 8) of c = 4 * d_width channels,
ReLU, global sum pooling, then the usual Linear heads. Use with spectral norm (`spectral_norm: both`) and a hinge
loss, as the family does.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import DownBlock, SumPool, UpBlock
from .common import Discriminator, ModuleSampling
from .registry import ArchSpec, register


class ResNetGenerator(ModuleSampling, nn.Module):
    def __init__(self, num_classes: int, z_dim: int, channels: int, resolution: int, width: int, embed_dim: int):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.ups = 3 if resolution % 8 == 0 else 2
        self.start, c = resolution // 2 ** self.ups, 4 * width
        self.embed = nn.Embedding(num_classes, embed_dim)  # shared by every conditional BatchNorm
        self.fc = nn.Linear(z_dim, c * self.start * self.start)
        self.blocks = nn.ModuleList(UpBlock(c, c, embed_dim) for _ in range(self.ups))
        self.out = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, channels, 3, padding=1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        e = self.embed(labels)
        h = self.fc(z).view(-1, self.fc.out_features // self.start ** 2, self.start, self.start)
        for block in self.blocks:
            h = block(h, e)
        return self.out(h)


def resnet_discriminator(channels: int, resolution: int, class_outputs: int, width: int,
                         blocks: int) -> Discriminator:
    c = 4 * width
    layers = [DownBlock(channels if i == 0 else c, c, down=i < 2, first=i == 0) for i in range(blocks)]
    return Discriminator(nn.Sequential(*layers, SumPool()), c, class_outputs)


register(ArchSpec(
    "resnet", "SNGAN/BigGAN-style residual pair with conditional BatchNorm, 28-32 px (width: g_width, d_width)",
    lambda cfg, cond, c, r: ResNetGenerator(cond.num_classes, cfg.z_dim, c, r, cfg.g_width, cfg.embed_dim),
    lambda cfg, c, r, k: resnet_discriminator(c, r, k, cfg.d_width, cfg.resnet_d_blocks),
    default_resolution=lambda native: native if native % 4 == 0 else 32, divisor=4, reads=("resnet_d_blocks",)))
