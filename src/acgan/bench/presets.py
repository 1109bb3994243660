"""`acgan bench --presets`: each preset's own training step on this machine, one fresh process per preset (its own
peak memory): steps/s, images/s, FLOPs a step (torch.utils.flop_counter) and MFU against this machine's measured
matmul peak in the preset's precision.

The data are random images of the preset's data set's shape (a folder preset: 3 channels at its resolution), 10
classes: the step's arithmetic does not depend on the pixels, and a class count only sizes the output heads.

On CUDA each preset is timed in three ways, side by side: `eager` (the plain step), `captured` (the step replayed
from a CUDA graph, training/captured.py) and `public loop` (the usual one-file AC-GAN loop, baseline.py, on the same
G and D; where the preset's D does not answer as an AC-GAN's, that row is left out and the log says why)."""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import torch

from ..config import assemble, load_yaml, preset_names
from ..device import resolve_device
from ..models import default_resolution
from ..training.captured import WARMUP
from ..training.loop import Trainer
from .baseline import BaselineLoop
from .run import matmul_peak, step_flops, sync, synthetic_data

# the presets sized for a 2-core CPU (docs/training.md, "Presets"); the others are sized for a GPU
CPU_PRESETS = ("demo", "demo-long", "paper-fashion-mnist", "cifar-cpu", "small-64-cpu", "modern-64-cpu",
               "modern-128-cpu")
NATIVE = {"fashion-mnist": (1, 28), "mnist": (1, 28), "cifar10": (3, 32)}  # other data sets: 3 channels


def selection(spec: str) -> list[str]:
    """The presets `spec` names, comma-separated: preset names, YAML files, and the groups `cpu` (the presets sized
    for a CPU), `gpu` (the others) and `all`."""
    names, chosen = preset_names(), []
    groups = {"all": names, "cpu": [n for n in names if n in CPU_PRESETS],
              "gpu": [n for n in names if n not in CPU_PRESETS]}
    for item in (s.strip() for s in spec.split(",")):
        if item in groups:
            chosen += groups[item]
        elif item:
            load_yaml(item)  # an unknown name: one line naming the presets
            chosen.append(item)
    return list(dict.fromkeys(chosen))


def label(preset: str, overrides=()) -> str:
    """A row's name: the preset and the keys changed in it."""
    return " ".join([preset, *overrides])


def preset_shape(cfg) -> tuple[int, int]:
    """(channels, px) the preset trains at on its own data set."""
    channels, native = NATIVE.get(cfg.dataset, (3, cfg.resolution or 32))
    return channels, cfg.resolution or default_resolution(cfg.arch, native)


def preset_trainer(preset: str, device_name: str, overrides=(), n: int | None = None) -> tuple[Trainer, object]:
    """(a trainer of `preset` with `overrides`, KEY=VALUE, and its data): `n` random images of the preset's shape,
    10 classes (default: two steps' batches, at least 512); the collapse monitor off."""
    cfg = assemble(preset, {"device": device_name}, ["monitor_every=0", *overrides])
    channels, px = preset_shape(cfg)
    data = synthetic_data(cfg.arch, n=n or max(512, 2 * cfg.batch_size * cfg.d_steps), shape=(channels, px))
    return Trainer(cfg, data), data


MODES = ("eager", "captured", "public loop")


def modes_for(device: str) -> tuple[str, ...]:
    return MODES if resolve_device(device).type == "cuda" else ("eager",)


