"""Labelled image data sets, decoded once into memory as uint8 tensors [N, C, R, R] at the model's resolution."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision.transforms.v2 import functional as TF

from ..errors import UserError
from .folder import GRAYSCALE_MODES, FolderIndex, decode_folder
from .idx import FASHION_CLASSES, MNIST_CLASSES, load_idx_dataset


@dataclass
class ImageData:
    images: torch.Tensor        # uint8 [N, C, R, R]
    labels: torch.Tensor        # int64 [N], 0..K-1 over the selected classes
    class_names: list[str]      # K names, in label order
    source_classes: list[int]   # for each label, its index in the full data set

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def resolution(self) -> int:
        return self.images.shape[-1]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def parse_class_list(spec) -> list[str] | None:
    """'0,3,5' / 'cat,dog' / a YAML list -> list of strings; None or empty means all classes."""
    if spec is None or spec == "" or spec == []:
        return None
    items = spec if isinstance(spec, (list, tuple)) else str(spec).split(",")
    return [str(s).strip() for s in items if str(s).strip()]


def resolve_classes(spec, names: list[str]) -> list[int]:
    """Class indices for a spec of indices or names, in the order given; errors name the valid choices."""
    wanted = parse_class_list(spec)
    if wanted is None:
        return list(range(len(names)))
    out = []
    for item in wanted:
        if item in names:
            idx = names.index(item)
        elif item.lstrip("-").isdigit():
            idx = int(item)
            if not 0 <= idx < len(names):
                raise UserError(f"class {idx} is out of range: this data set has classes 0..{len(names) - 1}")
        else:
            raise UserError(f"unknown class '{item}': choose indices 0..{len(names) - 1} or names "
                            f"{', '.join(names)}")
        if idx in out:
            raise UserError(f"class '{item}' is listed twice in --classes")
        out.append(idx)
    return out


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


def load_data(cfg, resolution: int | None, split: str | None = None) -> ImageData:
    """The data set named by `cfg` with its selected classes, resized to `resolution` (None = native)."""
    split = split or cfg.split
    if cfg.dataset == "folder":
        index = FolderIndex(cfg.data_dir, split)
        keep = resolve_classes(cfg.classes, index.names)
        images, labels = decode_folder(index, keep, resolution, cfg.skip_bad_images)
        return ImageData(images, labels, [index.names[i] for i in keep], keep)
    if cfg.dataset in ("fashion-mnist", "mnist"):
        images, labels, names = load_idx_dataset(cfg.dataset, cfg.data_dir, split)
    else:
        images, labels, names = _torchvision_cifar(cfg.dataset, cfg.data_dir, split)
    keep = resolve_classes(cfg.classes, names)
    mask = torch.isin(labels, torch.tensor(keep))
    images, labels = images[mask], labels[mask]
    remap = torch.full((len(names),), -1, dtype=torch.long)
    remap[torch.tensor(keep)] = torch.arange(len(keep))
    if resolution and images.shape[-1] != resolution:
        images = TF.resize(images, [resolution, resolution], antialias=True)
    return ImageData(images.contiguous(), remap[labels], [names[i] for i in keep], keep)


def class_names_of(cfg) -> list[str]:
    """All class names of the configured data set, in label order, without decoding images where possible."""
    if cfg.dataset == "folder":
        return FolderIndex(cfg.data_dir, cfg.split).names
    if cfg.dataset in ("fashion-mnist", "mnist"):
        return list(FASHION_CLASSES if cfg.dataset == "fashion-mnist" else MNIST_CLASSES)
    return _torchvision_cifar(cfg.dataset, cfg.data_dir, cfg.split)[2]


def channels_of(cfg) -> int:
    if cfg.dataset in ("fashion-mnist", "mnist"):
        return 1
    if cfg.dataset == "folder":
        index = FolderIndex(cfg.data_dir, cfg.split)
        mode = index.first_image(resolve_classes(cfg.classes, index.names)).mode
        return 1 if mode in GRAYSCALE_MODES else 3
    return 3


def native_resolution_of(cfg) -> int:
    """The size images have before any resize: fixed for the built-in sets, the first image's for folders."""
    fixed = {"fashion-mnist": 28, "mnist": 28, "cifar10": 32, "cifar100": 32}.get(cfg.dataset)
    if fixed:
        return fixed
    index = FolderIndex(cfg.data_dir, cfg.split)
    return min(index.first_image(resolve_classes(cfg.classes, index.names)).size)
