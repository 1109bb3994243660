#!/usr/bin/env bash
# The CUDA path, with one JSON summary. By default: the captured step's tests on the GPU (tests/test_cuda_graphs.py,
# which needs pytest: `pip install '.[test]'`; it trains what the eager step trains, fresh noise every replay, no host
# read, a failed recording trains on), the bench of five presets (demo, cifar-cpu, modern-cifar, modern-64,
# StudioGAN's BigGAN shape), each eager, captured and in the public AC-GAN loop side by side (rows in gpu-bench.json:
# copy it to docs/results/), and modern-cifar trained captured for GPU_CHECK_MINUTES, then `check` and `evaluate` on
# it (samples, accuracy, variety, FID in the evaluator's space); the summary says whether its step was replayed.
# GPU_CHECK_ALL=1 adds what the first GPU run checked (about 9 minutes on an H200): `acgan bench --device cuda`;
# modern-cifar and modern-64 trained eagerly for
# GPU_CHECK_SECONDS each; torch.compile; the same training under torchrun (one process: with one GPU torchrun gives
# WORLD_SIZE 1, where acgan trains as one process), and NCCL itself (a one-rank process group, an all-reduce, the
# global BatchNorm); sample on CUDA; with real data (DATA_ZIP) cifar-cpu trained whole and evaluated as on a CPU. The
# test suite does not run it. Numbers go to docs/benchmarks.md ("GPU").
#
# usage: scripts/gpu-check.sh [DATA_ZIP] [OUT]       (DATA_ZIP: one folder per class, CIFAR-10's say; without it,
#        synthetic class folders written here and no quality run; default OUT: gpu-check/)
#        GPU_CHECK_MINUTES (default 2): the captured modern-cifar run; GPU_CHECK_PRESETS: the bench's presets;
#        GPU_CHECK_SET="KEY=VALUE ...": config overrides for every run trained
#        with GPU_CHECK_ALL=1: GPU_CHECK_SECONDS (default 100): seconds each preset trains; GPU_CHECK_QUALITY=0 skips
#        the quality run, GPU_CHECK_QUALITY_STEPS shortens it; GPU_CHECK_COMPILE_BENCH=1 adds eager against
#        torch.compile for modern-cifar and modern-64 (benchmarks/bench-compile.py; up to 5 minutes more)
#        GPU_CHECK_DEVICE=cpu GPU_CHECK_MINUTES=0.2 GPU_CHECK_SET="g_width=8 d_width=8 batch_size=16" \
#            scripts/gpu-check.sh   runs the default steps briefly, on small models, on a CPU
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-}
OUT=${2:-gpu-check}
DEV=${GPU_CHECK_DEVICE:-cuda}
SECONDS_EACH=${GPU_CHECK_SECONDS:-100}
QUALITY=${GPU_CHECK_QUALITY:-1}
SETS=(); for kv in ${GPU_CHECK_SET:-}; do SETS+=(--set "$kv"); done  # config overrides for the runs trained
PY=${PYTHON:-.venv/bin/python}
ACGAN="$PY -m acgan.cli"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)  # absolute: the cache below and every step see the same folder
export ACGAN_CACHE=${ACGAN_CACHE:-$OUT/cache}
log() { echo "[gpu-check $(date +%H:%M:%S)] $*" >&2; }
step() {  # step NAME TIMEOUT COMMAND...: run it, keep its output, record its status and seconds
  local name=$1 limit=$2; shift 2
  local start=$EPOCHREALTIME
  log "$name: $*"
  timeout "$limit" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
  local status=$?
  echo "{\"step\": \"$name\", \"status\": $status, \"seconds\": $(awk "BEGIN {print $EPOCHREALTIME - $start}")}" \
      >> "$OUT/steps.jsonl"
  [ $status -eq 0 ] || log "$name failed ($status): $(tail -3 "$OUT/$name.err")"
}
rm -f "$OUT/steps.jsonl"

if [ ! -e "$DATA" ]; then  # no data given: ten classes of smooth random images
  QUALITY=0
  log "no data ${DATA:+at $DATA }: writing synthetic class folders to $OUT/synthetic"
  DATA="$OUT/synthetic"
  $PY - "$DATA" <<'PY'
import sys, numpy as np
from pathlib import Path
from PIL import Image
rng, root = np.random.default_rng(0), Path(sys.argv[1])
for split, n in (("train", 500), ("test", 100)):
    for c in range(10):
        (root / split / f"c{c}").mkdir(parents=True, exist_ok=True)
        for i in range(n):
            base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
            base[..., c % 3] = 25 * c
            Image.fromarray(base).resize((64, 64), Image.BICUBIC).save(root / split / f"c{c}" / f"{i}.png")
