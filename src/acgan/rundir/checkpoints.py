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


class DamagedCheckpoint(UserError):
    def __init__(self, path: Path, reason: str):
        super().__init__(f"cannot read checkpoint {path} ({reason}): it is damaged or not an acgan checkpoint")
        self.reason = reason


REQUIRED = ("step", "G", "D")


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's state; DamagedCheckpoint when the file is truncated, empty or not one of ours."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zips, pickles, empty files: torch raises many kinds
        raise DamagedCheckpoint(path, f"{type(e).__name__}: {str(e).splitlines()[0][:80]}" if str(e)
                                else type(e).__name__) from None
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED):
        raise DamagedCheckpoint(path, "not an acgan checkpoint (no step, G and D)")
    return state


def save_checkpoint(folder: Path, state: dict, step: int, keep: int) -> Path:
    """Write the state for `step`, then drop all but the newest `keep`."""
    path = Path(folder) / f"ckpt-{step:07d}.pt"
    atomic_torch_save(state, path)
    for _, old in list_checkpoints(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return path
