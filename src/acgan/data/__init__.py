"""Labelled image data sets as uint8 rows [N, C, R, R] at the model's resolution: arrays that are already decoded
(IDX, torchvision's CIFAR) held in memory, image files decoded once into a prepared store (store/) and read from it.

The registry (`DATASETS`) maps a config's `dataset` name to its DataSpec; every module of this package that defines
a data set registers it on import, so adding a data set is adding one file here."""
from __future__ import annotations

import hashlib
import importlib
import json
import pkgutil
from dataclasses import dataclass, field

import torch

from ..errors import UserError
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
    skipped: list[dict] = field(default_factory=list)  # {file, class, reason} of each file left out
    notes: list[str] = field(default_factory=list)     # what a command says of the data where it starts (mixed modes)

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

    def counts(self) -> list[int]:
        """Images of each class."""
        return torch.bincount(self.labels, minlength=self.num_classes).tolist()

    def content_key(self) -> str:
        """What changes when any image of the selection changes, wherever its files are: a sha256 of the class
        names, each row's label and the CRC-32 of its pixels (a run records it; a resume from another --data-dir
        compares it)."""
        h = hashlib.sha256(json.dumps(self.class_names).encode())
        h.update(self.labels.numpy().astype("<i8").tobytes())
        h.update(self.images.row_crcs().astype("<u4").tobytes())
        return h.hexdigest()[:32]


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
    found: dict = {}  # what a set of image files found as it loaded: the files it left out, mixed modes
    images, labels = spec.load(cfg.data_dir, split, keep, resolution, cfg.skip_bad_images, draft=cfg.jpeg_draft,
                               log=log, progress=progress, found=found)
    return ImageData(images, labels, [names[i] for i in keep], keep, found.get("skipped", []), found.get("notes", []))


def split_counts(cfg, split: str, class_names: list[str]) -> list[int] | None:
    """Image files of each named class in `split`, listed without decoding (0 for a class the split lacks); None
    for data sets read from their own arrays, whose every class has thousands."""
    spec = DATASETS[cfg.dataset]
    if not hasattr(spec, "items"):
        return None
    names = spec.class_names(cfg.data_dir, split)
    counts = []
    for name in class_names:
        try:
            counts.append(len(spec.items(cfg.data_dir, split, [names.index(name)])) if name in names else 0)
        except UserError:  # a class folder without images
            counts.append(0)
    return counts


def has_test_split(cfg) -> bool:
    """Whether the data's test split holds other images than its training split (a folder without train/ and
    test/ serves the same images as both)."""
    spec = DATASETS[cfg.dataset]
    same = getattr(spec, "split_identity", None)
    return same is None or same(cfg.data_dir, "train") != same(cfg.data_dir, "test")


__all__ = ["DATASETS", "SPLITS", "ImageRows", "HeldRows", "DataSpec", "register", "ImageData", "DataDescription",
           "describe", "has_test_split", "load_data", "parse_class_list", "resolve_classes", "split_counts"]
