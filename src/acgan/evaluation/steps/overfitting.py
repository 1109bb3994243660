"""Overfitting checks (paper section 4.5): nearest training neighbours, latent interpolations, class as style."""
from __future__ import annotations

import torch
from torchvision.utils import make_grid

from ...grids import labelled
from ...pixels import to_unit, to_zero_one
from ...sampling import slerp
from ..cache import cached, content_key
from ..context import EvalContext
from ..evaluator import Evaluator
from ..outputs.figures import save_grid
from .registry import step

NEIGHBOUR_POOL = 100_000  # training images searched for nearest neighbours (all of Fashion-MNIST and CIFAR-10)


def nearest_neighbours(queries: torch.Tensor, pool: torch.Tensor, k: int = 5, chunk: int = 4096,
                       convert=None) -> torch.Tensor:
    """Indices [Q, k] of the k nearest rows of `pool` for each row of `queries` by L1 distance (flattened);
    `convert` maps each chunk of the pool to the queries' scale (uint8 images: to_unit), so that the pool is never
    converted whole."""
    q = queries.flatten(1).float()
    best_d, best_i = None, None
    for start in range(0, len(pool), chunk):
        p = pool[start:start + chunk]
        p = (convert(p) if convert else p).flatten(1).float()
        d = torch.cdist(q, p, p=1)
        i = torch.arange(start, start + len(p)).expand_as(d)
        if best_d is not None:
            d, i = torch.cat([best_d, d], 1), torch.cat([best_i, i], 1)
        best_d, order = d.topk(min(k, d.shape[1]), dim=1, largest=False)
        best_i = i.gather(1, order)
    return best_i


def neighbour_grid(samples: torch.Tensor, train_uint8: torch.Tensor, k: int = 5,
                   features: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Rows of [sample | its k nearest training images] by L1 distance in pixels, or between `features` (the
    samples', the training images'); a [0, 1] grid. The training images stay uint8 but for the chunk at hand: a
    float copy of them all is four times their bytes (gigabytes at 64-256 px)."""
    idx = nearest_neighbours(*features, k) if features else nearest_neighbours(samples, train_uint8, k,
                                                                              convert=to_unit)
    rows = [torch.cat([s[None], to_unit(train_uint8[i])]) for s, i in zip(samples, idx)]
    return make_grid(to_zero_one(torch.cat(rows)), nrow=k + 1, padding=2, pad_value=1.0)


def training_features(evaluator: Evaluator, train_uint8: torch.Tensor) -> torch.Tensor:
    """The evaluator's features of every training image, cached on disk: the largest forward pass of an evaluation."""
    key = content_key(train_uint8, evaluator.meta, "train-features-v1")
    return cached("train-features", key, lambda: {"features": _features(evaluator, train_uint8)})["features"]


def _features(evaluator: Evaluator, images_uint8: torch.Tensor, chunk: int = 5000) -> torch.Tensor:
    """evaluator.run's features, converted to float a chunk at a time (a multiple of run's batch: the same numbers)."""
    return torch.cat([evaluator.run(to_unit(images_uint8[i:i + chunk]))[1]
                      for i in range(0, len(images_uint8), chunk)])


@torch.no_grad()
def interpolation_grid(G, steps: int = 8, mode: str = "linear", seed: int = 0) -> torch.Tensor:
    """One row per class: G(z(t), c) for t from 0 to 1 between two random z (linear or spherical)."""
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for c in range(G.num_classes):
        a, b = torch.randn(2, G.z_dim, generator=gen)
        ts = torch.linspace(0, 1, steps).tolist()
        z = torch.stack([(1 - t) * a + t * b if mode == "linear" else slerp(a, b, t) for t in ts])
        rows.append(G.sample(torch.full((steps,), c), z=z))
    return make_grid(to_zero_one(torch.cat(rows)), nrow=steps, padding=2, pad_value=1.0)


@torch.no_grad()
def class_as_style_grid(G, rows: int = 6, seed: int = 0) -> torch.Tensor:
    """Each row one z, each column one class: the class switches the object while z keeps the style."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(rows, G.z_dim, generator=gen).repeat_interleave(G.num_classes, 0)
    labels = torch.arange(G.num_classes).repeat(rows)
    return make_grid(to_zero_one(G.sample(labels, z=z)), nrow=G.num_classes, padding=2, pad_value=1.0)


@torch.no_grad()
def samples_grid(G, columns: int = 10, seed: int = 0) -> torch.Tensor:
    """One row per class, the same z down each column."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(columns, G.z_dim, generator=gen).repeat(G.num_classes, 1)
    labels = torch.arange(G.num_classes).repeat_interleave(columns)
    return make_grid(to_zero_one(G.sample(labels, z=z)), nrow=columns, padding=2, pad_value=1.0)


@step("overfitting", order=80)
def overfitting_step(ctx: EvalContext) -> None:
    """Nearest training neighbours of one sample per class; with a generator, the grids that need z."""
    s = ctx.samples
    firsts = torch.stack([s.fake[s.fake_labels == c][0] for c in range(s.num_classes)])  # one sample per class
    train = ctx.training().images
    if len(train) > NEIGHBOUR_POOL:  # a very large training set: its nearest images among a seeded sample of it
        pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(s.seed))[:NEIGHBOUR_POOL]
        train = train[pick.sort().values]
    else:
        train = train.load()
    ev = ctx.evaluator
    grids = {"nearest_pixel": neighbour_grid(firsts, train),
             "nearest_features": neighbour_grid(firsts, train, features=(ev.run(firsts)[1],
                                                                          training_features(ev, train)))}
    if ctx.generator is not None:
        G = ctx.generator
        grids.update(interpolation_linear=interpolation_grid(G, mode="linear", seed=s.seed),
                     interpolation_slerp=interpolation_grid(G, mode="slerp", seed=s.seed),
                     class_as_style=class_as_style_grid(G, seed=s.seed), samples=samples_grid(G, seed=s.seed))
    else:  # a folder of samples: its first images per class, and no grids that need z
        grids["samples"] = make_grid(to_zero_one(torch.cat([s.fake[s.fake_labels == c][:10]
                                                            for c in range(s.num_classes)])), nrow=10, padding=2,
                                     pad_value=1.0)
        ctx.log("no generator to draw from: latent interpolations and class-as-style grids skipped")
    cell = tuple(s.fake.shape[-2:])
    for name, grid in grids.items():  # every grid has a class per row, but class-as-style a class per column
        names = {"columns" if name == "class_as_style" else "rows": s.class_names}
        save_grid(labelled(grid, cell, 2, background=1.0, **names), ctx.out.figure(name))
