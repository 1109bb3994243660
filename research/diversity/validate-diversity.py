"""Validate the per-class diversity measures on generators of known diversity (docs/results/diversity.md).

usage: .venv/bin/python research/diversity/validate-diversity.py EVALUATOR_DIR [OUT_JSON]
Uses Fashion-MNIST's test split: per class 500 real reference images, and "generators" of k modes built from the
other 500 (repeated, shifted by up to 1 px, Gaussian noise 0.04), in the evaluator's features and in pixel space
(14 px), at the evaluation's 500 samples per class and at the training monitor's 32; then "generators" that drop a
part of each class (its darkest half, its most textured half, one visual cluster, all but its most typical 30%) at
150 distinct images per class, against real data's own spread over five draws
(dropped_subpopulations.py, beside this script).
"""
import json
import sys
import time

from dropped_subpopulations import validate_cuts  # beside this script: its folder is on sys.path
from known_diversity import pixel_features, validate

from acgan.config import TrainConfig
from acgan.data import load_data
from acgan.evaluation.evaluator import load_evaluator
from acgan.io import atomic_write_json
from acgan.training.monitor import VERDICT_LEVELS

if len(sys.argv) < 2 or {"-h", "--help"} & set(sys.argv[1:]):
    sys.exit(__doc__)
ev = load_evaluator(sys.argv[1])
out = sys.argv[2] if len(sys.argv) > 2 else None
test = load_data(TrainConfig(dataset="fashion-mnist"), None, split="test")
spaces = {"evaluator": lambda x: ev.run(x)[1], "pixels": pixel_features}
results = {}
# evaluation (evaluator features, its levels), and the training monitor (pixels, 32 per class, its own levels)
for space, per_class, levels in (("evaluator", None, None), ("pixels", None, None), ("pixels", 32, VERDICT_LEVELS)):
    start = time.time()
    r = validate(spaces[space], test.images, test.labels, 10, per_class=per_class, rule_levels=levels,
                 log=lambda m: None)
    r.pop("rows")
    key = f"{space}-{r['per_class']}"
    results[key] = dict(r, seconds=round(time.time() - start, 1))
    print(f"\n### {space} features, {r['per_class']} samples per class ({time.time() - start:.0f} s)\n")
    ks = r["ks"]
    print("| measure | " + " | ".join(f"k={k}" for k in ks) + " | in order | largest k called collapsed | passes |")
    print("|---|" + "---|" * (len(ks) + 3))
    for name, m in r["measures"].items():
        vals = " | ".join(f"{m['mean_by_k'][k]:.3f}" + (" *" if m["share_flagged_by_k"][k] > 0.5 else "")
                          for k in ks)
        print(f"| {name} | {vals} | {'yes' if m['ranks_in_order'] else 'no'} | "
              f"{m['largest_k_called_collapsed'] or '-'} | {'yes' if m['passes'] else 'no'} |")
    print(f"\nlevels: {json.dumps({k: round(v, 3) for k, v in r['levels'].items()})} (recall, coverage below; "
          "intra_fid, ms_ssim above; distance_ratio below 0.5 unless listed)")
for space in ("evaluator", "pixels"):
    start = time.time()
    r = validate_cuts(spaces[space], test.images, test.labels, 10, log=lambda m: None)
    results[f"cuts-{space}-{r['per_class']}"] = dict(r, seconds=round(time.time() - start, 1))
    print(f"\n### dropped sub-populations, {space} features, {r['per_class']} distinct samples per class "
          f"({time.time() - start:.0f} s)\n")
    cuts = r["cuts"]
    print("| measure | real (spread over 5 draws) | " + " | ".join(cuts) + " | detects every cut |")
    print("|---|---|" + "---|" * (len(cuts) + 1))
    for name, m in r["measures"].items():
        vals = " | ".join(f"{m['by_cut'][c]:.3f}" + (" **yes**" if m["detected"][c] else " no") for c in cuts)
        print(f"| {name} | {m['baseline_mean']:.3f} ({m['baseline_spread']:.3f}) | {vals} | "
              f"{'yes' if m['detects_every_cut'] else 'no'} |")
if out:
    atomic_write_json(out, results)
