"""A preset's training step, eager against torch.compile, side by side in one process (docs/benchmarks.md, "GPU").

Synthetic images at the preset's resolution (speed does not depend on the pixels). For each mode: seconds to the
first step (compiling included), then the median step time over --steps steps, images/s and peak GPU memory.

usage: .venv/bin/python benchmarks/bench-compile.py PRESET [PRESET...] [--device cuda] [--steps 20] [--set key=value]
"""
import argparse
import json
import time

import torch

from acgan.bench.run import sync, synthetic_data, timed
from acgan.config import assemble
from acgan.training.loop import Trainer

parser = argparse.ArgumentParser()
parser.add_argument("presets", nargs="+")
parser.add_argument("--device", default="cuda")
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--set", action="append", default=[], dest="sets")
args = parser.parse_args()
cuda = args.device == "cuda"

for preset in args.presets:
    for compiled in (False, True):
        cfg = assemble(preset, {"device": args.device, "monitor_every": 0, "compile": compiled}, args.sets)
        px = cfg.resolution or 32
        data = synthetic_data(cfg.arch, n=4 * cfg.batch_size, shape=(3, px))
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        trainer = Trainer(cfg, data)  # compiling, when asked, happens here (a proven trial step)
        trainer.train_step()
        sync(trainer.device)
        first = time.perf_counter() - start
        step = timed(trainer.train_step, trainer.device, warmup=3, iters=1, repeats=args.steps)  # median step
        print(json.dumps({"preset": preset, "mode": trainer.compile_note, "precision": trainer.precision,
                          "batch_size": cfg.batch_size, "px": px, "first_step_s": round(first, 2),
                          "step_s": step, "images_per_s": cfg.batch_size / step,
                          "peak_memory_mb": torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else None}),
              flush=True)
        del trainer
