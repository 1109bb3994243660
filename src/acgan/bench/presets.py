"""`acgan bench --presets`: each preset's own training step on this machine, one fresh process per preset (its own
peak memory): steps/s, images/s, FLOPs a step (torch.utils.flop_counter) and MFU against this machine's measured
matmul peak in the preset's precision.

The data are random images of the preset's data set's shape (a folder preset: 3 channels at its resolution), 10
classes: the step's arithmetic does not depend on the pixels, and a class count only sizes the output heads."""
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
from ..training.loop import Trainer
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


def preset_worker(preset: str, device_name: str, seconds: float, overrides=()) -> dict:
    """One preset's step (with `overrides`, KEY=VALUE) timed in this process: two warm-up steps, then whole steps
    for at least `seconds` (and at least 3)."""
    device = resolve_device(device_name)
    cfg = assemble(preset, {"device": device_name}, ["monitor_every=0", *overrides])
    channels, px = preset_shape(cfg)
    data = synthetic_data(cfg.arch, n=max(512, 2 * cfg.batch_size * cfg.d_steps), shape=(channels, px))
    trainer = Trainer(cfg, data)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(2):
        trainer.train_step()
    sync(device)
    steps, start = 0, time.perf_counter()
    while steps < 3 or time.perf_counter() - start < seconds:
        trainer.train_step()
        steps += 1
        if steps % 5 == 0:
            sync(device)
    sync(device)
    sec = (time.perf_counter() - start) / steps
    flops = step_flops(trainer)
    dtype = torch.bfloat16 if trainer.precision == "bf16" else torch.float32
    peak = matmul_peak(device, dtype)
    memory = (torch.cuda.max_memory_allocated() if device.type == "cuda"
              else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2 ** 20
    return {"preset": label(preset, overrides), "mode": "eager", "shape": f"{channels}x{px}", "batch": cfg.batch_size,
            "d_steps": cfg.d_steps, "precision": trainer.precision, "steps_per_s": 1 / sec,
            "images_per_s": cfg.batch_size / sec, "flops_per_step": flops, "mfu": flops / sec / peak,
            "matmul_peak_flops": peak, "peak_mb": memory, "gpu": device_label(device)}


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
    log(f"timing {len(names)} preset{'s' if len(names) > 1 else ''}, each in a process of its own: its set-up, two "
        f"warm-up steps, then at least {seconds:g} s")
    rows, width = [], max(20, *(len(label(n, overrides)) for n in names))
    for name in names:
        res = subprocess.run([sys.executable, "-m", "acgan.bench.worker", "preset", name, device, str(seconds),
                              *overrides], capture_output=True, text=True)
        if res.returncode:
            raise RuntimeError(f"bench of preset {name} failed: {res.stderr[-2000:]}")
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        log(f"  {r['preset']:{width}s} {r['steps_per_s']:8.2f} steps/s {r['images_per_s']:9.1f} images/s  "
            f"MFU {r['mfu']:6.1%}")
    return rows


def format_presets(rows: list[dict]) -> str:
    if not rows:
        return ""
    width = max(20, *(len(r["preset"]) for r in rows))
    lines = [f"presets on {rows[0]['gpu']} (random data of each preset's shape; MFU = achieved FLOP/s / the "
             "measured matmul peak in the preset's precision)",
             f"{'preset':{width}s} {'shape':>6s} {'batch':>5s} {'D':>2s} {'prec':>5s} {'steps/s':>8s} {'images/s':>9s} "
             f"{'GFLOP/step':>10s} {'MFU':>6s} {'peak MB':>8s}"]
    for r in rows:
        lines.append(f"{r['preset']:{width}s} {r['shape']:>6s} {r['batch']:5d} {r['d_steps']:2d} {r['precision']:>5s} "
                     f"{r['steps_per_s']:8.2f} {r['images_per_s']:9.1f} {r['flops_per_step'] / 1e9:10.2f} "
                     f"{r['mfu']:6.1%} {r['peak_mb']:8.0f}")
    return "\n".join(lines)
