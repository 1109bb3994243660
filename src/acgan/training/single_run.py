"""A single run from start to finish: new, resumed, or whichever of the two its folder calls for."""
from __future__ import annotations

import time
from pathlib import Path

from ..config import TrainConfig
from ..device import resolve_device
from ..errors import UserError
from ..progress import duration, echo
from ..rundir import RunDir, RunRecord, same_data
from .data import load_training_data
from .distributed import close_distributed, init_distributed
from .loop import Trainer


def _logger(run: RunDir, progress: bool, main: bool):
    return run.logger(echo if progress else None) if main else (lambda msg: None)


def train(cfg: TrainConfig, out: Path, *, force: bool = False, progress: bool = True,
          distributed: bool = True) -> Path:
    """A new run in `out` (refuses to overwrite unless `force`); data-parallel under torchrun if `distributed`."""
    cfg.validate()
    run = RunDir(out)
    ctx, _ = init_distributed(resolve_device(cfg.device), distributed)
    try:
        if ctx.is_main:
            run.check_unlocked()  # --force must not delete a run that a live process trains
            run.check_replaceable(force)
        # data and models before the folder is touched: a start that fails on them leaves an old run in place
        trainer = Trainer(cfg, load_training_data(cfg), distributed=distributed)
        if ctx.is_main:
            run.prepare(force)
            run.lock()
        ctx.barrier()
        log = _logger(run, progress, ctx.is_main)
        if ctx.is_main:
            run.write(RunRecord(trainer.config_as_run(), trainer.data_record))
            _open_tensorboard(run, trainer)
            trainer.save_grid(run)
        log(f"start: {trainer.summary()}")
        _run(trainer, run, log, progress)
    finally:
        run.unlock()
        close_distributed()
    return run.path


def _open_tensorboard(run: RunDir, trainer: Trainer) -> None:
    if trainer.cfg.tensorboard:
        run.open_tensorboard(trainer.data_record["class_names"], trainer.step, trainer.cfg.to_dict())


def _run(trainer: Trainer, run: RunDir, log, progress: bool) -> None:
    first, start = trainer.step, time.perf_counter()
    try:
        trainer.run(run, log, progress)
    finally:
        run.close_tensorboard()
    log(f"done: {trainer.step} steps ({trainer.step - first} trained in {duration(time.perf_counter() - start)}); "
        f"samples in {run.latest_grid}")


def resume(run_dir: Path, *, steps: int | None = None, device: str | None = None, progress: bool = True,
           distributed: bool = True) -> Path:
    """Continue a run from its newest checkpoint (optionally to a new total of `steps`)."""
    run = RunDir(run_dir)
    record = run.read()
    cfg = run.train_config(record)
    if steps is not None:
        cfg.steps = steps
    if device is not None:
        cfg.device = device
    cfg.validate()
    ctx, _ = init_distributed(resolve_device(cfg.device), distributed)
    if ctx.is_main:
        run.lock()
    try:
        trainer = Trainer(cfg, load_training_data(cfg, record.data.get("resolution")), distributed=distributed)
        if not same_data(record.data, trainer.data_record):
            raise UserError(f"the data now found for {run.path} differs from the data it was trained on "
                            "(classes, channels or resolution): point --data-dir at the original data")
        return _resume(run, cfg, trainer, progress)
    finally:
        run.unlock()
        close_distributed()


def _resume(run: RunDir, cfg: TrainConfig, trainer: Trainer, progress: bool) -> Path:
    main = trainer.dist.is_main
    log = _logger(run, progress, main)
    if main:  # rank 0 cleans up and sets damaged checkpoints aside before any rank reads one
        run.remove_stale_temp_files()
        state, path = run.load_checkpoint(log=log)
    trainer.dist.barrier()
    if not main:
        state, path = run.load_checkpoint(log=lambda msg: None)
    if state is not None:
        trainer.load_state(state, str(path))
    if main:
        run.truncate_stats(trainer.step)
    if trainer.step >= cfg.steps:
        log(f"resume: already at step {trainer.step} of {cfg.steps}; pass --steps N to train further")
        return run.path
    if main:
        run.write(RunRecord(trainer.config_as_run(), trainer.data_record))
        _open_tensorboard(run, trainer)
    log(f"resume from step {trainer.step}: {trainer.summary()}")
    _run(trainer, run, log, progress)
    return run.path


def train_or_resume(cfg: TrainConfig, out: Path, *, progress: bool = False, distributed: bool = False) -> str:
    """Bring the run at `out` to cfg.steps: train it if it is new, continue it if not, nothing if it is done."""
    run = RunDir(out)
    if not run.exists():
        train(cfg, out, progress=progress, distributed=distributed)
        return f"trained {cfg.steps} steps"
    if run.last_step() >= cfg.steps:
        return "already done"
    resume(out, steps=cfg.steps, progress=progress, distributed=distributed)
    return f"resumed to step {cfg.steps}"
