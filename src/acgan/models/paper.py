"""The paper's architectures (Odena et al. 2017, appendix).

paper-cifar (32 px): G: [z ; one-hot] -> Linear 384x4x4 (ReLU) -> tconv5 s2 192 (BN, ReLU) -> 96 (BN, ReLU)
-> C (Tanh). The CIFAR table was not retrieved; this is the usual reading (see README).
paper-imagenet (64 or 128 px): G: -> Linear 768 x s x s (ReLU) with s = resolution / 16 (the table does not give s)
-> tconv5 s2 384, 256, 192 (BN, ReLU) -> C (Tanh).
D for both: conv3x3 16, 32, 64, 128, 256, 512 with strides 2,1,2,1,2,1; BN on all but the first; LeakyReLU 0.2;
dropout after each conv; Linear -> 1 + K.
"""
from __future__ import annotations

from torch import nn

from .common import ClassConditioning, Discriminator, Generator, d_block, g_up
from .registry import ArchSpec, register

D_CHANNELS = (16, 32, 64, 128, 256, 512)
D_STRIDES = (2, 1, 2, 1, 2, 1)


def paper_discriminator(channels: int, resolution: int, num_classes: int, dropout: float,
                        noise: float) -> Discriminator:
    layers, c_in, size = [], channels, resolution
    for i, (c_out, stride) in enumerate(zip(D_CHANNELS, D_STRIDES)):
        layers += d_block(c_in, c_out, kernel=3, stride=stride, bn=i > 0, dropout=dropout, noise=noise)
        c_in, size = c_out, (size + stride - 1) // stride
    return Discriminator(nn.Sequential(*layers), c_in * size * size, num_classes)


def paper_generator(cond: ClassConditioning, z_dim: int, channels: int, start_channels: int, start_size: int,
                    widths: tuple[int, ...]) -> Generator:
    layers, c_in = [], start_channels
    for c_out in widths:
        layers += g_up(c_in, c_out, kernel=5)
        c_in = c_out
    layers += g_up(c_in, channels, kernel=5, last=True)
    return Generator(cond, z_dim, start_channels, start_size, nn.Sequential(*layers), linear_bn=False)


def paper_cifar_generator(cond, z_dim: int, channels: int, resolution: int) -> Generator:
    return paper_generator(cond, z_dim, channels, 384, resolution // 8, (192, 96))


def paper_imagenet_generator(cond, z_dim: int, channels: int, resolution: int) -> Generator:
    return paper_generator(cond, z_dim, channels, 768, resolution // 16, (384, 256, 192))


def _paper_d(cfg, channels: int, resolution: int, num_classes: int) -> Discriminator:
    return paper_discriminator(channels, resolution, num_classes, cfg.d_dropout, cfg.activation_noise)


register(ArchSpec("paper-cifar", "the paper's CIFAR-10 pair, 32 px",
                  lambda cfg, cond, c, r: paper_cifar_generator(cond, cfg.z_dim, c, r), _paper_d,
                  default_resolution=lambda native: 32, divisor=8))
register(ArchSpec("paper-imagenet", "the paper's ImageNet pair, 128 px (or 64)",
                  lambda cfg, cond, c, r: paper_imagenet_generator(cond, cfg.z_dim, c, r), _paper_d,
                  default_resolution=lambda native: 128 if native >= 128 else 64, divisor=16, fan_in_head=True))
