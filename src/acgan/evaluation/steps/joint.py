"""Joint analysis (paper section 4.3): per-class accuracy against per-class MS-SSIM."""
from __future__ import annotations

import math

from ..context import EvalContext
from .registry import step


def pearson(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


def joint(accuracy: list[float], ms_ssim: list[float], threshold: float, accuracy_threshold: float = 0.01) -> dict:
    """r and r^2, and the paper's two conditional fractions around the MS-SSIM threshold and an accuracy level."""
    r = pearson(accuracy, ms_ssim)
    diverse = [a for a, m in zip(accuracy, ms_ssim) if m < threshold]
    collapsed = [a for a, m in zip(accuracy, ms_ssim) if m >= threshold]
    return {"pearson_r": r, "r_squared": r * r,
            "diverse_classes": len(diverse), "collapsed_classes": len(collapsed),
            "fraction_diverse_above_accuracy": sum(a > accuracy_threshold for a in diverse) / len(diverse)
            if diverse else None,
            "fraction_collapsed_at_or_below_accuracy": sum(a <= accuracy_threshold for a in collapsed) / len(collapsed)
            if collapsed else None,
            "ms_ssim_threshold": threshold, "accuracy_threshold": accuracy_threshold}


@step("joint", order=30)
def joint_step(ctx: EvalContext) -> dict:
    """Pearson r of per-class accuracy against MS-SSIM, and the paper's two fractions (Fig. 6)."""
    disc, div = ctx.results["discriminability"], ctx.results["diversity"]
    accuracy = disc["generated"][str(ctx.samples.resolution)]["per_class"]
    return joint(accuracy, [g["mean"] for g in div["generated"]], div["threshold"])
