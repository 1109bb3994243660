"""Checkpoints: plain state_dicts written atomically as checkpoints/ckpt-NNNNNNN.pt, loaded with weights_only."""
from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import UserError
from ..io import atomic_torch_save

CKPT_RE = re.compile(r"ckpt-(\d+)\.pt$")


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of the checkpoints in `folder`, oldest first."""
    found = [(int(m.group(1)), p) for p in Path(folder).glob("ckpt-*.pt") if (m := CKPT_RE.search(p.name))]
    return sorted(found)


def load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"cannot read checkpoint {path} ({type(e).__name__}): it is damaged or not an acgan "
                        "checkpoint; delete it to resume from the one before") from None


def save_checkpoint(folder: Path, state: dict, step: int, keep: int) -> Path:
    """Write the state for `step`, then drop all but the newest `keep`."""
    path = Path(folder) / f"ckpt-{step:07d}.pt"
    atomic_torch_save(state, path)
    for _, old in list_checkpoints(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return path
