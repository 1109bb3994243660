"""A CPU preset before and after a change of its keys, in one process, round by round: the whole training step of
the preset as it was (its attention written out as matrices, the code before scaled_dot_product_attention) against
the preset as it is now (fused attention), fp32, on random images of its shape.

usage: python benchmarks/bench-cpu-preset-change.py PRESET KEY=OLD_VALUE... [--rounds N]
e.g.   python benchmarks/bench-cpu-preset-change.py modern-64-cpu attention_res=32
Prints each round's seconds a step and the speed ratio of the two best."""
import importlib.util
import sys
from pathlib import Path

import torch

from acgan.bench.presets import preset_trainer
from acgan.models import biggan
from acgan.training.loop import Trainer

spec = importlib.util.spec_from_file_location("bench_attention", Path(__file__).with_name("bench-attention.py"))
bench_attention = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_attention)


def trainer(preset: str, overrides: list[str]) -> Trainer:
    return preset_trainer(preset, "cpu", ["precision=fp32", *overrides], n=512)[0]


def main(preset: str, old_keys: list[str], rounds: int = 3) -> None:
    times = bench_attention.interleaved({"before": (trainer(preset, old_keys), bench_attention.written_out),
                                         "now": (trainer(preset, []), biggan.SelfAttention.forward)}, rounds)
    for name, t in times.items():
        print(f"{name} ({' '.join(old_keys) if name == 'before' else 'the preset'}): "
              + " ".join(f"{s:.3f}" for s in t) + f" s a step; best {min(t):.3f}")
    print(f"now / before: {min(times['before']) / min(times['now']):.2f}x the speed ({torch.get_num_threads()} "
          f"threads, {torch.backends.cpu.get_cpu_capability()})")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or {"-h", "--help"} & set(args):
        print(__doc__)
        sys.exit(0 if args else 2)
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
    keys = [a for a in args[1:] if "=" in a]
    main(args[0], keys, rounds)
