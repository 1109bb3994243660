"""The source (real/fake) terms every loss shares, on D's source logit: the paper's BCE or the hinge loss.

BCE: D minimises BCE(s_r, 1) + BCE(s_f, 0); G minimises BCE(s_f, 1) (non-saturating).
Hinge: D minimises E[relu(1 - s_r)] + E[relu(1 + s_f)]; G minimises -E[s_f]."""
from __future__ import annotations

import torch
from torch.nn import functional as F

KINDS = ("bce", "hinge")


def d_source(src_r: torch.Tensor, src_f: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "hinge":
        return F.relu(1 - src_r).mean() + F.relu(1 + src_f).mean()
    return (F.binary_cross_entropy_with_logits(src_r, torch.ones_like(src_r))
            + F.binary_cross_entropy_with_logits(src_f, torch.zeros_like(src_f)))


def g_source(src_f: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "hinge":
        return -src_f.mean()
    return F.binary_cross_entropy_with_logits(src_f, torch.ones_like(src_f))


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(1) == labels).float().mean().detach()
