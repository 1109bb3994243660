"""Files that are whole or absent: every write goes through a temp file in the same folder and a rename."""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch

from .errors import UserError
from .grids import labelled_grid
from .pixels import to_zero_one


class DiskFull(UserError):
    """No space left (ENOSPC) or over quota (EDQUOT) while writing; what was there before is intact."""


def disk_full(path: Path) -> DiskFull:
    try:
        free = f"{shutil.disk_usage(Path(path).parent).free / 2 ** 20:.1f} MiB free"
    except OSError:
        free = "free space unknown"
    return DiskFull(f"the disk is full: could not write {path} ({free}); nothing written was left half-done: free "
                    "some space, then --resume (or run the command again)")


def guard_disk(path: Path):
    """Turn ENOSPC / EDQUOT raised inside the block into one DiskFull line naming `path`."""
    return _Guard(path)


class _Guard:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise disk_full(self.path) from None
        return False


def atomic_write(path: Path, write) -> None:
    """`write(tmp_path)` fills a temp file beside `path`, then a rename: a crash or a full disk leaves the old file
    (or none) and no temp file behind."""
    path = Path(path)
    with guard_disk(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            write(tmp)
            # mkstemp makes 0600, and so does a writer that puts its own temp file in place of ours (safetensors'
            # save_file): set after writing, the file gets the user's umask like any other
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _synced(mode: str, fill):
    def write(tmp):
        with open(tmp, mode) as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
    return write


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, _synced("w", lambda f: f.write(text)))


def atomic_write_json(path: Path, obj, indent: int = 2) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent) + "\n")


def atomic_torch_save(obj, path: Path) -> None:
    atomic_write(path, _synced("wb", lambda f: torch.save(obj, f)))


def write_png(images: torch.Tensor, dest, nrow: int = 8, rows: list[str] | None = None) -> None:
    """Images in [-1, 1] ([N, C, H, W], or one [C, H, W]) as one PNG grid to a path or binary file: grayscale
    for 1-channel images (torchvision's save_image writes RGB, which our own evaluation of grayscale data would
    then have to guess back), RGB for 3. The pixels are save_image's (x * 255 + 0.5, clamped); `rows` names the
    rows in a margin on the left (grids.py)."""
    from PIL import Image
    grid = labelled_grid(to_zero_one(images.detach().cpu().float()), nrow, rows)
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    grey = images.shape[-3] == 1
    Image.fromarray(pixels[..., 0] if grey else pixels, "L" if grey else "RGB").save(dest, format="png")


def atomic_save_image(images: torch.Tensor, path: Path, nrow: int, rows: list[str] | None = None) -> None:
    """A grid of images in [-1, 1], `nrow` per row, as PNG (write_png), its rows named by `rows` when given."""
    atomic_write(path, lambda tmp: write_png(images, tmp, nrow, rows))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_choices(path: Path) -> dict:
    """A JSON file of choices remembered by timing (MS-SSIM's blur, auto precision); {} when absent or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def write_choices(path: Path, choices: dict) -> None:
    """Best effort: a read-only or full cache folder only means timing again in the next process."""
    try:
        atomic_write_json(path, choices, indent=1)
    except (OSError, UserError):
        pass


@contextmanager
def exclusive(lock_path: Path, log, waiting: str):
    """An advisory lock held while something is built once for every process (a store, an evaluator); a second
    process waits for it, saying `waiting` once. The lock dies with its process, so a killed one never blocks."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(waiting)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
