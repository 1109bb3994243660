"""Labelled image data sets as uint8 rows [N, C, R, R] at the model's resolution: arrays that are already decoded
(IDX, torchvision's CIFAR) held in memory, image files decoded once into a prepared store (store/) and read from it.

The registry (`DATASETS`) maps a config's `dataset` name to its DataSpec; every module of this package that defines
a data set registers it on import, so adding a data set is adding one file here."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

import torch

from ..progress import echo
from .classes import parse_class_list, resolve_classes
from .registry import DATASETS, SPLITS, DataSpec, register
from .rows import HeldRows, ImageRows

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


@dataclass
class ImageData:
    images: ImageRows           # uint8 [N, C, R, R], in memory or in a store (a tensor is wrapped)
    labels: torch.Tensor        # int64 [N], 0..K-1 over the selected classes
    class_names: list[str]      # K names, in label order
    source_classes: list[int]   # for each label, its index in the full data set

    def __post_init__(self):
        if isinstance(self.images, torch.Tensor):
            self.images = HeldRows(self.images)

    @property
    def channels(self) -> int:
        return self.images.channels

    @property
    def resolution(self) -> int:
        return self.images.resolution

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass
class DataDescription:
    """A data selection as a run records it, worked out without decoding the images."""
    dataset: str
    class_names: list[str]
    source_classes: list[int]
    channels: int
    native_resolution: int


def describe(cfg, split: str | None = None) -> DataDescription:
    """The classes, channels and native size of the config's data selection (nothing decoded)."""
    spec, split = DATASETS[cfg.dataset], split or cfg.split
    names = spec.class_names(cfg.data_dir, split)
    keep = resolve_classes(cfg.classes, names)
    return DataDescription(cfg.dataset, [names[i] for i in keep], keep, spec.channels(cfg.data_dir, split, keep),
                           spec.native_resolution(cfg.data_dir, split, keep))


def load_data(cfg, resolution: int | None, split: str | None = None, log=echo, progress: bool = True) -> ImageData:
    """The data set named by `cfg` with its selected classes, resized to `resolution` (None = native); image files
    are decoded into a prepared store the first time (said through `log`), and read from it after."""
    spec, split = DATASETS[cfg.dataset], split or cfg.split
    names = spec.class_names(cfg.data_dir, split)
    keep = resolve_classes(cfg.classes, names)
    images, labels = spec.load(cfg.data_dir, split, keep, resolution, cfg.skip_bad_images, draft=cfg.jpeg_draft,
                               log=log, progress=progress)
    return ImageData(images, labels, [names[i] for i in keep], keep)


def has_test_split(cfg) -> bool:
    """Whether the data's test split holds other images than its training split (a folder without train/ and
    test/ serves the same images as both)."""
    spec = DATASETS[cfg.dataset]
    same = getattr(spec, "split_identity", None)
    return same is None or same(cfg.data_dir, "train") != same(cfg.data_dir, "test")


__all__ = ["DATASETS", "SPLITS", "ImageRows", "HeldRows", "DataSpec", "register", "ImageData", "DataDescription",
           "describe", "has_test_split", "load_data", "parse_class_list", "resolve_classes"]
