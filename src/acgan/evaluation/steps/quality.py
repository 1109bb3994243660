"""Per-class discriminability and diversity of samples, measured with the evaluator (`acgan check`).

- accuracy: the fraction of samples the evaluator labels as their intended class (GAN-test accuracy);
- diversity: mean pairwise Euclidean distance between evaluator features of images of one class, for samples and
  for real images; their ratio says how much of real data's variety a class keeps (1 = as varied as real data).
"""
from __future__ import annotations

import torch

from ...metrics import class_ms_ssim, mean_pairwise_distance
from ...metrics.ms_ssim import MIN_SIZE
from ..context import EvalContext
from .registry import step


@step("quality", order=50, commands=("check",))
@torch.no_grad()
def quality_step(ctx: EvalContext) -> dict:
    """Evaluator accuracy of the samples and the feature-distance ratio per class (`acgan check`)."""
    s, ev = ctx.samples, ctx.evaluator
    k = s.num_classes
    logits, feats, _, real_feats = ctx.features()
    correct = logits.argmax(1) == s.fake_labels
    ms = None
    if "class_diversity" in ctx.results:  # the same pairs, already measured there
        ms = [{"mean": r["ms_ssim"]} for r in ctx.results["class_diversity"]["per_class"] if "ms_ssim" in r] or None
    elif s.resolution >= MIN_SIZE:
        ms = class_ms_ssim(s.fake, s.fake_labels, k, ctx.options.pairs, s.seed)
    rows = []
    for c in range(k):
        div_fake = mean_pairwise_distance(feats[s.fake_labels == c])
        div_real = mean_pairwise_distance(real_feats[s.real_labels == c])
        rows.append({"class": s.class_names[c], "accuracy": round(correct[s.fake_labels == c].float().mean().item(), 4),
                     "diversity": round(div_fake, 4), "real_diversity": round(div_real, 4),
                     "diversity_ratio": round(div_fake / div_real, 4) if div_real > 0 else float("nan"),
                     "ms_ssim": round(ms[c]["mean"], 4) if ms else None})
    return {"accuracy": round(correct.float().mean().item(), 4),
            "min_diversity_ratio": min(r["diversity_ratio"] for r in rows),
            "per_class": rows, "samples_per_class": s.per_class, "seed": s.seed,
            "evaluator_test_accuracy": ev.meta.get("test_accuracy")}
