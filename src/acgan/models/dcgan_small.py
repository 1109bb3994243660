"""dcgan-small: a fast DCGAN-style pair for 28-32 px images and CPU demos (1 or 3 channels).

G: [z ; class] -> Linear 2w x s x s (BN, ReLU), s = resolution / 4 -> tconv4 s2 w (BN, ReLU) -> tconv4 s2 C (Tanh).
D: conv4 s2 w (LeakyReLU) -> conv4 s2 2w (BN, LeakyReLU) -> Linear -> 1 + K; dropout and activation noise as paper.
"""
from __future__ import annotations

from torch import nn

from .common import ClassConditioning, Discriminator, Generator, d_block, g_up
from .registry import ArchSpec, register


def dcgan_small_generator(cond: ClassConditioning, z_dim: int, channels: int, resolution: int,
                          width: int) -> Generator:
    body = nn.Sequential(*g_up(2 * width, width, kernel=4), *g_up(width, channels, kernel=4, last=True))
    return Generator(cond, z_dim, 2 * width, resolution // 4, body, linear_bn=True)


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
    lambda cfg, cond, c, r: dcgan_small_generator(cond, cfg.z_dim, c, r, cfg.g_width),
    lambda cfg, c, r, k: dcgan_small_discriminator(c, r, k, cfg.d_width, cfg.d_dropout, cfg.activation_noise),
    default_resolution=lambda native: native if native % 4 == 0 else 32, divisor=4))
