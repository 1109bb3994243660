"""Evaluation as named steps over one set of generated and real samples (stylegan2-ada's metric registry, small).

A step takes the EvalContext and returns its section of metrics.json (or None when it only writes figures).
`evaluate`, `check` and the experiments each run the steps they need, in order, over the same SampleSet.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ..pixels import to_unit
from .cache import cached, content_key


@dataclass
class SampleSet:
    """Generated images and real test images of the same classes, both in [-1, 1] at the model's resolution."""
    fake: torch.Tensor
    fake_labels: torch.Tensor
    real_uint8: torch.Tensor
    real_labels: torch.Tensor
    class_names: list[str]
    seed: int

    @property
    def real(self) -> torch.Tensor:
        return to_unit(self.real_uint8)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def resolution(self) -> int:
        return self.fake.shape[-1]

    @property
    def per_class(self) -> int:
        return len(self.fake_labels) // self.num_classes


@dataclass
class EvalContext:
    samples: SampleSet
    evaluator: object                      # the classifier of discriminability: our evaluator or ImageNet's Inception
    domain_evaluator: object               # our evaluator: domain features and scores
    options: object                        # EvalOptions
    log: Callable = print
    generator: object = None               # a model with sample(labels, z) and z_dim, for the analyses that need z
    out_dir: Path | None = None            # where steps put figures
    train_images: Callable | None = None   # () -> uint8 training images, for nearest neighbours
    real_pool: tuple | None = None         # (uint8 images, labels) of the whole real test split
    stats_paths: list = field(default_factory=list)   # stats.jsonl files, for training curves
    device: torch.device = torch.device("cpu")
    results: dict = field(default_factory=dict)
    _real_stats: dict | None = None
    _features: tuple | None = None

    def features(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(fake logits, fake features, real logits, real features) from the domain evaluator, computed once."""
        if self._features is None:
            ev = self.domain_evaluator
            self._features = (*ev.run(self.samples.fake), *ev.run(self.samples.real))
        return self._features

    def real_statistics(self) -> dict:
        """The real images' accuracy sweep and per-class MS-SSIM, cached on disk under a hash of what decides them."""
        if self._real_stats is None:
            from ..metrics import class_ms_ssim
            from .discriminability import RESIZE_RULE, accuracy_sweep

            s, o = self.samples, self.options
            key = content_key(s.real_uint8, s.real_labels, self.evaluator.meta, o.resolutions, o.pairs, s.seed,
                              RESIZE_RULE, "ms-ssim-v1")
            raw = cached("real-stats", key, lambda: {
                "sweep": json.dumps(accuracy_sweep(self.evaluator, s.real, s.real_labels, o.resolutions,
                                                   s.num_classes, seed=s.seed)),
                "ms_ssim": json.dumps(class_ms_ssim(s.real, s.real_labels, s.num_classes, o.pairs, s.seed))})
            self._real_stats = {k: json.loads(v) for k, v in raw.items()}
        return self._real_stats


STEPS: dict[str, Callable[[EvalContext], dict | None]] = {}


def step(name: str):
    """Register a step under `name`, which is also its section's key in metrics.json."""
    def add(fn):
        STEPS[name] = fn
        return fn
    return add


def run_steps(names: list[str], ctx: EvalContext) -> dict:
    for name in names:
        out = STEPS[name](ctx)
        if out is not None:
            ctx.results[name] = out
    return ctx.results


def take_per_class(images: torch.Tensor, labels: torch.Tensor, per_class: int, num_classes: int, seed: int):
    """At most `per_class` random rows of each class, class by class, seeded."""
    gen = torch.Generator().manual_seed(seed)
    keep = []
    for c in range(num_classes):
        idx = (labels == c).nonzero().flatten()
        keep.append(idx[torch.randperm(len(idx), generator=gen)[:per_class]])
    keep = torch.cat(keep)
    return images[keep], labels[keep]
