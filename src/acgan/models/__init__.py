"""Model registry: the config's `arch` picks a (G, D) pair."""
from __future__ import annotations

from torch import nn

from ..errors import UserError
from .common import ClassConditioning, Discriminator, Generator, init_paper
from .dcgan_small import dcgan_small_discriminator, dcgan_small_generator
from .paper import paper_cifar_generator, paper_discriminator, paper_imagenet_generator


def default_resolution(arch: str, native: int) -> int:
    """The resolution a model trains at unless the config says otherwise."""
    if arch == "paper-cifar":
        return 32
    if arch == "paper-imagenet":
        return 128 if native >= 128 else 64
    return native if native % 4 == 0 else 32


def check_resolution(arch: str, resolution: int) -> None:
    rule = {"dcgan-small": 4, "paper-cifar": 8, "paper-imagenet": 16}[arch]
    if resolution % rule:
        raise UserError(f"{arch} needs a resolution divisible by {rule}, got {resolution}: set --resolution")


def build_models(cfg, channels: int, resolution: int, num_classes: int) -> tuple[Generator, Discriminator]:
    check_resolution(cfg.arch, resolution)
    cond = ClassConditioning(num_classes, cfg.conditioning, cfg.embed_dim)
    if cfg.arch == "dcgan-small":
        g = dcgan_small_generator(cond, cfg.z_dim, channels, resolution, cfg.g_width)
        d = dcgan_small_discriminator(channels, resolution, num_classes, cfg.d_width, cfg.d_dropout,
                                      cfg.activation_noise)
    else:
        make_g = paper_cifar_generator if cfg.arch == "paper-cifar" else paper_imagenet_generator
        g = make_g(cond, cfg.z_dim, channels, resolution)
        d = paper_discriminator(channels, resolution, num_classes, cfg.d_dropout, cfg.activation_noise)
    init_paper(g, cfg.init_std)
    init_paper(d, cfg.init_std)
    return g, d


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__ = ["Generator", "Discriminator", "build_models", "default_resolution", "count_parameters"]