PY
fi

step env 60 $PY -c "import json, torch; print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda,
  'device': torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu',
  'bf16': torch.cuda.is_available() and torch.cuda.is_bf16_supported()}))"
[ "$DEV" = cuda ] && step captured-test 300 $PY -m pytest -q -p no:cacheprovider tests/test_cuda_graphs.py
# five presets, eager, captured and in the public loop (on a CPU: demo, eager only), as rows to keep in the docs'
# results (gpu-bench.json); StudioGAN's BigGAN shape on CIFAR-10, beside its published time for 100,000 steps
BENCHED=demo,cifar-cpu,modern-cifar,modern-64,benchmarks/studiogan-cifar10.yaml
step bench-presets 480 $ACGAN bench --device "$DEV" \
    --presets "${GPU_CHECK_PRESETS:-$([ "$DEV" = cpu ] && echo demo || echo $BENCHED)}" \
    --seconds "$([ "$DEV" = cpu ] && echo 0 || echo 3)" --out "$OUT/gpu-bench.json"
# the quality window: modern-cifar trained captured for a fixed time, then the evaluator and the evaluation
MINUTES=${GPU_CHECK_MINUTES:-2}
step train-captured "$(awk "BEGIN {print int($MINUTES * 60 + 120)}")" $ACGAN train --preset modern-cifar \
    --dataset folder --data-dir "$DATA" --resolution 32 --device "$DEV" --minutes "$MINUTES" \
    --out "$OUT/run-captured" --force --quiet --set cuda_graphs=true --set monitor_every=0 "${SETS[@]}"
step check 180 $ACGAN check "$OUT/run-captured" --per-class 50 --device "$DEV"
step evaluate 240 $ACGAN evaluate "$OUT/run-captured" --device "$DEV" --per-class 50 --real-per-class 50 \
    --pairs 20 --inception off

if [ "${GPU_CHECK_ALL:-0}" = 1 ]; then
step bench 150 $ACGAN bench --device "$DEV" --quick --iters 10 --out "$OUT/bench.json"
for preset in modern-cifar modern-64; do
  res=32; [ $preset = modern-64 ] && res=64
  # steps for SECONDS_EACH seconds, from 10 timed steps
  steps=$($PY - "$preset" "$DATA" "$res" "$DEV" "$SECONDS_EACH" "$OUT/probe-$preset.json" ${GPU_CHECK_SET:-} <<'PY'
import json, sys, time, torch
from acgan.config import assemble
from acgan.training.data import load_training_data
from acgan.training.loop import Trainer
preset, data, res, dev, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
cfg = assemble(preset, {"dataset": "folder", "data_dir": data, "resolution": res, "device": dev, "monitor_every": 0},
               overrides=sys.argv[7:])
t = Trainer(cfg, load_training_data(cfg, log=lambda m: None))
for _ in range(3):
    t.train_step()
torch.cuda.synchronize() if dev == "cuda" else None
start = time.perf_counter()
for _ in range(10):
    t.train_step()
torch.cuda.synchronize() if dev == "cuda" else None
step_s = (time.perf_counter() - start) / 10
peak = torch.cuda.max_memory_allocated() / 2 ** 20 if dev == "cuda" else None
with open(sys.argv[6], "w") as f:  # the probe's own reading: one step's seconds and the memory a step takes
    json.dump({"step_s": step_s, "batch_size": cfg.batch_size, "peak_memory_mb": peak}, f)
print(max(20, int(seconds / step_s)))
PY
)
  steps=${steps:-50}
  step "train-$preset" 240 $ACGAN train --preset $preset --dataset folder --data-dir "$DATA" --resolution $res \
      --device "$DEV" --steps "$steps" --out "$OUT/run-$preset" --force --quiet \
      --set sample_every=100000 --set checkpoint_every=100000 --set monitor_every=0 --set log_every=10 "${SETS[@]}"
done

# cifar-cpu as on a CPU (fp32, its own steps), before the steps that compile: its checkpoint can be evaluated
# anywhere, beside the CPU's readings
[ "$QUALITY" = 1 ] && step quality-train 300 $ACGAN train --preset cifar-cpu --dataset folder --data-dir "$DATA" \
    --device "$DEV" --out "$OUT/quality-cifar-cpu" --force --quiet \
    ${GPU_CHECK_QUALITY_STEPS:+--steps $GPU_CHECK_QUALITY_STEPS} "${SETS[@]}"

step compile 180 $ACGAN train --preset demo --dataset folder --data-dir "$DATA" --resolution 32 --device "$DEV" \
    --steps 60 --out "$OUT/run-compile" --force --quiet --set compile=true --set monitor_every=0
