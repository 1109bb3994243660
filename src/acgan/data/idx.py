"""Fashion-MNIST and MNIST: the original IDX files, from Debian's package or torchvision's download."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .registry import InMemoryData, register

DEBIAN_DIRS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist"), "mnist": Path("/usr/share/datasets/mnist")}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
MNIST_CLASSES = [str(i) for i in range(10)]
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (optionally .gz) as a numpy array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise UserError(f"{path} is not an unsigned-byte IDX file: delete it and let it be fetched again")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise UserError(f"{path} is truncated ({body.size} of {int(np.prod(shape))} bytes): delete it and retry")
    return body.reshape(shape)


def _find(dirs: list[Path], stem: str) -> Path | None:
    for d in dirs:
        for name in (stem + ".gz", stem):
            if (d / name).is_file():
                return d / name
    return None


def load_idx_dataset(name: str, data_dir: str, split: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(images uint8 [N, 1, 28, 28], labels int64 [N], class names)."""
    tv_folder = {"fashion-mnist": "FashionMNIST", "mnist": "MNIST"}[name]
    dirs = [DEBIAN_DIRS[name], Path(data_dir) / tv_folder / "raw", Path(data_dir)]
    img_stem, lbl_stem = FILES[split]
    img_path, lbl_path = _find(dirs, img_stem), _find(dirs, lbl_stem)
    if img_path is None or lbl_path is None:
        download_torchvision(name, data_dir)
        img_path, lbl_path = _find(dirs, img_stem), _find(dirs, lbl_stem)
    images = torch.from_numpy(read_idx(img_path).copy()).unsqueeze(1)
    labels = torch.from_numpy(read_idx(lbl_path).astype(np.int64))
    return images, labels, FASHION_CLASSES if name == "fashion-mnist" else MNIST_CLASSES


def download_torchvision(name: str, data_dir: str) -> None:
    """torchvision's download into data_dir (needs the internet; apt-get's Debian package is the offline route)."""
    import torchvision

    cls = torchvision.datasets.FashionMNIST if name == "fashion-mnist" else torchvision.datasets.MNIST
    try:
        cls(data_dir, train=True, download=True)
        cls(data_dir, train=False, download=True)
    except Exception as e:  # network errors come in many types
        hint = " or `apt-get install dataset-fashion-mnist`" if name == "fashion-mnist" else ""
        raise UserError(f"{name} is not in {data_dir} and could not be downloaded ({type(e).__name__}): "
                        f"connect to the internet{hint}") from None


class IdxData(InMemoryData):
    fixed_channels, fixed_resolution = 1, 28

    def __init__(self, name: str):
        self.name = name
        self.summary = f"{name} IDX files (28 px grayscale): Debian's package, else torchvision's download"

    def class_names(self, data_dir, split):  # known without reading the files
        return list(FASHION_CLASSES if self.name == "fashion-mnist" else MNIST_CLASSES)

    def read(self, data_dir, split):
        return load_idx_dataset(self.name, data_dir, split)


register(IdxData("fashion-mnist"))
register(IdxData("mnist"))
