"""Diversity (paper section 4.2): per-class MS-SSIM of random same-class pairs; lower means more diverse.

The real-data maximum over classes is the collapse threshold; a generated class above it is less diverse than the
least diverse real class.
"""
from __future__ import annotations

from ...metrics import class_ms_ssim
from ...metrics.ms_ssim import protocol
from ..context import EvalContext
from ..real_stats import real_statistics
from .registry import step


def diversity(fake, fake_labels, real, real_labels, num_classes: int, pairs: int = 100, seed: int = 0,
              real_ms_ssim: list | None = None) -> dict:
    """Generated and real per-class MS-SSIM; `real_ms_ssim` is a cached class_ms_ssim of the same real images
    (then `real` may be None)."""
    gen = class_ms_ssim(fake, fake_labels, num_classes, pairs, seed)
    ref = real_ms_ssim or class_ms_ssim(real, real_labels, num_classes, pairs, seed)
    threshold = max(r["mean"] for r in ref)
    below = sum(g["mean"] < threshold for g in gen) / num_classes
    return {"generated": gen, "real": ref, "threshold": threshold, "fraction_classes_below_threshold": below,
            "mean_std_generated": sum(g["std"] for g in gen) / num_classes,
            "mean_std_real": sum(r["std"] for r in ref) / num_classes,
            "pairs_per_class": pairs, "seed": seed, "ms_ssim": protocol()}


@step("diversity", order=20)
def diversity_step(ctx: EvalContext) -> dict:
    """Per-class MS-SSIM of samples and real images, and the real-data threshold (Fig. 4)."""
    s = ctx.samples
    return diversity(s.fake, s.fake_labels, None, s.real_labels, s.num_classes, ctx.options.pairs, s.seed,
                     real_ms_ssim=real_statistics(ctx)["ms_ssim"])
