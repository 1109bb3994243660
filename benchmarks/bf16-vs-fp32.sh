#!/usr/bin/env bash
# Sample quality at equal steps, bf16 autocast against fp32: the demo preset trained three times (fp32 seed 0, bf16
# seeds 0 and 1, so the seed-to-seed spread shows what "within noise" means), then `acgan check` on each.
# About 20 CPU minutes; docs/benchmarks.md, "Sample quality: bf16 against fp32". Needs an evaluator: acgan train-classifier --out evaluators/fashion-mnist
set -euo pipefail
EV=${EV:-evaluators/fashion-mnist}
ACGAN=${ACGAN:-.venv/bin/acgan}
for run in fp32:0 bf16:0 bf16:1; do
  prec=${run%%:*}; seed=${run##*:}
  out=runs/quality-$prec-seed$seed
  [ -f "$out/checkpoints/ckpt-0004000.pt" ] || $ACGAN train --preset paper-fashion-mnist --precision "$prec" --seed "$seed" \
      --out "$out" --force --quiet
  $ACGAN check "$out" --evaluator "$EV" --per-class 500 > "$out/check.json"
  python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/check.json"))
print(f"{sys.argv[1]}: accuracy {d['accuracy']:.4f}, min diversity ratio {d['min_diversity_ratio']:.3f}, "
      "per-class accuracy " + " ".join(f"{r['accuracy']:.2f}" for r in d["per_class"])
      + ", per-class MS-SSIM " + " ".join(f"{r['ms_ssim']:.3f}" for r in d["per_class"]))
PY
done
