"""Presets' training speed at two revisions of the code, side by side: each round times every preset at the old
revision, then at the new one (`acgan bench --presets`' worker function, a fresh process each, at the preset's own
precision), so both meet the same drift of the machine; prints every reading, the medians and the median of the
rounds' ratios (the figure to quote: a 2-core machine's speed drifts by up to a third between minutes).

usage: python benchmarks/bench-revisions.py OLD_REV [NEW_REV] [--presets demo,cifar-cpu] [--rounds 6] [--seconds 10]
NEW_REV defaults to the working tree. The old revision is checked out in a temporary git worktree."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def speed(src: Path, preset: str, seconds: float) -> float:
    env = dict(os.environ, PYTHONPATH=str(src))
    code = ("import json; from acgan.bench.presets import preset_worker; "  # the worker's own call, at either revision
            f"print(json.dumps(preset_worker({preset!r}, 'cpu', {seconds})))")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=src.parent)
    if res.returncode:
        sys.exit(f"{preset} at {src.parent}: {res.stderr.strip()[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])["steps_per_s"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new", nargs="?")
    ap.add_argument("--presets", default="demo,cifar-cpu")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        for name, rev in (("old", args.old), ("new", args.new)):
            if rev is None:
                trees[name] = ROOT
                continue
            trees[name] = Path(tmp) / name
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(trees[name]), rev],
                           check=True)
        try:
            readings = {}
            for r in range(args.rounds):
                for preset in args.presets.split(","):
                    for name, tree in trees.items():
                        s = speed(tree / "src", preset, args.seconds)
                        readings.setdefault((preset, name), []).append(s)
                        print(f"round {r + 1} {preset:14s} {name} {s:7.2f} steps/s", flush=True)
        finally:
            for name, tree in trees.items():
                if tree != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
    for preset in args.presets.split(","):
        old, new = (readings[(preset, n)] for n in ("old", "new"))
        paired = statistics.median(b / a for a, b in zip(old, new))  # a round's two readings share its drift
        print(f"{preset}: median {statistics.median(old):.2f} -> {statistics.median(new):.2f} steps/s; "
              f"the rounds' ratios new/old: median {paired:.2f}x")


if __name__ == "__main__":
    main()
