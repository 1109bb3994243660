"""What the training loop knows of an extra loss term, and nothing more: this interface.

A term adds to D's loss or to G's loss, beside the objective (losses/base.py). It is named by a config key that
holds its weight (0 = off), registers itself on import, and is built once per run from that weight. Each step it is
handed a `StepView` of what the step computed and returns (the weighted addition to the loss, its unweighted value
for stats.jsonl, under the term's name). A term with running statistics keeps them in `state_dict()`, which the
checkpoint stores under the term's name, so a resumed run goes on as an unbroken one.

Under torchrun each process holds a slice of the batch; `Peers` says how to see the whole batch, so that a term
computes on W processes what it computes in one.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, ClassVar

import torch

from ...registry import Registry
from ..base import DOutput


def _same(t: torch.Tensor) -> torch.Tensor:
    return t


@dataclass(frozen=True)
class Peers:
    """The other training processes, as a term needs them; the default is one process alone."""
    rank: int = 0
    world: int = 1
    average: Callable[[torch.Tensor], torch.Tensor] = _same  # a tensor's mean over the processes
    gather: Callable[[torch.Tensor], torch.Tensor] = _same   # rows of every process, in rank order (no gradient)


@dataclass
class StepView:
    """What one step computed: the real batch, the generated batch and its inputs, and D's outputs. D's step fills
    `d_real` and `d_fake` (on the detached fakes); G's step fills `d_fake` with D's outputs on the fakes it trains."""
    real: torch.Tensor
    real_labels: torch.Tensor
    fake: torch.Tensor
    fake_labels: torch.Tensor
    d_real: DOutput | None = None
    d_fake: DOutput | None = None


class Term(ABC):
    name: ClassVar[str] = ""      # the config key of its weight and its column in stats.jsonl; set by register()
    summary: ClassVar[str] = ""   # one line, set by register()
    player: ClassVar[str] = ""    # "d" or "g": whose loss it adds to; set by register()

    def __init__(self, weight: float, device: torch.device, peers: Peers = Peers()):
        self.weight, self.device, self.peers = weight, device, peers

    @abstractmethod
    def __call__(self, step: StepView) -> tuple[torch.Tensor, torch.Tensor]:
        """(the weighted addition to the player's loss, the term's unweighted value, detached)."""

    def state_dict(self) -> dict:
        """Running statistics to checkpoint; empty for a term that has none."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


TERMS = Registry("loss term")


def register(name: str, player: str, summary: str):
    def add(cls: type) -> type:
        if not issubclass(cls, Term) or player not in ("d", "g"):
            raise TypeError(f"loss term '{name}' must subclass Term and add to 'd' or 'g'")
        cls.name, cls.player, cls.summary = name, player, summary
        return TERMS.add(name, cls, summary)
    return add


def build_terms(cfg, device: torch.device, peers: Peers = Peers()) -> list[Term]:
    """The terms whose weight in `cfg` is not 0, in registry order."""
    return [cls(getattr(cfg, name), device, peers) for name, cls in TERMS.items() if getattr(cfg, name)]
