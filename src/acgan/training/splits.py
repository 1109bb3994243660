"""Class-split training (the paper trained ImageNet as 100 AC-GANs of 10 classes each).

`acgan train --classes-per-model N` trains ceil(K/N) independent AC-GANs over groups of the selected classes, as
sub-runs of one run directory whose record carries the split. Groups are spread over `--jobs J` local processes, or
over torchrun ranks (rank r takes the groups g with g % WORLD_SIZE == r; no scheduler of our own). Running the same
command again continues: finished groups are skipped, interrupted groups resume from their checkpoints.
`acgan.load_generator` treats the whole directory as one generator over all K classes.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from pathlib import Path

import torch

from ..config import TrainConfig, from_dict
from ..data import describe
from ..errors import UserError
from ..models import default_resolution
from ..rundir import RunDir, RunRecord, data_record
from .data import prepare_selection
from .single_run import train_or_resume


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


def planned_record(cfg: TrainConfig) -> RunRecord:
    """The record a run of `cfg` will have, worked out without decoding images (classes resolved to names)."""
    desc = describe(cfg)
    resolution = cfg.resolution or default_resolution(cfg.arch, desc.native_resolution)
    return RunRecord(dict(cfg.to_dict(), classes=desc.class_names),
                     data_record(cfg.dataset, desc.class_names, desc.source_classes, desc.channels, resolution))


def split_record(cfg: TrainConfig, per_model: int, grouping: str) -> RunRecord:
    if per_model < 1:
        raise UserError("--classes-per-model must be at least 1")
    record = planned_record(cfg)
    k = record.data["num_classes"]
    if per_model > k:
        raise UserError(f"{per_model} classes per model is more than the data's {k} classes: use {k} at most")
    groups = class_groups(k, per_model, grouping, cfg.seed)
    record.split = {"classes_per_model": per_model, "grouping": grouping, "groups": groups,
                    "dirs": [RunDir.group_name(g) for g in range(len(groups))]}
    return record


def _fixed(config: dict) -> dict:
    """What may not change when a split run continues: all but the step count and the device."""
    return {k: v for k, v in config.items() if k not in ("steps", "device")}


def prepare_split_dir(run: RunDir, record: RunRecord, force: bool) -> None:
    """Create the split run, or continue the same one; anything else at the folder is refused as usual."""
    if run.exists():
        saved = run.read()
        if saved.split == record.split and _fixed(saved.config) == _fixed(record.config):
            run.write(record)  # the same split run: continue it, maybe to more steps
            return
        if not force:
            raise UserError(f"{run.path} already holds another run: choose another --out, or --force to replace it")
    run.prepare(force)
    run.write(record)


def train_group(args: tuple) -> str:
    """Train, continue or skip one group (a picklable entry for worker processes)."""
    run_dir, g, cfg_dict, threads = args
    if threads:
        torch.set_num_threads(threads)
    return f"group {g}: " + train_or_resume(from_dict(cfg_dict), RunDir(run_dir).group(g).path)


def train_split(cfg: TrainConfig, out: Path, per_model: int, *, grouping: str = "consecutive", jobs: int = 1,
                force: bool = False, log=print) -> Path:
    cfg.validate()
    run = RunDir(out)
    record = split_record(cfg, per_model, grouping)
    rank, world = rank_and_world()
    if rank == 0:
        prepare_split_dir(run, record, force)
    else:  # other ranks wait for rank 0's config.json (no process group is needed for independent groups)
        deadline = time.time() + 300
        while not run.exists() and time.time() < deadline:
            time.sleep(0.5)
        prepare_split_dir(run, record, False)
    groups = record.split["groups"]
    prepare_selection(cfg, ["train"], log=log)  # every class decoded once, before the groups read their own
    mine = [g for g in range(len(groups)) if g % world == rank]
    names = record.data["class_names"]
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
    return run.path
