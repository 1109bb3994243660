"""Run-directory files: atomic writes, checkpoints (state_dicts only, loaded with weights_only=True)."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import torch

from ..errors import UserError

CKPT_RE = re.compile(r"ckpt-(\d+)\.pt$")


def atomic_write(path: Path, write) -> None:
    """Write through a temp file in the same folder, then rename: a crash leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    atomic_write(path, write)


def atomic_torch_save(obj, path: Path) -> None:
    def write(tmp):
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
    atomic_write(path, write)


def atomic_save_image(images: torch.Tensor, path: Path, nrow: int) -> None:
    """A grid of images in [-1, 1], `nrow` per row, as PNG."""
    from torchvision.utils import save_image
    atomic_write(path, lambda tmp: save_image(images.float() * 0.5 + 0.5, tmp, nrow=nrow, padding=2, format="png"))


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of the run's checkpoints, oldest first."""
    found = [(int(m.group(1)), p) for p in (Path(run_dir) / "checkpoints").glob("ckpt-*.pt")
             if (m := CKPT_RE.search(p.name))]
    return sorted(found)


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    for _, path in checkpoints(run_dir)[:-keep]:
        path.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"cannot read checkpoint {path} ({type(e).__name__}): it is damaged or not an acgan "
                        "checkpoint; delete it to resume from the one before") from None


def latest_checkpoint(run_dir: Path) -> dict | None:
    found = checkpoints(run_dir)
    return load_checkpoint(found[-1][1]) if found else None


def read_run_config(run_dir: Path) -> dict:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise UserError(f"{run_dir} is not an acgan run directory (no config.json): pass the --out folder of "
                        "an `acgan train` run")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        raise UserError(f"{path} is not valid JSON: restore it from the run's checkpoints") from None


def prepare_out_dir(out: Path, force: bool) -> None:
    """Refuse to overwrite an existing folder unless --force, and then only an acgan run or an empty folder."""
    out = Path(out)
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        if not force:
            raise UserError(f"{out} already exists: pass --resume {out} to continue it, --force to replace it, "
                            "or choose another --out")
        if not (out / "config.json").is_file():
            raise UserError(f"--force will only replace an acgan run directory, and {out} is not one: "
                            "choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def remove_stale_temp_files(run_dir: Path) -> None:
    """Half-written temp files a killed run left behind (the files they were replacing are intact)."""
    for tmp in Path(run_dir).rglob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def truncate_stats(path: Path, last_step: int) -> None:
    """Drop stats lines written after the checkpoint we resume from (a crash can leave them, half-written too)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= last_step:
                kept.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    atomic_write_text(path, "".join(k + "\n" for k in kept))
