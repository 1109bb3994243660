"""BigGAN's self-attention: the fused scaled_dot_product_attention against the matrices written out (the code before
it), in one process, round by round, on a preset's whole training step.

usage: python benchmarks/bench-attention.py [PRESET] [ROUNDS]   (default modern-64-cpu 4; fp32, synthetic data)
Prints each round's seconds a step and the ratio of the two best."""
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from acgan.config import assemble
from acgan.data import load_data
from acgan.kernels import max_pool2x
from acgan.models import biggan
from acgan.training.loop import Trainer


def written_out(self, x):
    b, c, h, w = x.shape
    theta = self.theta(x).flatten(2)
    phi = max_pool2x(self.phi(x)).flatten(2)
    g = max_pool2x(self.g(x)).flatten(2)
    attn = torch.softmax(theta.transpose(1, 2) @ phi, -1)
    return x + self.gamma * self.o((g @ attn.transpose(1, 2)).view(b, -1, h, w))


def interleaved(ways: dict, rounds: int) -> dict:
    """{name: [seconds a step, each round]} of each way, (trainer, attention forward), timed round by round (a warm-up
    step, then 3) so that a noisy machine slows all alike."""
    times = {}
    for _ in range(rounds):
        for name, (trainer, forward) in ways.items():
            biggan.SelfAttention.forward = forward
            trainer.train_step()
            start = time.perf_counter()
            for _ in range(3):
                trainer.train_step()
            times.setdefault(name, []).append((time.perf_counter() - start) / 3)
    return times


def main(preset: str = "modern-64-cpu", rounds: int = 4) -> None:
    root = Path(tempfile.mkdtemp()) / "data"
    cfg = assemble(preset, {"data_dir": str(root), "precision": "fp32", "device": "cpu", "monitor_every": 0})
    rng = np.random.default_rng(0)
    for c in range(3):
        (root / f"c{c}").mkdir(parents=True)
        for i in range(64):
            Image.fromarray(rng.integers(0, 256, (cfg.resolution, cfg.resolution, 3), np.uint8)).save(
                root / f"c{c}" / f"{i}.png")
    trainer = Trainer(cfg, load_data(cfg, cfg.resolution))
    times = interleaved({"written out": (trainer, written_out), "fused": (trainer, biggan.SelfAttention.forward)},
                        rounds)
    for name, t in times.items():
        print(f"{name}: " + " ".join(f"{s:.3f}" for s in t) + f" s a step; best {min(t):.3f}")
    print(f"fused / written out: {min(times['written out']) / min(times['fused']):.2f}x the speed "
          f"({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main(*(sys.argv[1:2] or ["modern-64-cpu"]), *(int(a) for a in sys.argv[2:3]))
