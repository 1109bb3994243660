"""Mode-collapse monitor: per-class measures of a small fixed sample while training (the paper's Fig. 5).

Every check samples `per_class` images per class from fixed z and records per class:
- MS-SSIM of random pairs against the least diverse real class (the paper's curve; informative, not a verdict:
  it failed the validation on generators of known diversity, docs/results/diversity.md);
- recall and coverage in pixel space (images at 14 px) against as many real training images of the class: the
  measures that passed that validation at this sample count, with the levels in VERDICT_LEVELS.
A class is reported collapsing by the collapse verdict (metrics/collapse.py) with the monitor's own levels: recall
and coverage both low while its samples still sit on real data (metrics/collapse.py's `near`, in pixel space), the
rule `acgan evaluate` applies; samples that miss real data far from it belong to a class not learnt yet.
"""
from __future__ import annotations

import torch

from ..data.sizes import Need
from ..metrics import class_ms_ssim
from ..metrics.collapse import verdict
from ..metrics.memorisation import near_real
from ..metrics.ms_ssim import MIN_SIZE
from ..metrics.prdc import pixel_features, prdc
from ..pixels import to_unit

VERDICT_K = 5                                       # k-NN balls of coverage; recall uses 3, as in evaluation
VERDICT_LEVELS = {"recall": 0.5, "coverage": 0.75}  # validated at 32 samples per class (docs/results/diversity.md)


THRESHOLD_PAIRS = 100  # at least this many pairs per class for the real MS-SSIM threshold
# coverage's k-NN balls need k + 1 real images of a class; classes with fewer get no verdict (None in stats.jsonl)
NEED = Need(VERDICT_K + 1, "the collapse monitor", "leaves them out of its verdict and its MS-SSIM threshold")


def pool_size(per_class: int, pairs: int) -> int:
    """Real images per class the monitor keeps: enough for the threshold's pairs and one reference set. Never the
    whole data set: converted to float it is four times the bytes, which at 64-256 px is gigabytes."""
    return max(2 * max(THRESHOLD_PAIRS, pairs), per_class)


def _monitor_pool(rows, labels: torch.Tensor, num_classes: int, seed: int, size: int) -> tuple[torch.Tensor,
                                                                                              torch.Tensor]:
    """A seeded sample of at most `size` real images per class, held or streamed alike (rows in store order)."""
    gen = torch.Generator().manual_seed(seed + 4242)
    pick = torch.cat([idx[torch.randperm(len(idx), generator=gen)[:size]]
                      for idx in ((labels == c).nonzero().flatten() for c in range(num_classes))]).sort().values
    return rows[pick], labels[pick]


class CollapseMonitor:
    def __init__(self, real_images, real_labels: torch.Tensor, num_classes: int, z_dim: int, *,
                 per_class: int, pairs: int, seed: int):
        self.num_classes, self.pairs, self.seed = num_classes, pairs, seed
        real_images, real_labels = _monitor_pool(real_images, real_labels, num_classes, seed,
                                                 pool_size(per_class, pairs))
        gen = torch.Generator().manual_seed(seed + 31337)
        self.z = torch.randn(num_classes * per_class, z_dim, generator=gen)
        self.labels = torch.arange(num_classes).repeat_interleave(per_class)
        real = to_unit(real_images)
        # the threshold from more pairs than the monitor draws, so it is not the noisier side
        self.real = [r["mean"] for r in class_ms_ssim(real, real_labels, num_classes, pairs=max(THRESHOLD_PAIRS, pairs),
                                                      seed=seed)]
        counts = torch.bincount(real_labels, minlength=num_classes).tolist()
        self.judged = [c for c in range(num_classes) if counts[c] >= NEED.least]
        self.threshold = max((self.real[c] for c in self.judged), default=1.0)  # 1.0: no class is above it
        # as many real images per class as samples, for recall and coverage (they compare equal-sized sets)
        self.reference = None
        if per_class > VERDICT_K:
            pick = [(real_labels == c).nonzero().flatten() for c in range(num_classes)]
            pick = [idx[torch.randperm(len(idx), generator=gen)[:per_class]] for idx in pick]
            self.reference = [pixel_features(real[idx]) if c in self.judged else None for c, idx in enumerate(pick)]
        self.collapsed: set[int] = set()

    @staticmethod
    def usable(resolution: int) -> bool:
        return resolution >= MIN_SIZE

    def _verdict(self, fake: torch.Tensor) -> tuple[list[float], list[float], set[int]]:
        recall, coverage, near = [], [], []
        for c in range(self.num_classes):
            if self.reference[c] is None:
                recall.append(None)
                coverage.append(None)
                near.append(None)
                continue
            f = pixel_features(fake[self.labels == c])
            recall.append(prdc(self.reference[c], f, k=3)["recall"])
            coverage.append(prdc(self.reference[c], f, k=VERDICT_K)["coverage"])
            near.append(near_real(f, self.reference[c]))
        low = {c for c in self.judged
               if verdict({"recall": recall[c], "coverage": coverage[c], "near": near[c]}, VERDICT_LEVELS,
                          tuple(VERDICT_LEVELS))["collapsed"]}
        return recall, coverage, low

    @torch.no_grad()
    def measure(self, G, precision_ctx) -> tuple[dict, list[int]]:
        """Stats for stats.jsonl, and the classes the verdict newly calls collapsed."""
        with precision_ctx:
            fake = G.sample(self.labels, z=self.z).cpu()
        values = [r["mean"] for r in class_ms_ssim(fake, self.labels, self.num_classes, self.pairs, self.seed)]
        stats = {"class_ms_ssim": [round(v, 4) for v in values], "ms_ssim_threshold": round(self.threshold, 4),
                 "classes_above_threshold": [c for c, v in enumerate(values) if v > self.threshold]}
        if self.reference is None:
            return stats, []
        recall, coverage, now = self._verdict(fake)
        stats.update(class_recall=_rounded(recall), class_coverage=_rounded(coverage),
                     classes_collapsed=sorted(now))
        new = sorted(now - self.collapsed)
        self.collapsed = now
        return stats, new


def _rounded(values: list) -> list:
    return [None if v is None else round(v, 4) for v in values]
