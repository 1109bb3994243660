"""The loss registry: `loss:` names -> a class with from_config(cfg), discriminator(...) and generator(...).

The training loop calls only those two methods and reads `stat_keys`; it never knows which loss it runs."""
from __future__ import annotations

LOSSES: dict[str, type] = {}
SUMMARIES: dict[str, str] = {}


def register(name: str, summary: str):
    def add(cls: type) -> type:
        LOSSES[name], SUMMARIES[name] = cls, summary
        cls.name = name
        return cls
    return add


def build_loss(cfg):
    return LOSSES[cfg.loss].from_config(cfg)
