"""What `variety` reads for a generator as varied as real data, and how much it moves with the evaluation's seed alone
(docs/results/diversity.md, "What the variety figure can reach").

usage: .venv/bin/python research/scripts/variety-spread.py DATASET [RUN_DIR ...] [--seeds 0,1,2] [--data-dir DIR]
       [--out JSON]

"real training images" is a generator that returns, per class, training images the evaluation's own real level does
not use (the level draws `per_class` of them with the evaluation's seed; this takes the rest of the same
permutation), so it is as varied as real data by construction and shares no image with the level. Each RUN_DIR's
generator is evaluated at the same seeds. Every evaluation is `acgan.evaluate` with the data's default evaluator, 500
samples per class against 500 real test images; the table gives, per seed, the lowest `variety` over the classes and
their mean.
"""
import argparse
import functools
import json
import tempfile

import torch

import acgan
from acgan.config import assemble
from acgan.data import load_data

PER_CLASS = 500


@functools.lru_cache(maxsize=2)
def training_split(dataset: str, data_dir: str):
    """Loaded once for every seed."""
    return load_data(assemble(None, {"dataset": dataset, "data_dir": data_dir}), None, split="train", progress=False)


def real_generator(data: dict, seed: int, per_class: int = PER_CLASS):
    """(labels, z) -> training images of each asked class, none of them in the real level's draw of `per_class`
    per class at `seed`."""
    train = training_split(data["dataset"], data["data_dir"])
    gen = torch.Generator().manual_seed(seed)  # the same permutation as evaluation/context.py's take_per_class
    pools = []
    for c in range(len(train.class_names)):
        idx = (train.labels == c).nonzero().flatten()
        pools.append(idx[torch.randperm(len(idx), generator=gen)[per_class:]].tolist())
    cursor = [0] * len(pools)

    def sample(labels, z):
        rows = []
        for y in labels.tolist():
            rows.append(pools[y][cursor[y]])
            cursor[y] += 1
        return torch.as_tensor(train.images[torch.tensor(rows)]).float() / 127.5 - 1
    return sample


def lowest_and_mean(metrics: dict) -> dict:
    rows = metrics["class_diversity"]["per_class"]
    low = min(rows, key=lambda r: r["variety"])
    return {"lowest": low["variety"], "lowest_class": low["class"],
            "mean": sum(r["variety"] for r in rows) / len(rows),
            "accuracy": metrics["discriminability"]["generated"][str(metrics["model_resolution"])]["accuracy"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("runs", nargs="*")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--data-dir", default="data")
    ap.add_argument("--out")
    a = ap.parse_args()
    data = {"dataset": a.dataset, "data_dir": a.data_dir}
    seeds = [int(s) for s in a.seeds.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["real training images", *a.runs]:
            results[name] = {}
            for seed in seeds:
                if name == "real training images":
                    m = acgan.evaluate(real_generator(data, seed), data, f"{tmp}/e", z_dim=1, per_class=PER_CLASS,
                                       seed=seed)
                else:
                    G = acgan.load_generator(name)
                    m = acgan.evaluate(G, data, f"{tmp}/e", z_dim=G.z_dim, per_class=PER_CLASS, seed=seed)
                results[name][seed] = lowest_and_mean(m)
    print("| generator | seed | accuracy | lowest variety | mean variety |\n|---|---|---|---|---|")
    for name, per_seed in results.items():
        for seed, r in per_seed.items():
            print(f"| {name} | {seed} | {r['accuracy']:.3f} | {r['lowest']:.2f} ({r['lowest_class']}) | "
                  f"{r['mean']:.2f} |")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
