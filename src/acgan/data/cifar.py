"""CIFAR-10 and CIFAR-100 through torchvision (downloaded into data_dir; needs the internet once)."""
from __future__ import annotations

from functools import lru_cache

import torch

from ..errors import UserError
from .registry import InMemoryData, register


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


class CifarData(InMemoryData):
    fixed_channels, fixed_resolution = 3, 32

    def __init__(self, name: str):
        self.name, self.summary = name, f"{name.upper()} via torchvision (32 px RGB), downloaded into --data-dir"

    def read(self, data_dir, split):
        return _torchvision_cifar(self.name, data_dir, split)


register(CifarData("cifar10"))
register(CifarData("cifar100"))
