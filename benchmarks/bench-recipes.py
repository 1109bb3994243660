"""Training steps/s of several recipes (presets or YAML files) side by side in one process: each gets 5 warm-up
steps, then 3 rounds of 30 timed steps, interleaved round by round so a noisy machine slows all alike; best round
(docs/benchmarks.md, "Speed per preset").

Usage: python benchmarks/bench-recipes.py demo docs/results/family/tuning/G.yaml [...] [--set KEY=VALUE ...]
A recipe may carry its own keys after colons (`cifar-cpu:g_class_bn=true`); each `--set` applies to every recipe
(`--set dataset=folder --set data_dir=cifar10-jpeg.zip` for a copy of CIFAR-10 in a zip)."""
import sys
import time

from acgan.config import assemble
from acgan.training.data import load_training_data
from acgan.training.loop import Trainer


def main(args):
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return
    recipes, common = [], []
    while args:
        arg = args.pop(0)
        if arg == "--set":
            common.append(args.pop(0))
        else:
            recipes.append(arg)
    trainers = {}
    for recipe in recipes:
        name, *own = recipe.split(":")
        cfg = assemble(name, overrides=["monitor_every=0", *common, *own])
        trainers[recipe] = Trainer(cfg, load_training_data(cfg), distributed=False)
        for _ in range(5):
            trainers[recipe].train_step()
    best = dict.fromkeys(trainers, float("inf"))
    for _ in range(3):
        for name, trainer in trainers.items():
            start = time.perf_counter()
            for _ in range(30):
                trainer.train_step()
            best[name] = min(best[name], (time.perf_counter() - start) / 30)
    base = best[recipes[0]]
    for name, seconds in best.items():
        print(f"{name}: {1 / seconds:.2f} steps/s ({seconds * 1000:.1f} ms/step, {base / seconds:.2f}x the first)")


if __name__ == "__main__":
    if not sys.argv[1:] or {"-h", "--help"} & set(sys.argv[1:]):
        sys.exit(__doc__)
    main(sys.argv[1:])
