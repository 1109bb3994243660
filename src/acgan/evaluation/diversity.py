"""Diversity (paper section 4.2): per-class MS-SSIM of random same-class pairs; lower means more diverse.

The real-data maximum over classes is the collapse threshold; a generated class above it is less diverse than the
least diverse real class.
"""
from __future__ import annotations

import torch

from ..metrics import ms_ssim
from ..metrics.ms_ssim import describe


def random_pairs(n: int, pairs: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`pairs` index pairs (i, j), i != j, drawn uniformly from n items."""
    i = torch.randint(0, n, (pairs,), generator=gen)
    j = (i + torch.randint(1, n, (pairs,), generator=gen)) % n
    return i, j


def class_ms_ssim(images: torch.Tensor, labels: torch.Tensor, num_classes: int, pairs: int = 100,
                  seed: int = 0) -> list[dict]:
    """[{mean, std}] per class, for images in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for c in range(num_classes):
        x = (images[labels == c].float() + 1) / 2
        if len(x) < 2:
            out.append({"mean": float("nan"), "std": float("nan")})
            continue
        i, j = random_pairs(len(x), pairs, gen)
        v = ms_ssim(x[i], x[j], data_range=1.0)
        out.append({"mean": v.mean().item(), "std": v.std().item()})
    return out


def diversity(fake, fake_labels, real, real_labels, num_classes: int, pairs: int = 100, seed: int = 0,
              real_ms_ssim: list | None = None) -> dict:
    """Generated and real per-class MS-SSIM; `real_ms_ssim` is a cached class_ms_ssim of the same real images."""
    gen = class_ms_ssim(fake, fake_labels, num_classes, pairs, seed)
    ref = real_ms_ssim or class_ms_ssim(real, real_labels, num_classes, pairs, seed)
    threshold = max(r["mean"] for r in ref)
    below = sum(g["mean"] < threshold for g in gen) / num_classes
    return {"generated": gen, "real": ref, "threshold": threshold, "fraction_classes_below_threshold": below,
            "mean_std_generated": sum(g["std"] for g in gen) / num_classes,
            "mean_std_real": sum(r["std"] for r in ref) / num_classes,
            "pairs_per_class": pairs, "seed": seed, "ms_ssim": describe()}
