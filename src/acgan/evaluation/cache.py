"""On-disk cache of real-data statistics, keyed by a content hash of everything that determines them."""
from __future__ import annotations

import hashlib
import json

import torch

from ..io import atomic_torch_save, atomic_write_text, file_sha256
from ..locations import cache_dir
from ..progress import echo


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


def cached(kind: str, key: str, compute, log=echo):
    """compute() once per key; results are state_dict-like (tensors, numbers, strings, lists, dicts). Each entry
    has a sha256 beside it: an entry that fails it or fails to load is reported in one line and rebuilt, never
    used."""
    path = cache_dir() / f"{kind}-{key}.pt"
    digest = path.with_name(path.name + ".sha256")
    if path.is_file():
        try:
            if not digest.is_file() or digest.read_text().strip() != file_sha256(path):
                raise ValueError("its sha256 does not match")
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # truncated, edited, or not a torch file
            log(f"warning: damaged cache entry {path} ({str(e).splitlines()[0][:80] if str(e) else type(e).__name__})"
                ": rebuilding it")
            path.unlink(missing_ok=True)
    value = compute()
    atomic_torch_save(value, path)
    atomic_write_text(digest, file_sha256(path) + "\n")
    return value
