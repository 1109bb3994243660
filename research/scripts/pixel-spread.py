"""Why a class's recall in 14 px pixels is low: how its samples spread in pixels next to real images of the class
(research/notes/2026-11-recipe-search.md, "A wider z for CIFAR-10").

usage: .venv/bin/python research/scripts/pixel-spread.py RUN_DIR CLASS [CLASS ...] [--per-class 500] [--seed 0]

Per class, for 500 samples, 500 real training images and 500 real test images (drawn as `acgan evaluate` draws
them):
- per image, at the model's resolution: brightness (mean), contrast (standard deviation) and, for RGB, colour
  (mean of max - min over the channels); the mean and the spread over the images of each;
- in the 14 px pixels of the evaluation's pixel measures: the mean distance between two images of the set (how far
  it spreads as a whole); the median distance from an image to its k-th nearest neighbour in its own set (k = 3,
  the k of recall in `acgan evaluate`): the radius recall draws around each image; and the median distance from a
  real test image to the nearest image of the set.
Recall counts the real test images within some sample's radius; the real level, real training images. A set can
match real images in every per-image statistic and in its mean pairwise distance and still have smaller radii: its
images come in tight groups, and recall falls. Or its radii can be as large and real test images farther from it:
the samples are less faithful, and coverage falls.
"""
import argparse

import torch

import acgan
from acgan.data import load_data
from acgan.evaluation.context import take_per_class
from acgan.evaluation.steps.class_diversity import PR_K as K
from acgan.metrics.prdc import knn_radii, pixel_features
from acgan.pixels import to_unit
from acgan.rundir import RunDir


def per_image(x: torch.Tensor) -> dict:
    stats = {"brightness": x.mean((1, 2, 3)), "contrast": x.std((1, 2, 3))}
    if x.shape[1] == 3:
        stats["colour"] = (x.max(1).values - x.min(1).values).mean((1, 2))
    return stats


def spread(x: torch.Tensor, test: torch.Tensor) -> dict:
    f, t = pixel_features(x), pixel_features(test)
    return {"mean pair distance": torch.pdist(f).mean().item(),
            "median k-NN radius": knn_radii(f, K).median().item(),
            "test to nearest, median": torch.cdist(t, f).min(1).values.median().item()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("classes", nargs="+")
    ap.add_argument("--per-class", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    G = acgan.load_generator(a.run)
    run = RunDir(a.run)
    record = run.read()
    cfg = run.train_config(record)
    draws, names = {}, None
    for split in ("train", "test"):
        data = load_data(cfg, record.data["resolution"], split=split, progress=False)
        names = data.class_names
        draws[split] = take_per_class(data.images, data.labels, a.per_class, len(names), a.seed)
    for name in a.classes:
        c = names.index(name) if name in names else int(name)
        real = {split: to_unit(images[labels == c]) for split, (images, labels) in draws.items()}
        torch.manual_seed(a.seed)
        with torch.no_grad():
            fake = G.sample(torch.full((a.per_class,), c)).float()
        print(f"{names[c]}: {'':24s} {'samples':>14s} {'real train':>14s}")
        rows = {"samples": fake, "real train": real["train"]}
        stats = {k: per_image(v) for k, v in rows.items()}
        for key in stats["samples"]:
            cells = [f"{s[key].mean():6.3f} ±{s[key].std():5.3f}" for s in stats.values()]
            print(f"  {key:26s} {cells[0]:>14s} {cells[1]:>14s}")
        spreads = {k: spread(v, real["test"]) for k, v in rows.items()}
        for key in spreads["samples"]:
            print(f"  {key:26s} {spreads['samples'][key]:14.2f} {spreads['real train'][key]:14.2f}")


if __name__ == "__main__":
    main()
