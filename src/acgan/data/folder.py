"""One sub-folder per class, as a directory or a .zip; optional train/ and test/ level above the classes."""
from __future__ import annotations

import functools
import hashlib
import os
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from ..errors import UserError
from .decode import BadImage, decode, is_grey, open_image
from .decoded import DecodedData
from .registry import register

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def holds_class_folders(path: str) -> bool:
    """Whether `path` looks like a folder data set: a .zip, or a directory with image files one or two folders down
    (<class>/<image> or <split>/<class>/<image>). Stops at the first image, so a huge folder costs a few listings."""
    root = Path(path)
    if root.is_file():
        return root.suffix.lower() == ".zip"
    if not root.is_dir():
        return False

    def images_below(folder: Path, depth: int) -> bool:  # depth: folders below `root`
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return False
        if depth and any(e.is_file() and Path(e.name).suffix.lower() in IMAGE_SUFFIXES for e in entries):
            return True
        return depth < 2 and any(e.is_dir() and not e.name.startswith(".") and images_below(Path(e.path), depth + 1)
                                 for e in entries)
    return images_below(root, 0)


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
            # os.walk reads each entry's type from the directory itself: no stat per file (rglob + is_file took
            # 2.9 s for 20,000 files; a million-image folder would take minutes just to list)
            self.paths, self.dirs = [], []
            for here, dirs, files in os.walk(root, followlinks=True):
                rel = PurePosixPath(Path(here).relative_to(root).as_posix())
                self.dirs += [rel / d for d in dirs]
                self.paths += [rel / f for f in files]
        elif root.exists():
            raise UserError(f"--data-dir {root} is a file, not a folder or a .zip: pass the folder (or zip) that "
                            "holds one sub-folder of images per class")
        else:
            raise UserError(f"folder data set '{root}' does not exist: pass --data-dir DIR_OR_ZIP with one "
                            "sub-folder of images per class")
        hidden = lambda p: any(part.startswith((".", "__MACOSX")) for part in p.parts)  # noqa: E731
        self.paths = [p for p in self.paths if not hidden(p)]
        self.dirs = [p for p in self.dirs if not hidden(p)]

    def read(self, path) -> bytes:
        return self.zip.read(str(path)) if self.zip else (self.root / Path(*PurePosixPath(path).parts)).read_bytes()

    def fingerprint(self, paths: list[PurePosixPath]) -> str:
        """What changes when any of `paths` changes: their names, sizes and CRCs in a zip, or their names, sizes
        and modification times in a directory."""
        h = hashlib.sha256()
        if self.zip:
            info = {i.filename: i for i in self.zip.infolist()}
            for p in paths:
                i = info[str(p)]
                h.update(f"{p}\t{i.file_size}\t{i.CRC}\n".encode())
        else:
            for p in paths:
                st = os.stat(self.root / Path(*p.parts))
                h.update(f"{p}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
        return h.hexdigest()


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


class FolderIndex:
    """The class folders of a folder data set and their image files, without decoding anything."""

    def __init__(self, root: str, split: str):
        self.root = root
        self.src = _Source(Path(root))
        self.prefix, self.files = _class_layout(self.src, split)
        self.names = list(self.files)
        self.src.paths = self.src.dirs = None  # the layout is all that was needed of them
        self._fingerprint = None

    def images_of(self, name: str) -> list[PurePosixPath]:
        images = sorted(f for f in self.files[name] if f.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            where = f"{self.prefix}/{name}" if self.prefix else name
            raise UserError(f"class folder '{where}' in {self.root} has no images "
                            f"({', '.join(sorted(IMAGE_SUFFIXES))}): add images or remove the folder")
        return images

    def first_image(self, keep: list[int]):
        """The first usable image of the first kept class (it fixes channels and native size); bad files are
        reported when the images are decoded."""
        images = self.images_of(self.names[keep[0]])
        for path in images:
            try:
                return open_image(self.src.read(path))
            except BadImage:
                continue
        raise UserError(f"no usable image in class folder '{self.names[keep[0]]}' of {self.root}")

    def fingerprint(self) -> str:
        """Kept for a zip (its size and time are in the index's key); a directory's files are looked at again
        each time, as a file can change without its folder changing."""
        if self._fingerprint is None or not self.src.zip:
            every = sorted(p for name in self.names for p in self.files[name] if p.suffix.lower() in IMAGE_SUFFIXES)
            self._fingerprint = self.src.fingerprint(every)
        return self._fingerprint


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


class FileReader:
    """read(path) and many(paths) -> bytes over a fresh handle: a zip is opened again in each process (and
    nothing else of the folder is indexed there)."""

    def __init__(self, root: str):
        self.root = Path(root)
        self.zip = zipfile.ZipFile(self.root) if self.root.is_file() else None

    def __call__(self, path) -> bytes:
        return self.zip.read(str(path)) if self.zip else (self.root / path).read_bytes()

    def many(self, paths) -> list[bytes]:
        return [self(p) for p in paths]


def decode_files(index: FolderIndex, keep: list[int], size: int | None,
                 mode: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 [N, C, R, R], labels) of the kept classes decoded in this process, for small one-off folders (samples
    to evaluate); training data goes through a prepared store instead. Any unusable file is an error. The mode
    ("L" or "RGB") is the first image's unless given."""
    first = index.first_image(keep)
    mode, size = mode or ("L" if is_grey(first) else "RGB"), size or min(first.size)
    items = [(p, label) for label, c in enumerate(keep) for p in index.images_of(index.names[c])]
    out = np.empty((len(items), 1 if mode == "L" else 3, size, size), dtype=np.uint8)
    for i, (path, _) in enumerate(items):
        try:
            out[i] = decode(index.src.read(path), mode, size)
        except BadImage as e:
            raise UserError(f"cannot use image '{path}' in {index.root}: {e}") from None
    return torch.from_numpy(out), torch.tensor([label for _, label in items], dtype=torch.long)


class FolderData(DecodedData):
    name = "folder"
    summary = "your images, one sub-folder per class, as a directory or .zip (optional train/ and test/ level)"

    def class_names(self, data_dir, split):
        return folder_index(data_dir, split).names

    def first_image(self, data_dir, split, keep):
        return folder_index(data_dir, split).first_image(keep)

    def fingerprint(self, data_dir, split):
        return folder_index(data_dir, split).fingerprint()

    def split_identity(self, data_dir, split):
        return f"folder level '{folder_index(data_dir, split).prefix}'"

    def items(self, data_dir, split, classes):
        index = folder_index(data_dir, split)
        return [(str(p), pos) for pos, c in enumerate(classes) for p in index.images_of(index.names[c])]

    def reader_factory(self, data_dir, split):
        return functools.partial(FileReader, data_dir)


register(FolderData())
