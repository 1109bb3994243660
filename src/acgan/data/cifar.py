"""CIFAR-10 and CIFAR-100 through torchvision (downloaded into data_dir; needs the internet once)."""
from __future__ import annotations

from functools import lru_cache

import torch

from ..errors import UserError
from .registry import DataSpec, register, select_classes


@lru_cache(maxsize=4)
def _torchvision_cifar(name: str, data_dir: str, split: str):
    import torchvision

    cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    try:
        ds = cls(data_dir, train=split == "train", download=True)
    except Exception as e:
        raise UserError(f"{name} is not in {data_dir} and could not be downloaded ({type(e).__name__}): connect to "
                        "the internet, or use --dataset folder with a one-folder-per-class copy") from None
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor(ds.targets, dtype=torch.long), list(ds.classes)


class CifarData(DataSpec):
    def __init__(self, name: str):
        self.name, self.summary = name, f"{name.upper()} via torchvision (32 px RGB), downloaded into --data-dir"

    def class_names(self, data_dir, split):
        return list(_torchvision_cifar(self.name, data_dir, split)[2])

    def channels(self, data_dir, split, keep):
        return 3

    def native_resolution(self, data_dir, split, keep):
        return 32

    def load(self, data_dir, split, keep, resolution, skip_bad):
        images, labels, names = _torchvision_cifar(self.name, data_dir, split)
        return select_classes(images, labels, keep, len(names), resolution)


register(CifarData("cifar10"))
register(CifarData("cifar100"))
