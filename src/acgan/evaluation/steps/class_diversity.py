"""Per-class diversity measures in evaluator features, and the collapse verdict built on the validated ones.

For each class c, generated images against real test images of c:
- distance_ratio: mean pairwise feature distance of samples over that of real images (1 = as varied as real);
- ms_ssim: mean MS-SSIM of random sample pairs (lower = more varied), against the least diverse real class;
- intra_fid: FID between the class's samples and its real images (ADC-GAN's intra-FID), in evaluator features;
- precision / recall (k = 3) and density / coverage (k = 5): k-NN manifolds of real and generated features.
The verdict is metrics/collapse.py's rule with this evaluation's levels; which measures may vote was decided by the
validation on generators of known diversity (research/diversity/, docs/results/diversity.md): VALIDATED.

How much of real data's variety a class keeps (`vs_real`, `variety`): its recall and coverage divided by what real
training images of the class get against the same real test images at the same count, in two feature spaces, the
evaluator's and 14 px pixels (a classifier's features keep little of the within-class variation a person sees:
research/diversity/dropped_subpopulations.py); `variety` is the lowest of those four ratios, so 1.0 means "as varied
as real data in both spaces".
"""
from __future__ import annotations

import torch

from ...metrics import class_ms_ssim, distance_ratio, fid_from_features
from ...metrics.collapse import DIRECTIONS, verdict
from ...metrics.memorisation import near_real
from ...metrics.ms_ssim import MIN_SIZE
from ...metrics.prdc import pixel_features, prdc
from ...pixels import to_unit
from ..context import EvalContext, take_per_class
from .registry import step

PR_K, DC_K = 3, 5
# the levels that call a class collapsed; ms_ssim's is the real-data threshold (the least diverse real class) and
# intra_fid's a multiple of the real classes' own spread (intra_fid_level), both set per evaluation
FIXED_LEVELS = {"distance_ratio": 0.5, "recall": 0.25, "coverage": 0.25}
VALIDATED = ("recall", "coverage", "intra_fid")  # the measures that passed validation: only these vote
INTRA_FID_MULTIPLE = 4.0  # 2 called lightly jittered real images collapsed, 3 sat on them (docs/results/diversity.md)


def measure_class(fake_feats, real_feats, fake_images=None, pairs: int = 100, seed: int = 0) -> dict:
    """Every measure of one class: features [N, D] of samples and real images, images in [-1, 1] for MS-SSIM."""
    out = {"distance_ratio": distance_ratio(fake_feats, real_feats),
           "intra_fid": fid_from_features(fake_feats, real_feats)}
    pr, dc = prdc(real_feats, fake_feats, k=PR_K), prdc(real_feats, fake_feats, k=DC_K)
    out.update(precision=pr["precision"], recall=pr["recall"], density=dc["density"], coverage=dc["coverage"],
               near=near_real(fake_feats, real_feats))
    if fake_images is not None and fake_images.shape[-1] >= MIN_SIZE:
        labels = torch.zeros(len(fake_images), dtype=torch.long)
        out["ms_ssim"] = class_ms_ssim(fake_images, labels, 1, pairs, seed)[0]["mean"]
    return out


def intra_fid_level(real_feats: torch.Tensor, real_labels: torch.Tensor, num_classes: int,
                    multiple: float = INTRA_FID_MULTIPLE) -> float:
    """The intra-FID above which a class is collapsed: `multiple` times the largest FID between the two halves of a
    real class (what sampling noise alone gives at this sample count), so a generator as varied as real data
    passes."""
    worst = 0.0
    for c in range(num_classes):
        f = real_feats[real_labels == c]
        half = len(f) // 2
        worst = max(worst, fid_from_features(f[:half], f[half:2 * half]))
    return multiple * worst


VS_REAL = ("recall", "coverage")  # validated, and bounded by what real data itself reaches at this count


def versus_real(ctx: EvalContext, rows: list[dict]) -> dict | None:
    """Add `vs_real` and `variety` to each class's row (whose recall and coverage are already the evaluator's); the
    real levels per space: as many training images per class as there are samples, against the same real test
    images. None, rows untouched, without the training split."""
    train = ctx.training()
    if train is None:
        return None
    s = ctx.samples
    per_class = int(min(torch.bincount(s.fake_labels, minlength=s.num_classes)))
    train_u8, train_labels = take_per_class(train.images, train.labels, per_class, s.num_classes, s.seed)
    train_unit = to_unit(train_u8)
    real_feats = ctx.features()[3]
    train_pix, (fake_pix, real_pix) = pixel_features(train_unit), ctx.pixels()
    levels = {"evaluator": [], "pixels": []}
    train_feats = ctx.evaluator.run(train_unit)[1]
    for c, row in enumerate(rows):
        real_c, real_pix_c = real_feats[s.real_labels == c], real_pix[s.real_labels == c]
        levels["evaluator"].append(_recall_coverage(train_feats[train_labels == c], real_c))
        levels["pixels"].append(_recall_coverage(train_pix[train_labels == c], real_pix_c))
        values = {"evaluator": row, "pixels": _recall_coverage(fake_pix[s.fake_labels == c], real_pix_c)}
        row["vs_real"] = {space: {m: values[space][m] / max(levels[space][c][m], 1e-12) for m in VS_REAL}
                          for space in levels}
        row["variety"] = min(v for space in row["vs_real"].values() for v in space.values())
    return levels


def _recall_coverage(fake_f, real_f) -> dict:
    return {"recall": prdc(real_f, fake_f, k=PR_K)["recall"], "coverage": prdc(real_f, fake_f, k=DC_K)["coverage"]}


@step("class_diversity", order=40, commands=("evaluate", "check"))
def class_diversity_step(ctx: EvalContext) -> dict:
    """Every diversity measure per class, the levels that call a class collapsed, and the verdict per class."""
    s = ctx.samples
    _, fake_feats, _, real_feats = ctx.features()
    levels = {**FIXED_LEVELS, "intra_fid": intra_fid_level(real_feats, s.real_labels, s.num_classes)}
    ms = None
    if s.resolution >= MIN_SIZE:  # the same numbers as the diversity step (same pairs), computed here if it did not run
        div = ctx.results.get("diversity")
        if div is None:
            real = class_ms_ssim(s.real, s.real_labels, s.num_classes, ctx.options.pairs, s.seed)
            div = {"threshold": max(r["mean"] for r in real),
                   "generated": class_ms_ssim(s.fake, s.fake_labels, s.num_classes, ctx.options.pairs, s.seed)}
        levels["ms_ssim"], ms = div["threshold"], [g["mean"] for g in div["generated"]]
    rows = []
    for c, name in enumerate(s.class_names):
        row = {"class": name, **measure_class(fake_feats[s.fake_labels == c], real_feats[s.real_labels == c])}
        if ms is not None:
            row["ms_ssim"] = ms[c]
        row.update(verdict(row, levels, VALIDATED))
        rows.append(row)
    real_levels = versus_real(ctx, rows)
    return {"per_class": rows, "levels": levels,
            "rules": {k: [d, FIXED_LEVELS.get(k)] for k, d in DIRECTIONS.items()},
            "validated": list(VALIDATED), "intra_fid_multiple": INTRA_FID_MULTIPLE,
            "collapsed_classes": [r["class"] for r in rows if r["collapsed"]],
            "network": "acgan evaluator (penultimate features)", "pr_k": PR_K, "dc_k": DC_K,
            "samples_per_class": s.per_class, "seed": s.seed,
            "real_levels": real_levels,
            "lowest_variety": None if real_levels is None else min(r["variety"] for r in rows)}
