"""What the training loop knows of a loss, and nothing more: this interface.

A loss is built from the config, tells how many units D's class head needs (and whether it has class proxies),
scores D's step from D's outputs on a real and a generated batch, and G's step from D's outputs on a generated
batch. D's outputs are (source logit [B], class output [B, class_outputs]). Each step returns a dict with "loss"
(the scalar to minimise) and the detached statistics named in `stat_keys`, which stats.jsonl records in that order.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch

DOutput = tuple[torch.Tensor, torch.Tensor]  # (source logit [B], class output [B, class_outputs])


class Loss(ABC):
    name: ClassVar[str] = ""       # set by register()
    summary: ClassVar[str] = ""    # one line, set by register()
    # the statistics the two steps report, in stats.jsonl's column order; `progress_stat` is also shown live
    stat_keys: ClassVar[tuple[str, ...]] = ("d_source", "d_class", "g_source", "g_class", "acc_real", "acc_fake")
    progress_stat: ClassVar[str] = "acc_fake"
    class_proxies: ClassVar[bool] = False  # D's class head gets one learned proxy per class (ReACGAN)

    @classmethod
    @abstractmethod
    def from_config(cls, cfg) -> "Loss":
        """The loss with the config's weights and source-loss kind."""

    @classmethod
    def class_outputs(cls, num_classes: int) -> int:
        """Units of D's class head for `num_classes` classes."""
        return num_classes

    @abstractmethod
    def discriminator(self, real: DOutput, fake: DOutput, y_real: torch.Tensor, y_fake: torch.Tensor) -> dict:
        """D's step: {"loss", and the d_* and acc_* statistics}."""

    @abstractmethod
    def generator(self, fake: DOutput, y_fake: torch.Tensor) -> dict:
        """G's step: {"loss", and the g_* statistics}."""
