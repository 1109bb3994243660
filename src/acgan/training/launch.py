"""The two entry points the CLI calls: start a run (single or class-split) and resume one (either kind)."""
from __future__ import annotations

from pathlib import Path

from ..config import TrainConfig
from ..rundir import RunDir
from . import single_run
from .splits import train_split


def start(cfg: TrainConfig, out: Path, *, force: bool = False, progress: bool = True,
          classes_per_model: int | None = None, grouping: str = "consecutive", jobs: int = 1, log=print) -> Path:
    """A new run at `out`; with `classes_per_model`, a split run (the same command again continues it)."""
    if classes_per_model:
        return train_split(cfg, out, classes_per_model, grouping=grouping, jobs=jobs, force=force, log=log)
    return single_run.train(cfg, out, force=force, progress=progress)


def resume(run_dir: Path, *, steps: int | None = None, device: str | None = None, progress: bool = True,
           jobs: int = 1, log=print) -> Path:
    """Continue any run from its checkpoints, optionally to a new total of `steps`."""
    run = RunDir(run_dir)
    record = run.read()
    if record.split is None:
        return single_run.resume(run_dir, steps=steps, device=device, progress=progress)
    cfg = run.train_config(record)
    cfg.steps, cfg.device = steps or cfg.steps, device or cfg.device
    return train_split(cfg, run_dir, record.split["classes_per_model"], grouping=record.split["grouping"],
                       jobs=jobs, log=log)
