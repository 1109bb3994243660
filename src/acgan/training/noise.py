"""What G is fed: the noise and labels of a training batch, and the fixed inputs of the progress grids."""
from __future__ import annotations

import torch


def fixed_grid_inputs(cfg, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The z and labels of the progress grids: one row per class, the same z in every row, seeded by cfg.seed."""
    gen = torch.Generator().manual_seed(cfg.seed + 7919)
    z = torch.randn(cfg.grid_columns, cfg.z_dim, generator=gen).repeat(num_classes, 1)
    labels = torch.arange(num_classes).repeat_interleave(cfg.grid_columns)
    return z, labels


def training_inputs(cfg, num_classes: int, device, lo: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise and labels for the global batch, drawn alike on every rank, then rows lo:lo + count (this rank's)."""
    z = torch.randn(cfg.batch_size, cfg.z_dim, device=device)
    y = torch.randint(0, num_classes, (cfg.batch_size,), device=device)
    return z[lo:lo + count], y[lo:lo + count]
