#!/usr/bin/env bash
# The paper's model against the CPU-sized BigGAN pair at 64 px on a one-folder-per-class zip (CIFAR-10's, say),
# at equal CPU time, judged by the 64 px evaluator; the evaluator at 32 and 64 px; both models' steps/s and peak
# memory at 128 px. Results: docs/results/family.md ("The 64 and 128 px presets on a CPU") and docs/benchmarks.md.
# usage: research/scripts/compare-64px.sh CIFAR_ZIP OUT [MINUTES]   (about 4 x MINUTES + 25 minutes on a 2-core CPU)
set -euo pipefail
ZIP=$1; OUT=$2; MIN=${3:-10}
ACGAN=${ACGAN:-.venv/bin/acgan}; PY=${PYTHON:-.venv/bin/python}
mkdir -p "$OUT"
for r in 32 64; do
  [ -f "$OUT/ev$r/evaluator.json" ] || $ACGAN train-classifier --dataset folder --data-dir "$ZIP" --resolution $r \
      --width 24 --epochs 5 --out "$OUT/ev$r" --quiet
done
$ACGAN experiment recipes --dataset folder --data-dir "$ZIP" --set resolution=64 \
    --recipes acgan@paper-imagenet,adc@modern-64-cpu --minutes "$MIN" --seeds 0 --evaluator "$OUT/ev64" \
    --out "$OUT/recipes64"
$PY - "$ZIP" "$OUT" <<'PY'
import json, resource, subprocess, sys
zip_, out = sys.argv[1:3]
code = """
import json, resource, sys, time
from acgan.config import assemble
from acgan.training.data import load_training_data
from acgan.training.loop import Trainer
cfg = assemble(sys.argv[1], {"dataset": "folder", "data_dir": sys.argv[2], "resolution": 128, "monitor_every": 0})
trainer = Trainer(cfg, load_training_data(cfg))
for _ in range(2):
    trainer.train_step()
start = time.perf_counter()
for _ in range(10):
    trainer.train_step()
sec = (time.perf_counter() - start) / 10
print(json.dumps({"preset": sys.argv[1], "steps_s": 1 / sec, "images_s": cfg.batch_size / sec,
                  "batch": cfg.batch_size, "precision": trainer.precision,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
rows = []
for preset in ("paper-imagenet", "modern-128-cpu"):
    res = subprocess.run([sys.executable, "-c", code, preset, zip_], capture_output=True, text=True, check=True)
    rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    print(rows[-1])
evs = {r: json.load(open(f"{out}/ev{r}/evaluator.json"))["test_accuracy"] for r in (32, 64)}
json.dump({"at_128": rows, "evaluator_test_accuracy": evs}, open(f"{out}/at128.json", "w"), indent=1)
print("evaluator test accuracy", evs)
PY
