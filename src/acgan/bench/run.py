"""Benchmarks: warm-up, then the median of several timed runs; CUDA synchronised before every clock read.

Training speed runs in one fresh subprocess per (loop, arch, batch), so that each reports its own peak memory.
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from ..config import assemble
from ..data import ImageData
from ..device import autocast, resolve_device, resolve_precision
from ..training.loop import Trainer
from .baseline import BaselineLoop

SHAPES = {"dcgan-small": (1, 28), "paper-cifar": (3, 32)}  # (channels, px): Fashion-MNIST-like and CIFAR-like


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, *, warmup: int, iters: int, repeats: int) -> float:
    """Median seconds per call of fn over `repeats` runs of `iters` calls, after `warmup` calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        sync(device)
        runs.append((time.perf_counter() - start) / iters)
    return statistics.median(runs)


def synthetic_data(arch: str, n: int = 2048, k: int = 10, shape: tuple[int, int] | None = None) -> ImageData:
    """n random images of k classes, `shape` (channels, px) or the arch's own in SHAPES."""
    c, px = shape or SHAPES[arch]
    gen = torch.Generator().manual_seed(0)
    return ImageData(torch.randint(0, 256, (n, c, px, px), dtype=torch.uint8, generator=gen),
                     torch.arange(n) % k, [str(i) for i in range(k)], list(range(k)))


def matmul_peak(device, dtype, size: int = 2048) -> float:
    """FLOP/s of a square matmul in `dtype`: the reference for the MFU figure."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    sec = timed(lambda: a @ b, device, warmup=1, iters=3, repeats=3)
    return 2 * size ** 3 / sec


def step_flops(trainer: Trainer) -> int:
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        trainer.train_step()
    return counter.get_total_flops()


def train_worker(loop: str, arch: str, batch: int, device_name: str, precision: str, iters: int) -> dict:
    """One measurement, meant to run in its own process: images/s, peak memory, and (ours) MFU."""
    device = resolve_device(device_name)
    data = synthetic_data(arch)
    cfg = assemble(None, {"arch": arch, "batch_size": batch, "device": device_name, "precision": precision,
                          "monitor_every": 0})
    trainer = Trainer(cfg, data)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    if loop == "ours":
        step = trainer.train_step
    else:
        base = BaselineLoop(trainer.G, trainer.D, data.images.load(), data.labels, batch, device)
        step = base.train_step
    sec = timed(step, device, warmup=5, iters=iters, repeats=3)
    out = {"loop": loop, "arch": arch, "batch": batch, "device": device.type,
           "precision": trainer.precision if loop == "ours" else "fp32", "images_per_s": batch / sec,
           "step_ms": sec * 1e3}
    if device.type == "cuda":
        out["peak_memory_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20
    else:
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if loop == "ours":
        flops = step_flops(trainer)
        dtype = torch.bfloat16 if trainer.precision == "bf16" else torch.float32
        peak = matmul_peak(device, dtype)
        out.update(flops_per_step=flops, achieved_flops=flops / sec, matmul_peak_flops=peak, mfu=flops / sec / peak)
    return out


def train_speed(device: str, precision: str, iters: int, archs, batches, log) -> list[dict]:
    rows = []
    for arch in archs:
        for batch in batches:
            for loop in ("baseline", "ours"):
                cmd = [sys.executable, "-m", "acgan.bench.worker", loop, arch, str(batch), device, precision,
                       str(iters)]
                res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode:
                    raise RuntimeError(f"bench worker failed: {res.stderr[-2000:]}")
                rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
                log(f"  {loop:8s} {arch:12s} batch {batch:3d}: {rows[-1]['images_per_s']:8.1f} images/s")
    return rows


def ms_ssim_speed(device, log=print) -> list[dict]:
    from ..metrics import ms_ssim
    try:  # the reference is a test extra: without it the bench times ours alone rather than stopping
        from pytorch_msssim import ms_ssim as reference
    except ImportError:
        reference = None
        log("  pytorch-msssim is not installed (pip install pytorch-msssim): timing ours alone")
    rows = []
    for px, c, n in ((192, 3, 16), (32, 3, 256), (28, 1, 256)):
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(n, c, px, px, generator=gen).to(device)
        y = torch.rand(n, c, px, px, generator=gen).to(device)
        ours = timed(lambda: ms_ssim(x, y, data_range=1.0), device, warmup=2, iters=5, repeats=3)
        row = {"px": px, "channels": c, "pairs": n, "ours_pairs_per_s": n / ours}
        if px > 160 and reference is not None:
            ref = timed(lambda: reference(x, y, data_range=1.0, size_average=False), device, warmup=2, iters=5,
                        repeats=3)
            row.update(pytorch_msssim_pairs_per_s=n / ref, ratio=ref / ours)
        rows.append(row)
    return rows


def feature_speed(device, precision: str) -> list[dict]:
    from ..evaluation.evaluator import EvalNet
    from ..evaluation.evaluator.inception import random_weights_inception
    rows = []
    net = EvalNet(1, 10).to(device).eval()
    x = torch.rand(500, 1, 28, 28, device=device) * 2 - 1
    for prec in ("fp32", precision):
        def run_eval():
            with torch.no_grad(), autocast(device, prec):
                net(x)
        rows.append({"network": "evaluator (28 px)", "precision": prec, "images_per_s":
                     500 / timed(run_eval, device, warmup=2, iters=3, repeats=3)})
    # the TF-compatible Inception with random weights: speed does not depend on the values
    inc = random_weights_inception(["2048", "logits_unbiased"]).to(device)
    imgs = torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8, device=device)
    with torch.no_grad():
        sec = timed(lambda: inc(imgs), device, warmup=1, iters=2, repeats=3)
    rows.append({"network": "Inception-v3 (TF 2015, 299 px)", "precision": "fp32", "images_per_s": 32 / sec})
    return rows


def monitor_share(device_name: str, precision: str) -> dict:
    """The mode-collapse monitor's cost at its defaults, as a share of the training time between two checks."""
    data = synthetic_data("dcgan-small")
    cfg = assemble(None, {"batch_size": 64, "device": device_name, "precision": precision})
    trainer = Trainer(cfg, data)
    device = trainer.device
    step = timed(trainer.train_step, device, warmup=5, iters=20, repeats=3)
    check = timed(lambda: trainer.monitor.measure(trainer.G, autocast(device, trainer.precision)), device,
                  warmup=1, iters=2, repeats=3)
    return {"monitor_every": cfg.monitor_every, "check_s": check, "step_s": step,
            "share": check / (check + cfg.monitor_every * step)}


def run_all(device_name: str = "auto", precision: str = "auto", iters: int = 30, quick: bool = False, log=print):
    device = resolve_device(device_name)
    precision = resolve_precision(precision, device)
    archs = ["dcgan-small"] if quick else ["dcgan-small", "paper-cifar"]
    batches = [64] if quick else [64, 100]
    log(f"device {device.type} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'CPU'}), "
        f"{torch.get_num_threads()} threads, ours in {precision}")
    log("training speed")
    train = train_speed(device_name, precision, iters, archs, batches, log)
    log("MS-SSIM")
    msssim = ms_ssim_speed(device, log)
    log("feature networks")
    features = feature_speed(device, precision)
    log("collapse monitor")
    monitor = monitor_share(device_name, precision)
    return {"device": device.type, "device_name": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
            "threads": torch.get_num_threads(), "torch": torch.__version__, "train": train, "ms_ssim": msssim,
            "features": features, "monitor": monitor}
