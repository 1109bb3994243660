"""Per-class discriminability and diversity of samples, measured with an evaluator classifier (`acgan check`).

- accuracy: the fraction of samples the evaluator labels as their intended class (GAN-test accuracy);
- diversity: mean pairwise Euclidean distance between evaluator features of images of one class, for samples and
  for real images; their ratio says how much of real data's variety a class keeps (1 = as varied as real data).
"""
from __future__ import annotations

import torch

from ..metrics.ms_ssim import MIN_SIZE
from .classifier import Evaluator, to_unit
from .diversity import class_ms_ssim


def mean_pairwise_distance(features: torch.Tensor) -> float:
    """Mean Euclidean distance over all unordered pairs of rows."""
    n = len(features)
    d = torch.cdist(features.double(), features.double())
    return (d.sum() / (n * (n - 1))).item()


@torch.no_grad()
def sample_quality(G, evaluator: Evaluator, real_images: torch.Tensor, real_labels: torch.Tensor,
                   per_class: int = 500, seed: int = 0) -> dict:
    """Accuracy and diversity per class for `per_class` samples and as many real images per class."""
    k = G.num_classes
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(k).repeat_interleave(per_class)
    fake = torch.cat([G.sample(chunk, generator=gen).cpu() for chunk in labels.split(1000)])
    logits, feats = evaluator.run(fake)
    correct = logits.argmax(1) == labels
    ms = class_ms_ssim(fake, labels, k, pairs=100, seed=seed) if fake.shape[-1] >= MIN_SIZE else None
    rows = []
    for c in range(k):
        real_c = real_images[real_labels == c]
        real_c = real_c[torch.randperm(len(real_c), generator=gen)[:per_class]]
        _, real_feats = evaluator.run(to_unit(real_c))
        div_fake = mean_pairwise_distance(feats[labels == c])
        div_real = mean_pairwise_distance(real_feats)
        rows.append({"class": G.class_names[c], "accuracy": round(correct[labels == c].float().mean().item(), 4),
                     "diversity": round(div_fake, 4), "real_diversity": round(div_real, 4),
                     "diversity_ratio": round(div_fake / div_real, 4),
                     "ms_ssim": round(ms[c]["mean"], 4) if ms else None})
    return {"accuracy": round(correct.float().mean().item(), 4),
            "min_diversity_ratio": min(r["diversity_ratio"] for r in rows),
            "per_class": rows, "samples_per_class": per_class, "seed": seed,
            "evaluator_test_accuracy": evaluator.meta.get("test_accuracy")}