step torchrun 180 $PY -m torch.distributed.run --standalone --nproc_per_node 1 -m acgan.cli train --preset demo \
    --dataset folder --data-dir "$DATA" --resolution 32 --device "$DEV" --steps 60 --out "$OUT/run-torchrun" \
    --force --quiet --set monitor_every=0
# NCCL itself: a one-rank process group on the GPU, an all-reduce, and the global BatchNorm DDP training uses
cat > "$OUT/nccl.py" <<'PY'
import json, torch, torch.distributed as dist
from acgan.training.distributed import GlobalBatchNorm, init_distributed
ctx, device = init_distributed(torch.device("cuda" if torch.cuda.is_available() else "cpu"), force=True)
x = torch.ones(4, device=device)
dist.all_reduce(x)
bn = GlobalBatchNorm(3).to(device)
y = bn(torch.randn(8, 3, 4, 4, device=device))
print(json.dumps({"backend": dist.get_backend(), "world": dist.get_world_size(), "all_reduce": x.tolist(),
                  "global_bn_mean": float(y.detach().mean())}))
dist.destroy_process_group()
PY
step nccl 120 $PY -m torch.distributed.run --standalone --nproc_per_node 1 "$OUT/nccl.py"
step sample 60 $ACGAN sample "$OUT/run-modern-64" --device "$DEV" --per-class 8 --out "$OUT/samples.png" --force

# eager against torch.compile for the GPU presets, side by side (compiling BigGAN took over 100 s on an H200)
[ "${GPU_CHECK_COMPILE_BENCH:-0}" = 1 ] && step bench-compile 300 $PY benchmarks/bench-compile.py modern-cifar modern-64 \
    --device "$DEV" --steps 20 "${SETS[@]}"

# the default evaluation (500 samples a class, every measure), seed 0, on the GPU
[ "$QUALITY" = 1 ] && step quality-evaluate 240 $ACGAN evaluate "$OUT/quality-cifar-cpu" --device "$DEV" --seed 0
fi

$PY - "$OUT" <<'PY' > "$OUT/summary.json"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
summary = {"steps": [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]}
env = out / "env.out"
summary["env"] = json.loads(env.read_text()) if env.is_file() and env.read_text().strip() else None
if (out / "bench.json").is_file():
    b = json.loads((out / "bench.json").read_text())
    summary["bench"] = {"train": b["train"], "ms_ssim": b["ms_ssim"], "features": b["features"]}
for run in [p for p in sorted(out.glob("run-*")) + sorted(out.glob("quality-*")) if p.is_dir()]:
    stats = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()] \
        if (run / "stats.jsonl").is_file() else []
    logs = (run / "log.txt").read_text() if (run / "log.txt").is_file() else ""
    start = next((line.split("start: ", 1)[1] for line in logs.splitlines() if "start: " in line), None)
    late = stats[len(stats) // 2:]
    summary[run.name] = {"steps": stats[-1]["step"] if stats else 0, "summary": start,
                         "images_per_s": sum(r["images_per_s"] for r in late) / len(late) if late else None}
    said = [line.split(" ", 2)[2] for line in logs.splitlines() if "CUDA graph from here" in line
            or "recording failed" in line or "cuda_graphs off" in line]
    if said:  # whether a captured run's step was replayed, and if not, why
        summary[run.name]["cuda_graphs"] = said
    probe = out / f"probe-{run.name.removeprefix('run-')}.json"
    if probe.is_file():
        summary[run.name]["probe"] = json.loads(probe.read_text())
rows = out / "bench-compile.out"
if rows.is_file():
    summary["bench-compile"] = [json.loads(line) for line in rows.read_text().splitlines() if line.startswith("{")]
for name in ("quality-cifar-cpu", "run-captured"):
    quality = out / name / "metrics.json"
    if not quality.is_file():
        continue
    m = json.loads(quality.read_text())
    cd = m["class_diversity"]
    variety = {row["class"]: row["variety"] for row in cd["per_class"]}
    summary.setdefault(name, {}).update({
        "step": m["step"], "accuracy": m["discriminability"]["generated"][str(m["model_resolution"])]["accuracy"],
        "lowest_variety": cd["lowest_variety"], "class_mean_variety": sum(variety.values()) / len(variety),
        "collapsed": cd["collapsed_classes"], "domain_fid": m["domain_metrics"]["fid"], "variety": variety})
rows = out / "gpu-bench.json"
if rows.is_file():
    summary["gpu-bench"] = json.loads(rows.read_text())
print(json.dumps(summary, indent=1))
PY
log "wrote $OUT/summary.json"
cat "$OUT/summary.json"
