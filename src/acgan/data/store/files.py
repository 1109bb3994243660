"""A prepared store on disk, and the checks that keep a damaged one from being used.

CACHE/stores/<family>/<classes>/ holds
- images.u8: the images as raw uint8 rows [N, C, R, R], in the order of manifest.json's items;
- labels.npy: int64 [N], each row's position in the store's class list, -1 for a file that could not be used;
- row_crc32.npy: uint32 [N], each row's CRC-32: what a run records of its images' content, read without reading them
  (absent from stores of older versions: then computed from the rows);
- manifest.json: the source's identity and fingerprint, split, class names, per-class counts (and of those, how many
  files were grey), the pixel rule, the files that were skipped and why, and a CRC-32 of every chunk of rows;
- verified.json: the size and modification time of images.u8 when its CRCs were last checked in full.
<family> is a hash of everything that decides the pixels (source and its fingerprint, split, resolution, mode, rule);
<classes> a hash of the class names, so a store of some classes of a source serves any subset of them.
"""
from __future__ import annotations

import json
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...io import atomic_write_json
from ...locations import cache_dir
from ..rows import StoreRows

FORMAT = 1
ROW_CRCS = "row_crc32.npy"
CHECK_BLOCK = 64 << 20  # bytes read at a time when checking CRCs


def stores_dir() -> Path:
    return cache_dir() / "stores"


class DamagedStore(Exception):
    """A store whose files do not match its manifest; the message says what."""


@dataclass
class Store:
    path: Path
    manifest: dict
    labels: np.ndarray | None = None

    @property
    def images_path(self) -> Path:
        return self.path / "images.u8"

    @property
    def class_names(self) -> list[str]:
        return self.manifest["class_names"]

    @property
    def row_shape(self) -> tuple[int, int, int]:
        c, r = self.manifest["channels"], self.manifest["resolution"]
        return c, r, r

    @property
    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())

    @classmethod
    def open(cls, path: Path) -> "Store":
        """The store at `path`, checked: DamagedStore when a file is missing, of the wrong size, or fails its CRCs."""
        path = Path(path)
        try:
            manifest = json.loads((path / "manifest.json").read_text())
        except (OSError, ValueError) as e:
            raise DamagedStore(f"its manifest does not load ({type(e).__name__})") from None
        store = cls(path, manifest)
        if manifest.get("format") != FORMAT:
            raise DamagedStore(f"it is of another format ({manifest.get('format')}, this acgan reads {FORMAT})")
        n, row = manifest["rows"], int(np.prod(store.row_shape))
        try:
            size = store.images_path.stat().st_size
            labels = np.load(path / "labels.npy", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DamagedStore(f"a file is missing or unreadable ({type(e).__name__})") from None
        if size != n * row:
            raise DamagedStore(f"images.u8 holds {size:,} bytes, not the {n * row:,} of {n:,} rows")
        if labels.shape != (n,) or labels.dtype != np.int64:
            raise DamagedStore(f"labels.npy holds {labels.shape} {labels.dtype}, not {n} int64 labels")
        store.labels = labels
        store.check_crcs()
        return store

    def _stamp(self) -> dict:
        st = self.images_path.stat()
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}

    def check_crcs(self) -> None:
        """Every chunk's CRC-32 against the manifest, unless images.u8 is unchanged since the last full check."""
        stamp_path = self.path / "verified.json"
        try:
            if json.loads(stamp_path.read_text()) == self._stamp():
                return
        except (OSError, ValueError):
            pass
        chunk_bytes = self.manifest["chunk_rows"] * int(np.prod(self.row_shape))
        with open(self.images_path, "rb") as f:
            for i, want in enumerate(self.manifest["chunk_crc32"]):
                crc, left = 0, chunk_bytes
                while left > 0:
                    block = f.read(min(left, CHECK_BLOCK))
                    if not block:
                        break
                    crc, left = zlib.crc32(block, crc), left - len(block)
                if crc != want:
                    raise DamagedStore(f"chunk {i} of images.u8 fails its CRC-32")
        try:
            atomic_write_json(stamp_path, self._stamp())
        except Exception:  # a read-only cache: the check runs again next time
            pass

    def touch(self) -> None:
        """Mark the store as used now (`acgan data list` and `prune` read it)."""
        try:
            os.utime(self.path / "manifest.json")
        except OSError:
            pass

    def rows_of(self, positions: list[int]) -> tuple[StoreRows, np.ndarray]:
        """(rows, labels) of the store's classes at `positions`, in that order (class by class, each in the
        store's order); labels are indices into `positions`. Unusable files are left out."""
        order = [np.flatnonzero(self.labels == p) for p in positions]
        rows = np.concatenate(order) if order else np.zeros(0, dtype=np.int64)
        labels = np.concatenate([np.full(len(o), i, dtype=np.int64) for i, o in enumerate(order)]) if order \
            else np.zeros(0, dtype=np.int64)
        return StoreRows(self.images_path, self.manifest["rows"], self.row_shape, rows, self.path / ROW_CRCS), labels

    def grey_files(self, positions: list[int]) -> int | None:
        """How many usable files of the classes at `positions` were grey (None: a store of an older version)."""
        grey = self.manifest.get("grey_counts")
        return None if grey is None else sum(grey[p] for p in positions)

    def describe(self) -> dict:
        m = self.manifest
        return {"path": str(self.path), "dataset": m["dataset"], "source": m["source"]["identity"],
                "split": m["split"], "resolution": m["resolution"], "channels": m["channels"],
                "classes": len(m["class_names"]), "images": int(sum(m["counts"])), "skipped": len(m["skipped"]),
                "bytes": self.size_bytes, "created": m["created"],
                "last_used": time.strftime("%Y-%m-%d %H:%M", time.localtime(
                    (self.path / "manifest.json").stat().st_mtime))}
