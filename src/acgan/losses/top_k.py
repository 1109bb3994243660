"""Top-k training (Sinha et al., "Top-k Training of GANs: Improving GAN Performance by Throwing Away Bad Samples",
NeurIPS 2020): G learns only from the generated images D scores most real, so that its worst samples do not pull
it towards what D already rejects. The share kept falls linearly from the whole batch at the first step to its final
value at mid-run (the paper decays it by epochs over long runs). Under torchrun each process keeps its own share of
its slice of the batch.
"""
from __future__ import annotations

import torch

from .base import DOutput


def top_k_share(final: float, step: int, steps: int) -> float:
    """The share of G's batch kept at `step` of `steps`: 1 at step 0, `final` from mid-run on."""
    return max(final, 1 - (1 - final) * step / max(1, steps // 2))


def top_k_rows(out: DOutput, labels: torch.Tensor, share: float) -> tuple[DOutput, torch.Tensor]:
    """D's outputs on G's batch and their labels, cut to the round(share * batch) rows (at least one) with the
    highest source logits."""
    if share >= 1:
        return out, labels
    keep = out[0].detach().float().topk(max(1, round(share * len(labels)))).indices
    return (out[0][keep], out[1][keep]), labels[keep]