def preset_worker(preset: str, device_name: str, seconds: float, overrides=(), mode: str = "eager") -> dict:
    """One preset's step (with `overrides`, KEY=VALUE) timed in this process in `mode` (MODES): warm-up steps (two;
    for a captured step WARMUP eager ones, the recording and a replay), then whole steps for at least `seconds` (and
    at least 3). FLOPs are counted on the eager step only (a replay runs no Python for the counter to see)."""
    device = resolve_device(device_name)
    extra = ["cuda_graphs=true"] if mode == "captured" else []
    trainer, data = preset_trainer(preset, device_name, [*overrides, *extra])
    cfg, (channels, px) = trainer.cfg, preset_shape(trainer.cfg)
    step = trainer.train_step
    if mode == "public loop":
        step = BaselineLoop(trainer.G, trainer.D, data.images.load(), data.labels, cfg.batch_size, device).train_step
    trainer.say = lambda msg: print(msg, file=sys.stderr)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(WARMUP + 2 if mode == "captured" else 2):
        step()
    sync(device)
    steps, start = 0, time.perf_counter()
    while steps < 3 or time.perf_counter() - start < seconds:
        step()
        steps += 1
        if steps % 5 == 0:
            sync(device)
    sync(device)
    sec = (time.perf_counter() - start) / steps
    flops = step_flops(trainer) if mode == "eager" else None
    precision = "fp32" if mode == "public loop" else trainer.precision
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    peak = matmul_peak(device, dtype)
    memory = (torch.cuda.max_memory_allocated() if device.type == "cuda"
              else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2 ** 20
    replayed = mode == "captured" and trainer.replay is not None and trainer.replay.graph is not None
    public = mode == "public loop"
    return {"preset": label(preset, overrides), "mode": "eager" if mode == "captured" and not replayed else mode,
            "note": "baseline.py" if public else trainer.compile_note,
            "shape": f"{channels}x{px}", "batch": cfg.batch_size, "d_steps": 1 if public else cfg.d_steps,
            "precision": precision, "steps_per_s": 1 / sec, "images_per_s": cfg.batch_size / sec,
            "flops_per_step": flops, "mfu": flops / sec / peak if flops else None, "matmul_peak_flops": peak,
            "peak_mb": memory, "gpu": device_label(device)}


def device_label(device: torch.device) -> str:
    """The GPU's name, or the CPU's model name: a speed figure names its machine."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "CPU"
    return f"cpu: {model}, {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads"


def preset_speed(names: list[str], device: str, seconds: float, log, overrides=()) -> list[dict]:
    for name in names:  # a bad name or --set is one line here, not a worker's traceback
        assemble(name, {"device": device}, ["monitor_every=0", *overrides])
    modes = modes_for(device)
    log(f"timing {len(names)} preset{'s' if len(names) > 1 else ''} ({', '.join(modes)}), each in a process of its "
        f"own: its set-up, warm-up steps, then at least {seconds:g} s")
    rows, width = [], max(20, *(len(label(n, overrides)) for n in names))
    for name in names:
        eager = None
        for mode in modes:
            res = subprocess.run([sys.executable, "-m", "acgan.bench.worker", "preset", name, device, str(seconds),
                                  mode, *overrides], capture_output=True, text=True)
            if res.returncode and mode == "public loop":  # a D that is not an AC-GAN's, say: no row, and why
                log(f"  {label(name, overrides):{width}s} public loop: failed ({_last_line(res.stderr)})")
                continue
            if res.returncode:
                raise RuntimeError(f"bench of preset {name} ({mode}) failed: {res.stderr[-2000:]}")
            r = with_eager_flops(json.loads(res.stdout.strip().splitlines()[-1]), eager)
            eager = eager or r
            rows.append(r)
            mfu = f"MFU {r['mfu']:6.1%}" if r["mfu"] is not None else ""
            log(f"  {r['preset']:{width}s} {r['mode']:11s} {r['steps_per_s']:8.2f} steps/s "
                f"{r['images_per_s']:9.1f} images/s  {mfu}")
    return rows


def with_eager_flops(row: dict, eager: dict | None) -> dict:
    """A captured row takes the eager row's FLOPs and so has an MFU: the same step's arithmetic, replayed. The
    public loop's step is another computation: no FLOPs, no MFU."""
    if row["mode"] == "captured" and eager is not None:
        row = dict(row, flops_per_step=eager["flops_per_step"])
        row["mfu"] = row["flops_per_step"] * row["steps_per_s"] / row["matmul_peak_flops"]
    return row


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else "no output"


def format_presets(rows: list[dict]) -> str:
    if not rows:
        return ""
    width = max(20, *(len(r["preset"]) for r in rows))
    lines = [f"presets on {rows[0]['gpu']} (random data of each preset's shape; MFU = achieved FLOP/s / the "
             "measured matmul peak in the preset's precision)",
             f"{'preset':{width}s} {'mode':11s} {'shape':>6s} {'batch':>5s} {'D':>2s} {'prec':>5s} {'steps/s':>8s} "
             f"{'images/s':>9s} {'GFLOP/step':>10s} {'MFU':>6s} {'peak MB':>8s} {'100k steps':>10s}"]
    for r in rows:
        flops = f"{r['flops_per_step'] / 1e9:10.2f}" if r["flops_per_step"] else f"{'':10s}"
        mfu = f"{r['mfu']:6.1%}" if r["mfu"] is not None else f"{'':6s}"
        lines.append(f"{r['preset']:{width}s} {r['mode']:11s} {r['shape']:>6s} {r['batch']:5d} {r['d_steps']:2d} "
                     f"{r['precision']:>5s} {r['steps_per_s']:8.2f} {r['images_per_s']:9.1f} {flops} {mfu} "
                     f"{r['peak_mb']:8.0f} {1e5 / r['steps_per_s'] / 3600:9.1f}h")
    return "\n".join(lines)
