"""What every evaluation step is handed: the options, the samples, the networks that judge them, and a memo.

`evaluate`, `check` and the experiments build one EvalContext over one SampleSet and run the steps they need
(steps/), in order; each step reads the context (and the sections of earlier steps) and returns its own section.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch

from ..data import ImageData
from ..errors import UserError
from ..metrics.prdc import pixel_features
from ..pixels import to_unit
from ..rundir import RunDir

# PRDC's neighbourhoods (k = 5 nearest) and each class's feature covariance need more than a handful of images a class
MIN_PER_CLASS = 10


@dataclass
class EvalOptions:
    per_class: int = 500                 # generated images per class
    real_per_class: int = 500            # real test images per class (at most what the split has)
    resolutions: list | None = None      # px; default: a quarter, half, once and twice the model's
    pairs: int = 100                     # MS-SSIM pairs per class
    seed: int = 0
    evaluator: str | None = None         # folder from `acgan train-classifier`; default: the data's own, trained once
    inception: str = "auto"              # auto (when weights are found) | on | off
    inception_weights: str | None = None
    inception_samples: int = 5000        # generated and real images each for the Inception metrics
    imagenet_weights: str | None = None  # torchvision Inception-v3 file, for synset-named classes
    imagenet_synsets: str | None = None  # the 1000 synsets in class-index order
    device: str = "auto"

    def __post_init__(self):
        for key in ("per_class", "real_per_class", "inception_samples"):
            if getattr(self, key) < MIN_PER_CLASS:
                raise UserError(f"{key} must be at least {MIN_PER_CLASS}, got {getattr(self, key)}")
        if self.pairs < 2:
            raise UserError(f"pairs must be at least 2, got {self.pairs}")


class Classifier(Protocol):
    """What judges discriminability: our evaluator, or ImageNet's Inception for synset-named classes."""
    meta: dict  # resolution (its input size), network, weights_sha256, ...

    def run(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, features) for images in [-1, 1]."""


class ConditionalGenerator(Protocol):
    z_dim: int
    num_classes: int
    class_names: list[str]

    def sample(self, labels, z: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Images in [-1, 1] for `labels`."""


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
    classifier: Classifier                 # judges discriminability: the evaluator, or ImageNet's Inception
    evaluator: Classifier                  # our evaluator: domain features and scores
    options: EvalOptions
    log: Callable[[str], None] = print
    generator: ConditionalGenerator | None = None   # for the analyses that need z
    out: RunDir | None = None              # where metrics.json and the figures (eval/) go
    train_data: Callable[[], ImageData] | None = None  # the training split: neighbours, real data's own variety
    real_pool: tuple[torch.Tensor, torch.Tensor] | None = None  # (uint8 images, labels): the whole test split
    stats_paths: list = field(default_factory=list)   # stats.jsonl files, for training curves
    device: torch.device = torch.device("cpu")
    results: dict = field(default_factory=dict)       # section name -> what its step returned
    memo: dict = field(default_factory=dict)          # what several steps compute once (features, real stats)

    def training(self) -> ImageData | None:
        """The training split (images read by index when held in a store), loaded once."""
        if self.train_data is None:
            return None
        if "training" not in self.memo:
            self.memo["training"] = self.train_data()
        return self.memo["training"]

    def features(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(fake logits, fake features, real logits, real features) from the evaluator, computed once."""
        if "features" not in self.memo:
            ev = self.evaluator
            self.memo["features"] = (*ev.run(self.samples.fake), *ev.run(self.samples.real_uint8))
        return self.memo["features"]

    def pixels(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(fake, real) in 14 px pixels (metrics.prdc.pixel_features), computed once."""
        if "pixels" not in self.memo:
            self.memo["pixels"] = (pixel_features(self.samples.fake), pixel_features(self.samples.real_uint8))
        return self.memo["pixels"]


def take_per_class(images: torch.Tensor, labels: torch.Tensor, per_class: int, num_classes: int, seed: int):
    """At most `per_class` random rows of each class, class by class, seeded."""
    gen = torch.Generator().manual_seed(seed)
    keep = []
    for c in range(num_classes):
        idx = (labels == c).nonzero().flatten()
        keep.append(idx[torch.randperm(len(idx), generator=gen)[:per_class]])
    keep = torch.cat(keep)
    return images[keep], labels[keep]
