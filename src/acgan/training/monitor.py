"""Mode-collapse monitor: per-class MS-SSIM of a small fixed sample while training (the paper's Fig. 5).

A class whose samples grow more alike than the least diverse class of real data (the threshold) is collapsing.
"""
from __future__ import annotations

import torch

from ..metrics import class_ms_ssim
from ..metrics.ms_ssim import MIN_SIZE
from ..pixels import to_unit


class CollapseMonitor:
    def __init__(self, real_images: torch.Tensor, real_labels: torch.Tensor, num_classes: int, z_dim: int, *,
                 per_class: int, pairs: int, seed: int):
        self.num_classes, self.pairs, self.seed = num_classes, pairs, seed
        gen = torch.Generator().manual_seed(seed + 31337)
        self.z = torch.randn(num_classes * per_class, z_dim, generator=gen)
        self.labels = torch.arange(num_classes).repeat_interleave(per_class)
        real = to_unit(real_images)
        # the threshold from more pairs than the monitor draws, so it is not the noisier side
        self.real = [r["mean"] for r in class_ms_ssim(real, real_labels, num_classes, pairs=max(100, pairs),
                                                      seed=seed)]
        self.threshold = max(self.real)
        self.above: set[int] = set()

    @staticmethod
    def usable(resolution: int) -> bool:
        return resolution >= MIN_SIZE

    @torch.no_grad()
    def measure(self, G, precision_ctx) -> tuple[dict, list[int]]:
        """Stats for stats.jsonl, and the classes that newly crossed the threshold."""
        with precision_ctx:
            fake = G.sample(self.labels, z=self.z).cpu()
        values = [r["mean"] for r in class_ms_ssim(fake, self.labels, self.num_classes, self.pairs, self.seed)]
        now_above = {c for c, v in enumerate(values) if v > self.threshold}
        crossed = sorted(now_above - self.above)
        self.above = now_above
        return {"class_ms_ssim": [round(v, 4) for v in values], "ms_ssim_threshold": round(self.threshold, 4),
                "classes_above_threshold": sorted(now_above)}, crossed
