"""Class-split training (the paper trained ImageNet as 100 AC-GANs of 10 classes each).

`acgan train --classes-per-model N` trains ceil(K/N) independent AC-GANs over groups of the selected classes, as
sub-runs `group-000/`, `group-001/`, ... of one run directory whose config.json carries the split. Groups are spread
over `--jobs J` local processes, or over torchrun ranks (rank r takes the groups g with g % WORLD_SIZE == r; no
scheduler of our own). Running the same command again continues: finished groups are skipped, interrupted groups
resume from their checkpoints. `acgan.load_generator` treats the whole directory as one generator over all K classes.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
from pathlib import Path

import torch

from ..config import TrainConfig, from_dict, save_json
from ..data import channels_of, class_names_of, native_resolution_of, resolve_classes
from ..errors import UserError
from ..models import default_resolution
from . import files


def class_groups(num_classes: int, per_model: int, grouping: str, seed: int) -> list[list[int]]:
    """Positions 0..K-1 cut into groups of `per_model`: consecutive, or after a seeded shuffle."""
    order = list(range(num_classes))
    if grouping == "random":
        order = torch.randperm(num_classes, generator=torch.Generator().manual_seed(seed)).tolist()
    elif grouping != "consecutive":
        raise UserError(f"unknown grouping '{grouping}': use consecutive or random")
    return [sorted(order[i:i + per_model]) for i in range(0, num_classes, per_model)]


def rank_and_world() -> tuple[int, int]:
    """torchrun's RANK and WORLD_SIZE (1 process without torchrun)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def group_dir(run_dir: Path, g: int) -> Path:
    return Path(run_dir) / f"group-{g:03d}"


def data_spec(cfg: TrainConfig) -> dict:
    """config.json's config and data parts for `cfg`, worked out without training (classes resolved to names)."""
    names = class_names_of(cfg)
    selected = [names[i] for i in resolve_classes(cfg.classes, names)]
    resolution = cfg.resolution or default_resolution(cfg.arch, native_resolution_of(cfg))
    return {"config": dict(cfg.to_dict(), classes=selected),
            "data": {"dataset": cfg.dataset, "class_names": selected, "num_classes": len(selected),
                     "channels": channels_of(cfg), "resolution": resolution}}


def split_spec(cfg: TrainConfig, per_model: int, grouping: str) -> dict:
    if per_model < 1:
        raise UserError("--classes-per-model must be at least 1")
    spec = data_spec(cfg)
    groups = class_groups(spec["data"]["num_classes"], per_model, grouping, cfg.seed)
    spec["split"] = {"classes_per_model": per_model, "grouping": grouping, "groups": groups,
                     "dirs": [group_dir("", g).name for g in range(len(groups))]}
    return spec


def prepare_split_dir(out: Path, spec: dict, force: bool) -> None:
    """Create the split run, or continue the same one; anything else at `out` is refused as usual."""
    out = Path(out)
    if (out / "config.json").is_file():
        saved = files.read_run_config(out)
        if saved.get("split") == spec["split"] and _fixed(saved["config"]) == _fixed(spec["config"]):
            save_json(spec, out / "config.json")  # the same split run: continue it, maybe to more steps
            return
        if not force:
            raise UserError(f"{out} already holds another run: choose another --out, or --force to replace it")
    files.prepare_out_dir(out, force)
    save_json(spec, out / "config.json")


def _fixed(config: dict) -> dict:
    """What may not change when a split run continues: all but the step count and the device."""
    return {k: v for k, v in config.items() if k not in ("steps", "device")}


def train_group(args: tuple) -> str:
    """Train or continue one group; skipped when it already reached its steps."""
    from .loop import resume, train

    run_dir, g, cfg_dict, threads = args
    if threads:
        torch.set_num_threads(threads)
    cfg = from_dict(cfg_dict)
    gdir = group_dir(run_dir, g)
    found = files.checkpoints(gdir) if (gdir / "config.json").is_file() else []
    if found and found[-1][0] >= cfg.steps:
        return f"group {g}: already done"
    if (gdir / "config.json").is_file():
        resume(gdir, steps=cfg.steps, progress=False, distributed=False)
        return f"group {g}: resumed to step {cfg.steps}"
    train(cfg, gdir, force=False, progress=False, distributed=False)
    return f"group {g}: trained {cfg.steps} steps"


def train_split(cfg: TrainConfig, out: Path, per_model: int, *, grouping: str = "consecutive", jobs: int = 1,
                force: bool = False, log=print) -> Path:
    cfg.validate()
    spec = split_spec(cfg, per_model, grouping)
    rank, world = rank_and_world()
    if rank == 0:
        prepare_split_dir(out, spec, force)
    else:  # other ranks wait for rank 0's config.json (no process group is needed for independent groups)
        import time
        deadline = time.time() + 300
        while not (Path(out) / "config.json").is_file() and time.time() < deadline:
            time.sleep(0.5)
        prepare_split_dir(out, spec, False)
    groups = spec["split"]["groups"]
    mine = [g for g in range(len(groups)) if g % world == rank]
    names = spec["data"]["class_names"]
    work = [(str(out), g, dataclasses.replace(cfg, classes=[names[i] for i in groups[g]]).to_dict(), 0)
            for g in mine]
    log(f"{len(groups)} models of up to {per_model} classes; this process (rank {rank} of {world}) trains "
        f"groups {mine} with {jobs} job(s)")
    if jobs <= 1:
        for item in work:
            log(train_group(item))
    else:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        work = [w[:3] + (threads,) for w in work]
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            for msg in pool.imap_unordered(train_group, work):
                log(msg)
    return Path(out)
