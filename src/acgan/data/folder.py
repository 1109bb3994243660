"""One sub-folder per class, as a directory or a .zip; optional train/ and test/ level above the classes."""
from __future__ import annotations

import io
import os
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import UserError
from ..progress import progress
from .registry import DataSpec, register

GRAYSCALE_MODES = ("L", "1", "I;16", "I")  # PIL modes kept as 1-channel data
MAX_PIXELS = Image.MAX_IMAGE_PIXELS  # PIL's decompression-bomb warning level (about 89 MP): refused before decoding


class BadImage(Exception):
    """A file that cannot serve as a training image; the message says why."""


def open_image(data: bytes) -> Image.Image:
    """The image's header only: decompression bombs, absurd and empty sizes are refused before any decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise BadImage(f"larger than PIL's decompression-bomb limit of {2 * MAX_PIXELS:,} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadImage("not a decodable image") from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise BadImage(f"too large to decode ({w}x{h} px, over {MAX_PIXELS:,} pixels)")
    if w == 0 or h == 0:
        raise BadImage(f"empty ({w}x{h} px)")
    return img


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class _Source:
    """Relative paths and bytes of the files under a directory or inside a zip."""

    def __init__(self, root: Path):
        self.root = root
        self.zip = None
        if root.is_file() and root.suffix.lower() == ".zip":
            try:
                self.zip = zipfile.ZipFile(root)
            except zipfile.BadZipFile:
                raise UserError(f"{root} is not a readable zip file") from None
            names = self.zip.namelist()
            self.paths = [PurePosixPath(n) for n in names if not n.endswith("/")]
            self.dirs = [PurePosixPath(n) for n in names if n.endswith("/")]
        elif root.is_dir():
            found = list(root.rglob("*"))
            self.paths = [PurePosixPath(p.relative_to(root).as_posix()) for p in found if p.is_file()]
            self.dirs = [PurePosixPath(p.relative_to(root).as_posix()) for p in found if p.is_dir()]
        else:
            raise UserError(f"folder data set '{root}' does not exist: pass --data-dir DIR_OR_ZIP with one "
                            "sub-folder of images per class")
        hidden = lambda p: any(part.startswith((".", "__MACOSX")) for part in p.parts)  # noqa: E731
        self.paths = [p for p in self.paths if not hidden(p)]
        self.dirs = [p for p in self.dirs if not hidden(p)]

    def read(self, path: PurePosixPath) -> bytes:
        return self.zip.read(str(path)) if self.zip else (self.root / Path(*path.parts)).read_bytes()


def _class_layout(src: _Source, split: str) -> tuple[str, dict[str, list[PurePosixPath]]]:
    """Find the class level '<prefix>/<class>/<image>': prefer a folder named like the split (train/), else the
    shallowest level that holds folders of files. Empty class folders are kept so they can be reported."""
    prefixes = {p.parts[:-2] for p in src.paths if len(p.parts) >= 2}
    with_split = sorted(pr for pr in prefixes if pr and pr[-1] == split)
    chosen = with_split[0] if with_split else (min(prefixes, key=len) if prefixes else None)
    if chosen is None:
        raise UserError(f"{src.root} has no class sub-folders: put each class's images in a folder named after it")
    n = len(chosen)
    classes: dict[str, list[PurePosixPath]] = {d.parts[n]: [] for d in src.dirs
                                               if len(d.parts) == n + 1 and d.parts[:n] == chosen}
    for p in src.paths:
        if len(p.parts) == n + 2 and p.parts[:n] == chosen:
            classes.setdefault(p.parts[n], []).append(p)
    return "/".join(chosen), dict(sorted(classes.items()))


def _to_square(img: Image.Image, size: int) -> Image.Image:
    """Resize the shorter side to `size` (bicubic, antialiased) and centre-crop to a square."""
    w, h = img.size
    if (w, h) == (size, size):
        return img
    scale = size / min(w, h)
    img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    return img.crop((left, top, left + size, top + size))


class FolderIndex:
    """The class folders of a folder data set and their image files, without decoding anything."""

    def __init__(self, root: str, split: str):
        self.root = root
        self.src = _Source(Path(root))
        self.prefix, self.files = _class_layout(self.src, split)
        self.names = list(self.files)

    def images_of(self, name: str) -> list[PurePosixPath]:
        images = sorted(f for f in self.files[name] if f.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            where = f"{self.prefix}/{name}" if self.prefix else name
            raise UserError(f"class folder '{where}' in {self.root} has no images "
                            f"({', '.join(sorted(IMAGE_SUFFIXES))}): add images or remove the folder")
        return images

    def first_image(self, keep: list[int]) -> Image.Image:
        """The first usable image of the first kept class (it fixes channels and native size); bad files are
        reported when the images are decoded."""
        images = self.images_of(self.names[keep[0]])
        for path in images:
            try:
                return open_image(self.src.read(path))
            except BadImage:
                continue
        raise UserError(f"no usable image in class folder '{self.names[keep[0]]}' of {self.root}")


_INDEXES: dict[tuple, FolderIndex] = {}


def _stamp(root: Path) -> tuple:
    """What changes when files are added or removed: the zip's size and time, or the times of the folders down to
    the class level (train/<class>/ at most), so a cached index is never stale."""
    if not root.exists():
        return ()
    if root.is_file():
        st = root.stat()
        return (st.st_size, st.st_mtime_ns)
    stamp, level = [root.stat().st_mtime_ns], [root]
    for _ in range(2):
        level = [Path(e.path) for d in level for e in os.scandir(d) if e.is_dir()]
        stamp += [p.stat().st_mtime_ns for p in level]
    return tuple(stamp)


def folder_index(root: str, split: str) -> FolderIndex:
    """One scan per (folder, split) while its contents stay the same (a zip of 60k files takes seconds)."""
    key = (str(Path(root).resolve()), split, _stamp(Path(root)))
    if key not in _INDEXES:
        _INDEXES[key] = FolderIndex(root, split)
    return _INDEXES[key]


def decode_folder(index: FolderIndex, keep: list[int], resolution: int | None, skip_bad: bool):
    """(images uint8 [N, C, R, R], labels int64 [N] as positions in `keep`) for the kept classes.

    The first image fixes the channels ('L' data stays 1-channel) and, without `resolution`, the size."""
    items = [(p, label) for label, c in enumerate(keep) for p in index.images_of(index.names[c])]
    first = index.first_image(keep)
    mode = "L" if first.mode in GRAYSCALE_MODES else "RGB"
    size = resolution or min(first.size)
    arrays, labels = [], []
    bar = progress(len(items), f"decoding {Path(index.root).name}", "img", enabled=len(items) >= 5000)
    for path, label in items:
        bar.update(1)
        try:
            img = _to_square(open_image(index.src.read(path)).convert(mode), size)
        except (BadImage, UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            if skip_bad:
                continue
            why = str(e) if isinstance(e, BadImage) else "not a decodable image"
            raise UserError(f"cannot decode image '{path}' in {index.root} ({why}): fix or delete it, or pass "
                            "--skip-bad-images") from None
        arr = np.asarray(img, dtype=np.uint8)
        arrays.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
        labels.append(label)
    bar.close()
    if not arrays:
        raise UserError(f"no decodable images in {index.root}")
    return torch.from_numpy(np.stack(arrays)), torch.tensor(labels, dtype=torch.long)


class FolderData(DataSpec):
    name = "folder"
    summary = "your images, one sub-folder per class, as a directory or .zip (optional train/ and test/ level)"

    def class_names(self, data_dir, split):
        return folder_index(data_dir, split).names

    def channels(self, data_dir, split, keep):
        return 1 if folder_index(data_dir, split).first_image(keep).mode in GRAYSCALE_MODES else 3

    def native_resolution(self, data_dir, split, keep):
        return min(folder_index(data_dir, split).first_image(keep).size)

    def load(self, data_dir, split, keep, resolution, skip_bad):
        return decode_folder(folder_index(data_dir, split), keep, resolution, skip_bad)


register(FolderData())
