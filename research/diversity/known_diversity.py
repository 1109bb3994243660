"""Validation of the diversity measures on "generators" of known diversity (validate-diversity.py beside it makes
docs/results/diversity.md's tables with it; the evaluation itself does not use it).

From a data set's real test images, per class: half is the real reference, the other half the pool. A generator
with k modes draws `per_class` images from k pool images, each repeated and lightly jittered (a random shift of up
to `shift` px and Gaussian noise); k = "all" uses every pool image once, jittered: as varied as real data. A
trustworthy measure ranks the k in order and calls small k collapsed but not "all".
"""
from __future__ import annotations

import torch

from acgan.evaluation.steps.class_diversity import FIXED_LEVELS, intra_fid_level, measure_class
from acgan.metrics import class_ms_ssim
from acgan.metrics.collapse import DIRECTIONS, FIDELITY, fired
from acgan.metrics.prdc import pixel_features  # noqa: F401 (the network-free feature space validated here)
from acgan.pixels import to_unit

KS = (1, 2, 5, 20, 100, "all")
MEASURES = {**DIRECTIONS, **FIDELITY}  # measure -> the side on which a low-variety generator lies


def split_reference_pool(images_u8, labels, num_classes: int, seed: int = 0):
    """Per class, a random half as the real reference and the rest as the pool: (ref images, ref labels, pools)."""
    gen = torch.Generator().manual_seed(seed)
    ref, ref_labels, pools = [], [], []
    for c in range(num_classes):
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        half = len(idx) // 2
        ref.append(images_u8[idx[:half]])
        ref_labels.append(torch.full((half,), c))
        pools.append(images_u8[idx[half:]])
    return torch.cat(ref), torch.cat(ref_labels), pools


def k_mode_generator(pool_u8: torch.Tensor, k, per_class: int, seed: int, shift: int = 1,
                     noise: float = 0.04) -> torch.Tensor:
    """`per_class` images in [-1, 1] from k distinct pool images ("all": the whole pool), repeated and jittered."""
    gen = torch.Generator().manual_seed(seed)
    k = len(pool_u8) if k == "all" else min(k, len(pool_u8))
    modes = to_unit(pool_u8[torch.randperm(len(pool_u8), generator=gen)[:k]])
    x = modes[torch.arange(per_class) % k].clone()
    for i in range(per_class):
        dy, dx = torch.randint(-shift, shift + 1, (2,), generator=gen).tolist()
        x[i] = torch.roll(x[i], shifts=(dy, dx), dims=(-2, -1))
    return (x + noise * torch.randn(x.shape, generator=gen)).clamp(-1, 1)


@torch.no_grad()
def validate(features, images_u8, labels, num_classes: int, *, ks=KS, per_class: int | None = None,
             pairs: int = 100, seed: int = 0, rule_levels: dict | None = None, log=print) -> dict:
    """Every measure for every k and class, with `features(images in [-1, 1]) -> [N, D]` (the evaluator's, or
    pixels); per measure the class mean by k, whether it ranks the k in order, and the largest k it calls collapsed
    in a majority of classes. `rule_levels` replaces the evaluation's fixed collapse levels (the monitor's own)."""
    ref_u8, ref_labels, pools = split_reference_pool(images_u8, labels, num_classes, seed)
    per_class = per_class or min(len(p) for p in pools)
    # as many real as generated images per class, as the evaluation and the monitor compare them
    keep = torch.cat([(ref_labels == c).nonzero().flatten()[:per_class] for c in range(num_classes)])
    ref_u8, ref_labels = ref_u8[keep], ref_labels[keep]
    ref = to_unit(ref_u8)
    ref_feats = features(ref)
    levels = {**FIXED_LEVELS, "intra_fid": intra_fid_level(ref_feats, ref_labels, num_classes),
              **(rule_levels or {})}
    levels["ms_ssim"] = max(r["mean"] for r in class_ms_ssim(ref, ref_labels, num_classes, pairs, seed))
    rows = {}
    for k in ks:
        per = []
        for c in range(num_classes):
            fake = k_mode_generator(pools[c], k, per_class, seed + c)
            feats = features(fake)
            m = measure_class(feats, ref_feats[ref_labels == c], fake, pairs, seed)
            m["fired"] = fired(m, levels)
            per.append(m)
        rows[str(k)] = per
        log(f"k = {k}: " + ", ".join(f"{n} {sum(p[n] for p in per) / len(per):.3f}" for n in MEASURES
                                     if n in per[0]))
    return summarise(rows, levels, num_classes, per_class)


def summarise(rows: dict, levels: dict, num_classes: int, per_class: int) -> dict:
    ks = list(rows)
    measures = {}
    for name, direction in MEASURES.items():
        if name not in rows[ks[0]][0]:
            continue
        means = [sum(r[name] for r in rows[k]) / num_classes for k in ks]
        # more modes must read as more diverse: up for "below" measures, down for "above" ones
        ordered = all((b >= a) if direction == "below" else (b <= a) for a, b in zip(means, means[1:]))
        flagged = {k: sum(name in r["fired"] for r in rows[k]) / num_classes for k in ks}
        called = [k for k in ks if flagged[k] > 0.5]
        largest = max((k for k in called if k != "all"), key=int, default=None)
        passes = name in DIRECTIONS and ordered and "all" not in called and "5" in called
        measures[name] = {"mean_by_k": dict(zip(ks, means)), "ranks_in_order": ordered,
                          "share_flagged_by_k": flagged, "largest_k_called_collapsed": largest,
                          "calls_all_real_collapsed": "all" in called, "passes": passes}
    return {"ks": ks, "levels": levels, "measures": measures, "classes": num_classes, "per_class": per_class,
            "rows": rows}

