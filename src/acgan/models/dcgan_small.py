"""dcgan-small: a fast DCGAN-style pair for 28-32 px images and CPU demos (1 or 3 channels).

G: [z ; class] -> Linear 2w x s x s (BN, ReLU), s = resolution / 4 -> tconv4 s2 w (BN, ReLU) -> tconv4 s2 C (Tanh).
With `g_class_bn`, both BatchNorms are per channel and take their gain and bias from a class embedding (SNGAN's and
BigGAN's conditional BatchNorm): the class then acts at every layer, not only through G's input, which is what lets
it show on CIFAR-10 (docs/results/family.md, "cifar-cpu").
D: conv4 s2 w (LeakyReLU) -> conv4 s2 2w (BN, LeakyReLU) -> Linear -> 1 + K; dropout and activation noise as paper.
D keeps its BatchNorm even beside spectral norm (SNGAN's D has none): without it G's samples gathered near the middle
of each class and the weakest class kept about half the variety (docs/results/family.md, "Tried and not
adopted").
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import ConditionalBatchNorm
from .common import ClassConditioning, Discriminator, Generator, d_block, g_up
from .registry import ArchSpec, register

CLASS_EMBED = 64  # dimensions of the class embedding behind the conditional BatchNorms


def dcgan_small_generator(cond: ClassConditioning, z_dim: int, channels: int, resolution: int,
                          width: int, class_bn: bool = False) -> Generator:
    if class_bn:
        return ClassBNGenerator(cond, z_dim, channels, resolution, width)
    body = nn.Sequential(*g_up(2 * width, width, kernel=4), *g_up(width, channels, kernel=4, last=True))
    return Generator(cond, z_dim, 2 * width, resolution // 4, body, linear_bn=True)


class ClassBNGenerator(Generator):
    """dcgan-small's G with class-conditional BatchNorms (the input keeps its class code too)."""

    def __init__(self, cond: ClassConditioning, z_dim: int, channels: int, resolution: int, width: int):
        body = nn.Sequential(nn.ConvTranspose2d(2 * width, width, 4, 2, padding=1, bias=False),
                             nn.ConvTranspose2d(width, channels, 4, 2, padding=1))
        super().__init__(cond, z_dim, 2 * width, resolution // 4, body, linear_bn=True)
        self.fc_act = nn.Identity()  # the Linear's BatchNorm is bn_in below, per channel and conditional
        self.class_embed = nn.Embedding(cond.num_classes, CLASS_EMBED)
        self.bn_in = ConditionalBatchNorm(2 * width, CLASS_EMBED)
        self.bn_mid = ConditionalBatchNorm(width, CLASS_EMBED)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        e = self.class_embed(labels)
        h = torch.relu(self.bn_in(self.start_map(z, labels), e))
        h = torch.relu(self.bn_mid(self.body[0](h), e))
        return torch.tanh(self.body[1](h))


def dcgan_small_discriminator(channels: int, resolution: int, num_classes: int, width: int, dropout: float,
                              noise: float) -> Discriminator:
    features = nn.Sequential(
        *d_block(channels, width, kernel=4, stride=2, bn=False, dropout=dropout, noise=noise),
        *d_block(width, 2 * width, kernel=4, stride=2, bn=True, dropout=dropout, noise=noise),
    )
    size = resolution // 4
    return Discriminator(features, 2 * width * size * size, num_classes)


register(ArchSpec(
    "dcgan-small", "a fast DCGAN-style pair for 28-32 px and CPU demos",
    lambda cfg, cond, c, r: dcgan_small_generator(cond, cfg.z_dim, c, r, cfg.g_width, cfg.g_class_bn),
    lambda cfg, c, r, k: dcgan_small_discriminator(c, r, k, cfg.d_width, cfg.d_dropout, cfg.activation_noise),
    default_resolution=lambda native: native if native % 4 == 0 else 32, divisor=4,
    reads=("g_class_bn",)))
