"""`precision: auto` on a CPU with bf16 instructions: whichever of fp32 and bf16 autocast trains this model faster
here, timed once and remembered.

bf16 instructions do not make every model faster: a narrow pair spends much of its step in small convolutions and
conversions, and the demo's pair trained slower in bf16 than in fp32 on one AVX512-BF16 CPU and faster on another.
So the choice is timed on the model itself: a G forward, a D forward
and the backward pass of both, on copies of the two networks at the run's batch size, three times in each precision
after a warm-up; bf16 only when at least 5% faster (fp32 is the reference). The answer is kept in the cache folder
per CPU signature and model shape, so every run of that model on that machine trains in the same precision.
"""
from __future__ import annotations

import copy
import time

import torch
from torch import nn

from ..device import autocast, cpu_has_fast_bf16, cpu_signature, resolve_precision
from ..io import read_choices, write_choices
from ..locations import cache_dir

MARGIN = 0.95  # bf16 must take at most this share of fp32's time


def choose_precision(name: str, device: torch.device, G: nn.Module, D: nn.Module, *, z_dim: int, num_classes: int,
                     batch_size: int, shape_key: str, measure: bool = True) -> tuple[str, str]:
    """(precision, why): `name` unless it is auto; on CUDA, or without bf16 instructions, or when not `measure`
    (several processes must agree without timing each), the instruction-set rule; else the timed choice."""
    if name != "auto":
        return name, "set"
    if device.type != "cpu":
        return resolve_precision(name, device), "auto"
    if not cpu_has_fast_bf16():
        return "fp32", "auto: no bf16 instructions"
    if not measure:
        return "bf16", "auto: bf16 instructions, untimed"
    key = f"{cpu_signature()} | {shape_key} batch {batch_size}"
    stored = read_choices(_path())
    if key not in stored:
        stored[key] = _time(G, D, device, z_dim, num_classes, batch_size)
        write_choices(_path(), stored)
    times = stored[key]
    chosen = "bf16" if times["bf16"] <= MARGIN * times["fp32"] else "fp32"
    return chosen, f"auto, timed here: bf16 {times['fp32'] / times['bf16']:.2f}x fp32's speed"


def _time(G: nn.Module, D: nn.Module, device: torch.device, z_dim: int, num_classes: int, batch_size: int) -> dict:
    rng = torch.get_rng_state()  # D's dropout draws from the global stream: training must not see the timing
    try:
        g, d = copy.deepcopy(G).train(), copy.deepcopy(D).train()
        gen = torch.Generator().manual_seed(0)
        z = torch.randn(batch_size, z_dim, generator=gen).to(device)
        labels = torch.randint(0, num_classes, (batch_size,), generator=gen).to(device)
        seconds = {}
        for precision in ("fp32", "bf16", "fp32", "bf16"):  # interleaved: a machine's speed drifts
            runs = []
            for i in range(4):
                start = time.perf_counter()
                with autocast(device, precision):
                    outputs = d(g(z, labels))
                sum(t.float().mean() for t in outputs).backward()
                if i:  # the first is a warm-up
                    runs.append(time.perf_counter() - start)
            seconds[precision] = min(seconds.get(precision, float("inf")), min(runs))
        return seconds
    finally:
        torch.set_rng_state(rng)


def _path():
    return cache_dir() / "precision.json"
