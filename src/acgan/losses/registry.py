"""The loss registry: `loss:` names -> a Loss subclass (base.py), the only interface the training loop uses."""
from __future__ import annotations

from ..registry import Registry
from .base import Loss

LOSSES = Registry("loss")


def register(name: str, summary: str):
    def add(cls: type) -> type:
        if not issubclass(cls, Loss):
            raise TypeError(f"loss '{name}' must subclass acgan.losses.base.Loss")
        cls.name, cls.summary = name, summary
        return LOSSES.add(name, cls, summary)
    return add


def build_loss(cfg) -> Loss:
    return LOSSES[cfg.loss].from_config(cfg)
