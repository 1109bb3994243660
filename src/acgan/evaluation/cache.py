"""On-disk cache of real-data statistics, keyed by a content hash of everything that determines them."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from ..io import atomic_torch_save


def cache_dir() -> Path:
    return Path(os.environ.get("ACGAN_CACHE", Path.home() / ".cache" / "acgan"))


def content_key(*parts) -> str:
    """sha256 over tensors' bytes and JSON-able values, in order."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, torch.Tensor):
            h.update(str((p.dtype, tuple(p.shape))).encode())
            h.update(p.contiguous().cpu().numpy().tobytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


def cached(kind: str, key: str, compute):
    """compute() once per key; results are state_dict-like (tensors, numbers, strings, lists, dicts)."""
    path = cache_dir() / f"{kind}-{key}.pt"
    if path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception:
            path.unlink(missing_ok=True)  # a damaged cache entry is recomputed
    value = compute()
    atomic_torch_save(value, path)
    return value
