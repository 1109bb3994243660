"""Objectives on D's logits. Each module of this package registers its loss on import: adding one is one file."""
import importlib
import pkgutil

from .base import DOutput, Loss
from .registry import LOSSES, build_loss, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from .acgan import ACGANLoss  # noqa: E402
from .adversarial import KINDS as ADVERSARIAL  # noqa: E402

__all__ = ["LOSSES", "Loss", "DOutput", "build_loss", "register", "ACGANLoss", "ADVERSARIAL"]
