"""The two entry points the CLI calls: start a run (single or class-split) and resume one (either kind)."""
from __future__ import annotations

from pathlib import Path

from ..config import TrainConfig
from ..errors import UserError
from ..rundir import RunDir
from . import single_run
from .data import data_exists
from .splits import train_split


def start(cfg: TrainConfig, out: Path, *, force: bool = False, progress: bool = True,
          classes_per_model: int | None = None, grouping: str = "consecutive", jobs: int = 1, log=print,
          minutes: float | None = None) -> Path:
    """A new run at `out`; with `classes_per_model`, a split run (the same command again continues it); with
    `minutes`, a single run trained for that long."""
    if classes_per_model:
        _single(minutes)
        return train_split(cfg, out, classes_per_model, grouping=grouping, jobs=jobs, force=force, log=log)
    return single_run.train(cfg, out, force=force, progress=progress, minutes=minutes)


def _single(minutes: float | None) -> None:
    if minutes is not None:  # its groups train one after another, or several at once: no one clock to follow
        raise UserError("--minutes trains a single model; a class-split run (--classes-per-model) takes --steps")


def resume(run_dir: Path, *, steps: int | None = None, device: str | None = None, data_dir: str | None = None,
           progress: bool = True, jobs: int = 1, log=print, minutes: float | None = None) -> Path:
    """Continue any run from its checkpoints, optionally to a new total of `steps`; `data_dir`: where a single
    run's data is now, when it moved."""
    run = RunDir(run_dir)
    record = run.read()
    if record.split is None:
        return single_run.resume(run_dir, steps=steps, device=device, data_dir=data_dir, progress=progress,
                                 minutes=minutes)
    _single(minutes)
    cfg = run.train_config(record)
    moving = data_dir is not None and str(data_dir) != cfg.data_dir
    if moving or not data_exists(cfg):  # each group records its own copy of the path
        raise UserError(f"{run.path} is a class-split run, whose groups read their data from {cfg.data_dir}"
                        + ("" if moving else ", which does not exist any more") + ": put the data back there (a "
                        "symbolic link to where it is now will do) and resume without --data-dir")
    cfg.steps, cfg.device = steps or cfg.steps, device or cfg.device
    return train_split(cfg, run_dir, record.split["classes_per_model"], grouping=record.split["grouping"],
                       jobs=jobs, log=log)
