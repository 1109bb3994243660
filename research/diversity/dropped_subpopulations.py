"""Validation on "generators" that keep a class's real images but lose a part of it (like known_diversity.py:
validate-diversity.py beside it makes docs/results/diversity.md's tables with it; the evaluation does not use it).

A GAN rarely collapses to a few copies; it drops a class's rarer sub-populations (dark bags, checked shirts) and
draws the rest well. Each generator here draws `per_class` distinct images from what is left of a class's pool after
one cut, lightly jittered as the k-copy generators are:

- darkest half dropped: the half of the pool with the lowest mean pixel value;
- most textured half dropped: the half with the highest total variation (mean absolute difference between
  neighbouring pixels, across and down);
- one cluster of 4 dropped: k-means (k = 4) on the 14 px pixel features, the largest cluster removed;
- most typical 30% only: the 30% of the pool nearest the class's mean image (14 px pixel features).

The baseline draws as many distinct images from the whole pool, at several seeds: its spread over seeds is what real
data against real data gives at this sample count. A measure detects a cut when the cut's class mean lies on the
low-variety side of the baseline's mean by more than that spread.
"""
from __future__ import annotations

import torch
from known_diversity import MEASURES, k_mode_generator, split_reference_pool  # beside this file, on sys.path

from acgan.evaluation.steps.class_diversity import measure_class
from acgan.metrics.prdc import pixel_features
from acgan.pixels import to_unit

TYPICAL_SHARE = 0.3
CLUSTERS = 4


def brightness(pool_u8: torch.Tensor) -> torch.Tensor:
    return pool_u8.float().mean(dim=(1, 2, 3))


def total_variation(pool_u8: torch.Tensor) -> torch.Tensor:
    x = pool_u8.float()
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean(dim=(1, 2, 3)) + \
        (x[..., :, 1:] - x[..., :, :-1]).abs().mean(dim=(1, 2, 3))


def kmeans(feats: torch.Tensor, k: int, seed: int, iters: int = 30) -> torch.Tensor:
    """Lloyd's k-means from k distinct random points; the cluster of each row."""
    gen = torch.Generator().manual_seed(seed)
    centres = feats[torch.randperm(len(feats), generator=gen)[:k]].clone()
    for _ in range(iters):
        assign = torch.cdist(feats, centres).argmin(1)
        for j in range(k):
            members = feats[assign == j]
            if len(members):
                centres[j] = members.mean(0)
    return torch.cdist(feats, centres).argmin(1)


def kept_rows(pool_u8: torch.Tensor, cut: str, seed: int = 0) -> torch.Tensor:
    """Indices of the pool rows that survive `cut` (one of CUTS)."""
    n = len(pool_u8)
    if cut == "darkest half dropped":
        return brightness(pool_u8).argsort(descending=True)[:n - n // 2]
    if cut == "most textured half dropped":
        return total_variation(pool_u8).argsort()[:n - n // 2]
    feats = pixel_features(to_unit(pool_u8))
    if cut == f"one cluster of {CLUSTERS} dropped":
        assign = kmeans(feats, CLUSTERS, seed)
        largest = torch.bincount(assign, minlength=CLUSTERS).argmax()
        return (assign != largest).nonzero().flatten()
    if cut == f"most typical {TYPICAL_SHARE:.0%} only":
        distance = (feats - feats.mean(0)).norm(dim=1)
        return distance.argsort()[:max(1, int(TYPICAL_SHARE * n))]
    raise ValueError(f"unknown cut {cut!r}")


CUTS = ("darkest half dropped", "most textured half dropped", f"one cluster of {CLUSTERS} dropped",
        f"most typical {TYPICAL_SHARE:.0%} only")


def distinct_draw(pool_u8: torch.Tensor, rows: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n distinct images of `rows` (all of them when fewer), jittered; in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    chosen = rows[torch.randperm(len(rows), generator=gen)[:n]]
    return k_mode_generator(pool_u8[chosen], "all", len(chosen), seed)


@torch.no_grad()
def validate_cuts(features, images_u8, labels, num_classes: int, *, per_class: int = 150, baseline_seeds: int = 5,
                  pairs: int = 100, seed: int = 0, log=print) -> dict:
    """Every measure on the baseline (at `baseline_seeds` seeds) and on each cut, as class means; per measure and
    cut whether the cut is detected. `per_class` samples and as many real reference images per class (a cut keeps
    at least 30% of a pool: 150 of Fashion-MNIST's 500)."""
    ref_u8, ref_labels, pools = split_reference_pool(images_u8, labels, num_classes, seed)
    keep = torch.cat([(ref_labels == c).nonzero().flatten()[:per_class] for c in range(num_classes)])
    ref_feats, ref_labels = features(to_unit(ref_u8[keep])), ref_labels[keep]

    def class_means(draw) -> dict:
        per = []
        for c in range(num_classes):
            fake = draw(c)
            per.append(measure_class(features(fake), ref_feats[ref_labels == c], fake, pairs, seed))
        return {m: sum(p[m] for p in per) / num_classes for m in MEASURES if m in per[0]}

    every = {c: torch.arange(len(pools[c])) for c in range(num_classes)}
    baseline = [class_means(lambda c, s=s: distinct_draw(pools[c], every[c], per_class, 1000 * s + c))
                for s in range(baseline_seeds)]
    log("baseline: " + ", ".join(f"{m} {sum(b[m] for b in baseline) / len(baseline):.3f}" for m in baseline[0]))
    cuts = {}
    for cut in CUTS:
        rows = {c: kept_rows(pools[c], cut, seed + c) for c in range(num_classes)}
        cuts[cut] = class_means(lambda c: distinct_draw(pools[c], rows[c], per_class, seed + c))
        log(f"{cut}: " + ", ".join(f"{m} {v:.3f}" for m, v in cuts[cut].items()))
    measures = {}
    for name in baseline[0]:
        values = [b[name] for b in baseline]
        mean, spread = sum(values) / len(values), max(values) - min(values)
        low = -1 if MEASURES[name] == "below" else 1  # the side a less varied generator lies on
        detected = {cut: (cuts[cut][name] - mean) * low > spread for cut in CUTS}
        measures[name] = {"baseline_mean": mean, "baseline_spread": spread,
                          "by_cut": {cut: cuts[cut][name] for cut in CUTS}, "detected": detected,
                          "detects_every_cut": all(detected.values())}
    return {"cuts": list(CUTS), "per_class": per_class, "baseline_seeds": baseline_seeds, "classes": num_classes,
            "measures": measures}
