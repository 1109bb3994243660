"""The data-set registry: `dataset:` names -> DataSpec. A module in this package registers its sets on import."""
from __future__ import annotations

from pathlib import Path

import torch

from ..registry import Registry
from .rows import HeldRows

DATASETS = Registry("data set")
SPLITS = ("train", "test")


class DataSpec:
    """What training and evaluation need to know of a labelled image set, by (data_dir, split).

    `keep` lists class indices of the full set in the order the run uses them; loaded labels are positions in it."""
    name: str = ""
    summary: str = ""

    def source_identity(self, data_dir: str) -> str:
        """What names this set's files: the folder or zip (resolved), so one path's data are one data set."""
        return str(Path(data_dir).resolve())

    def class_names(self, data_dir: str, split: str) -> list[str]:
        raise NotImplementedError

    def channels(self, data_dir: str, split: str, keep: list[int]) -> int:
        raise NotImplementedError

    def native_resolution(self, data_dir: str, split: str, keep: list[int]) -> int:
        raise NotImplementedError

    def load(self, data_dir: str, split: str, keep: list[int], resolution: int | None, skip_bad: bool,
             **options) -> tuple:
        """(ImageRows [N, C, R, R] uint8, int64 labels [N]) of the kept classes at `resolution` (None = native);
        `options` are what sets that decode files take (draft, log, progress, found)."""
        raise NotImplementedError


class InMemoryData(DataSpec):
    """A set whose whole split is read at its native size and then filtered by class (IDX files, CIFAR)."""
    fixed_channels: int = 3
    fixed_resolution: int = 32

    def source_identity(self, data_dir: str) -> str:
        return self.name  # the same published files wherever they were downloaded

    def read(self, data_dir: str, split: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """(uint8 images [N, C, R, R], int64 labels [N], all class names)."""
        raise NotImplementedError

    def class_names(self, data_dir, split):
        return list(self.read(data_dir, split)[2])

    def channels(self, data_dir, split, keep):
        return self.fixed_channels

    def native_resolution(self, data_dir, split, keep):
        return self.fixed_resolution

    def load(self, data_dir, split, keep, resolution, skip_bad, **_):
        images, labels, names = self.read(data_dir, split)
        images, labels = select_classes(images, labels, keep, len(names), resolution)
        return HeldRows(images), labels


def register(spec: DataSpec) -> DataSpec:
    return DATASETS.add(spec.name, spec, spec.summary)


def select_classes(images: torch.Tensor, labels: torch.Tensor, keep: list[int], num_classes: int,
                   resolution: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of the kept classes, labels renumbered to positions in `keep`, resized (antialiased) if asked."""
    mask = torch.isin(labels, torch.tensor(keep))
    images, labels = images[mask], labels[mask]
    remap = torch.full((num_classes,), -1, dtype=torch.long)
    remap[torch.tensor(keep)] = torch.arange(len(keep))
    if resolution and images.shape[-1] != resolution:
        from torchvision.transforms.v2 import functional as TF
        images = TF.resize(images, [resolution, resolution], antialias=True)
    return images.contiguous(), remap[labels]
