"""A data set's images as rows [N, C, R, R] of uint8: held in memory, or read from a prepared store's file by index.

Both kinds answer the same questions (len, shape, rows[indices], load()), so training, evaluation and the
experiments do not care which they have. A store's rows are read with pread, not through a memory map, so a data
set larger than memory costs the pages the kernel caches for it, not the process's own memory.
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import torch


def _indices(idx, n: int) -> np.ndarray:
    """Any index a tensor takes for its first dimension (int, slice, list, bool or int tensor/array) as int64 rows."""
    if isinstance(idx, torch.Tensor):
        idx = idx.cpu().numpy()
    if isinstance(idx, slice):
        return np.arange(n)[idx]
    arr = np.asarray(idx)
    if arr.dtype == bool:
        return np.flatnonzero(arr)
    arr = arr.astype(np.int64).reshape(-1) if arr.ndim else np.array([int(arr)])
    if len(arr) and (arr.min() < -n or arr.max() >= n):
        raise IndexError(f"row index out of range for {n} rows")
    return np.where(arr < 0, arr + n, arr)


class ImageRows:
    shape: tuple[int, int, int, int]

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape))

    @property
    def channels(self) -> int:
        return self.shape[1]

    @property
    def resolution(self) -> int:
        return self.shape[-1]

    @property
    def held(self) -> bool:
        return False

    def __getitem__(self, idx) -> torch.Tensor:
        """uint8 rows; an int gives one image [C, R, R], anything else [M, C, R, R]."""
        rows = self.gather(_indices(idx, len(self)))
        return rows[0] if isinstance(idx, (int, np.integer)) else rows

    def gather(self, rows: np.ndarray) -> torch.Tensor:
        raise NotImplementedError

    def load(self) -> torch.Tensor:
        """Every row as one uint8 tensor in memory."""
        return self.gather(np.arange(len(self)))

    def row_crcs(self) -> np.ndarray:
        """uint32 [N]: each row's CRC-32, in order (read a block of rows at a time)."""
        out = np.empty(len(self), dtype=np.uint32)
        for start in range(0, len(self), 4096):
            block = self.gather(np.arange(start, min(start + 4096, len(self)))).numpy()
            out[start:start + len(block)] = [zlib.crc32(row) for row in block]
        return out

    def hold(self, budget_bytes: float) -> "ImageRows":
        """These rows in memory when they fit `budget_bytes`, else these rows as they are."""
        return self if self.held or self.nbytes > budget_bytes else HeldRows(self.load())


class HeldRows(ImageRows):
    def __init__(self, images: torch.Tensor):
        self.tensor = images
        self.shape = tuple(images.shape)

    @property
    def held(self) -> bool:
        return True

    def gather(self, rows: np.ndarray) -> torch.Tensor:
        return self.tensor[torch.from_numpy(rows)]

    def load(self) -> torch.Tensor:
        return self.tensor


class StoreRows(ImageRows):
    """Rows `rows` (in this order) of a store's images file of `total` rows of shape [C, R, R]; `crcs`: the store's
    file of every row's CRC-32, when it has one."""

    def __init__(self, path: Path, total: int, row_shape: tuple[int, int, int], rows: np.ndarray,
                 crcs: Path | None = None):
        self.path, self.total, self.row_shape, self.crcs = Path(path), total, tuple(row_shape), crcs
        self.rows = np.asarray(rows, dtype=np.int64)
        self.shape = (len(self.rows), *self.row_shape)
        self.row_bytes = int(np.prod(self.row_shape))
        self._fd: int | None = None

    def __getstate__(self):  # an open file descriptor does not travel to another process
        return {**self.__dict__, "_fd": None}

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
            os.posix_fadvise(self._fd, 0, 0, os.POSIX_FADV_RANDOM)
        return self._fd

    def __del__(self):
        try:
            if self._fd is not None:
                os.close(self._fd)
        except (AttributeError, TypeError, OSError):  # at interpreter exit os may already be gone
            pass

    def gather(self, rows: np.ndarray) -> torch.Tensor:
        out = np.empty((len(rows), *self.row_shape), dtype=np.uint8)
        if not len(rows):
            return torch.from_numpy(out)
        file_rows, flat, fd = self.rows[rows], out.reshape(len(rows), -1), self._file()
        # runs of consecutive file rows are one read each: a whole store loads in a few large reads
        breaks = np.flatnonzero(np.diff(file_rows) != 1) + 1
        for start, stop in zip(np.r_[0, breaks], np.r_[breaks, len(rows)]):
            view = memoryview(flat[start:stop]).cast("B")
            offset, done = int(file_rows[start]) * self.row_bytes, 0
            while done < len(view):  # pread may return less than asked near page-cache pressure
                got = os.preadv(fd, [view[done:]], offset + done)
                if got <= 0:
                    raise OSError(f"{self.path} ended early: the store is damaged")
                done += got
        return torch.from_numpy(out)

    def subset(self, rows: np.ndarray) -> "StoreRows":
        return StoreRows(self.path, self.total, self.row_shape, self.rows[rows], self.crcs)

    def row_crcs(self) -> np.ndarray:
        try:  # written when the store was prepared: no need to read a data set larger than memory
            every = np.load(self.crcs, allow_pickle=False) if self.crcs else None
        except (OSError, ValueError):
            every = None
        if every is not None and every.shape == (self.total,) and every.dtype == np.uint32:
            return every[self.rows]
        return super().row_crcs()
