"""acgan.kernels' inference forms against torch's own ops, side by side in one process: the two ops at a few
shapes, then (given a run) sampling its generator and `acgan evaluate` of it with the forms off and on, checking
that the images and metrics.json are the same (docs/benchmarks.md, "Inference kernels").

usage: .venv/bin/python benchmarks/bench-kernels.py [RUN_DIR [PER_CLASS]]
"""
import json
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from acgan import kernels

TORCH = kernels._torch_op


def forms(on: bool) -> None:
    kernels._torch_op = TORCH if on else (lambda x: True)


def best(fn, rounds: int = 5) -> float:
    fn()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def ops() -> None:
    print("| op | shape | torch (ms) | ours (ms) | speed-up |\n|---|---|---|---|---|")
    with torch.no_grad():
        for name, theirs, ours, shapes in (
                ("nearest 2x upsampling", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"),
                 kernels.upsample2x, ((500, 48, 8, 8), (500, 48, 16, 16), (500, 24, 32, 32))),
                ("2x2 max pooling", lambda x: F.max_pool2d(x, 2), kernels.max_pool2x,
                 ((500, 16, 64, 64), (500, 32, 32, 32), (500, 16, 28, 28)))):
            for shape in shapes:
                x = torch.randn(shape)
                assert torch.equal(theirs(x), ours(x))
                a, b = best(lambda: theirs(x)), best(lambda: ours(x))
                print(f"| {name} | {' x '.join(map(str, shape))} | {a * 1e3:.1f} | {b * 1e3:.1f} | {a / b:.2f}x |")


def run(run_dir: Path, per_class: int) -> None:
    from acgan.evaluation.context import EvalOptions
    from acgan.evaluation.run import evaluate
    from acgan.sampling import load_generator, sample_classes
    G = load_generator(run_dir)
    classes = list(range(len(G.class_names)))
    images, seconds = {}, {}
    for on in (False, True):
        forms(on)
        seconds[on] = best(lambda: images.__setitem__(on, sample_classes(G, classes, per_class, 0)[0]), rounds=2)
    assert torch.equal(images[False], images[True]), "the forms changed the samples"
    n = len(images[True])
    print(f"\nsampling {n} images of {run_dir}: {n / seconds[False]:.0f} img/s with torch's ops, "
          f"{n / seconds[True]:.0f} with ours ({seconds[False] / seconds[True]:.2f}x)")
    quiet = dict(log=lambda *a, **k: None)
    evaluate(run_dir, EvalOptions(), **quiet)  # fills the caches both timed runs then read
    metrics, seconds = {}, {}
    for on in (False, True):
        forms(on)
        t = time.perf_counter()
        evaluate(run_dir, EvalOptions(), **quiet)
        seconds[on] = time.perf_counter() - t
        metrics[on] = {k: v for k, v in json.loads((run_dir / "metrics.json").read_text()).items() if k != "created"}
    assert metrics[False] == metrics[True], "the forms changed the metrics"
    print(f"acgan evaluate (caches filled, the defaults): {seconds[False]:.1f} s with torch's ops, "
          f"{seconds[True]:.1f} s with ours ({seconds[False] / seconds[True]:.2f}x); metrics.json the same")


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        sys.exit(__doc__)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    ops()
    if len(sys.argv) > 1:
        run(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 200)
