"""Models: the architecture registry (`ARCHS`, name -> ArchSpec) and the (G, D) pair a config asks for.

Every module of this package that defines an architecture registers it on import, so adding one is adding a file."""
from __future__ import annotations

import importlib
import pkgutil

from torch import nn

from .common import CONDITIONING, ClassConditioning, Discriminator, Generator, init_paper
from .registry import ARCHS, ArchSpec, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

SPECTRAL_NORM = {"none": (), "d": ("d",), "g": ("g",), "both": ("g", "d")}  # choice -> the networks it covers


def default_resolution(arch: str, native: int) -> int:
    """The resolution a model trains at unless the config says otherwise."""
    return ARCHS[arch].default_resolution(native)


def _construct_generator(cfg, channels: int, resolution: int, num_classes: int) -> Generator:
    spec = ARCHS[cfg.arch]
    spec.check_resolution(resolution)
    return spec.build_generator(cfg, ClassConditioning(num_classes, cfg.conditioning, cfg.embed_dim), channels,
                                resolution)


def build_generator(cfg, channels: int, resolution: int, num_classes: int) -> Generator:
    """G alone, initialised, spectrally normalised when the config says so (to load weights into)."""
    g = _construct_generator(cfg, channels, resolution, num_classes)
    init_paper(g, cfg.init_std)
    if "g" in SPECTRAL_NORM[cfg.spectral_norm]:
        add_spectral_norm(g)
    return g


def build_models(cfg, channels: int, resolution: int, num_classes: int,
                 class_outputs: int | None = None, class_proxies: bool = False) -> tuple[Generator, Discriminator]:
    """G for `num_classes` classes, and D whose class head has `class_outputs` units (the loss decides: K for the
    paper's, 2K for TAC's twin heads or ADC's real/fake classes; default K); `class_proxies` gives the head one
    learned proxy per class (ReACGAN)."""
    spec = ARCHS[cfg.arch]
    # this order (construct G and D, initialise both, then spectral norm) fixes which random numbers each gets
    g = _construct_generator(cfg, channels, resolution, num_classes)
    d = spec.build_discriminator(cfg, channels, resolution, class_outputs or num_classes)
    if class_proxies:
        d.heads.add_proxies(num_classes)
    init_paper(g, cfg.init_std)
    init_paper(d, cfg.init_std)
    if spec.fan_in_head:
        head = d.heads.linear
        nn.init.normal_(head.weight, 0.0, head.in_features ** -0.5)
    for net, which in ((g, "g"), (d, "d")):
        if which in SPECTRAL_NORM[cfg.spectral_norm]:
            add_spectral_norm(net)
    return g, d


def add_spectral_norm(net: nn.Module) -> None:
    """Spectral normalisation (Miyato et al. 2018) on every conv, transposed conv and linear weight of `net`."""
    for m in list(net.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(m)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__ = ["ARCHS", "CONDITIONING", "SPECTRAL_NORM", "ArchSpec", "register", "Generator", "Discriminator",
           "build_models", "build_generator", "default_resolution",
           "count_parameters"]
