"""A single run from start to finish: new, resumed, or whichever of the two its folder calls for."""
from __future__ import annotations

import time
from pathlib import Path

from ..config import TrainConfig
from ..data import ImageData
from ..device import resolve_device
from ..errors import UserError
from ..progress import duration, echo
from ..rundir import RunDir, RunRecord, data_difference, data_record
from .data import check_data_exists, load_training_data, small_classes
from .distributed import close_distributed, init_distributed
from .loop import Trainer
from .timing import TimeBudget


def _logger(run: RunDir, progress: bool, main: bool):
    return run.logger(echo if progress else None) if main else (lambda msg: None)


def train(cfg: TrainConfig, out: Path, *, force: bool = False, progress: bool = True,
          distributed: bool = True, minutes: float | None = None) -> Path:
    """A new run in `out` (refuses to overwrite unless `force`); data-parallel under torchrun if `distributed`; for
    `minutes` of training instead of cfg.steps when given (timing.py)."""
    cfg.validate()
    run = RunDir(out)
    ctx, _ = init_distributed(resolve_device(cfg.device), distributed)
    try:
        if ctx.is_main:
            run.check_unlocked()  # --force must not delete a run that a live process trains
            run.check_replaceable(force)
        # data and models before the folder is touched: a start that fails on them leaves an old run in place
        data = load_training_data(cfg)
        warnings = small_classes(cfg, data)
        trainer = Trainer(cfg, data, distributed=distributed)
        trainer.data_record["content_key"] = data.content_key()
        if ctx.is_main:
            run.prepare(force)
            run.lock()
        ctx.barrier()
        log = _logger(run, progress, ctx.is_main)
        if ctx.is_main:
            _tell(run, data, warnings)
            run.write(RunRecord(trainer.config_as_run(), trainer.data_record))
            _open_tensorboard(run, trainer)
            trainer.save_grid(run)
        trainer.budget = TimeBudget(minutes) if minutes else None
        log(f"start: {trainer.summary()}")
        _run(trainer, run, log, progress)
    finally:
        run.unlock()
        close_distributed()
    return run.path


def _tell(run: RunDir, data: ImageData, warnings: list[str]) -> None:
    """What the run should know of its data, said once where it starts, on the console even with --quiet (which
    quiets progress, not warnings) and in log.txt: data of grey and colour files, classes too small for a part, and
    each file --skip-bad-images left out (named in log.txt only: there may be thousands)."""
    log = run.logger(echo)
    if data.skipped:
        n = len(data.skipped)
        log(f"--skip-bad-images left out {n} file{'s' if n > 1 else ''} that cannot be used; "
            f"{run.path / 'log.txt'} names {'each' if n > 1 else 'it'}")
        to_file = run.logger()
        for s in data.skipped:
            to_file(f"skipped {s['file']} (class '{s['class']}'): {s['reason']}")
    for line in data.notes + warnings:
        log(line)


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


def resume(run_dir: Path, *, steps: int | None = None, device: str | None = None, data_dir: str | None = None,
           progress: bool = True, distributed: bool = True, minutes: float | None = None) -> Path:
    """Continue a run from its newest checkpoint (optionally to a new total of `steps`, or for `minutes`);
    `data_dir`: where its data is now, when it moved: refused unless its classes and content key are the run's."""
    run = RunDir(run_dir)
    record = run.read()
    cfg = run.train_config(record)
    moved_from = cfg.data_dir if data_dir is not None and str(data_dir) != cfg.data_dir else None
    if moved_from is not None:
        cfg.data_dir = str(data_dir)
    else:
        check_data_exists(run.path, cfg)
    if steps is not None:
        cfg.steps = steps
    if device is not None:
        cfg.device = device
    cfg.validate()
    ctx, _ = init_distributed(resolve_device(cfg.device), distributed)
    if ctx.is_main:
        run.lock()
    try:
        data = load_training_data(cfg, record.data.get("resolution"))
        warnings = small_classes(cfg, data)
        found = dict(data_record(cfg.dataset, data.class_names, data.source_classes, data.channels, data.resolution,
                                 len(data.labels)), content_key=data.content_key())
        differs = data_difference(record.data, found, content=moved_from is not None)
        if differs and moved_from is not None:
            raise UserError(f"the data at {cfg.data_dir} is not the data {run.path} was trained on ({differs}): "
                            f"point --data-dir at a copy of {moved_from}")
        if differs:
            raise UserError(f"the data now at {cfg.data_dir} differs from the data {run.path} was trained on "
                            f"({differs}): put that data back, or resume with --data-dir at a copy of it")
        if moved_from is not None:
            if ctx.is_main:  # only the path changes; what the run trained on is the same
                run.write(RunRecord(dict(record.config, data_dir=cfg.data_dir), dict(record.data, **found)))
            same = (f"the same classes and images (content key {found['content_key'][:12]})"
                    if record.data.get("content_key") else "the same classes and number of images (the run predates "
                    "content keys: the images themselves were not compared)")
            warnings.insert(0, f"the data moved from {moved_from} to {cfg.data_dir}: {same}; config.json now names "
                               f"{cfg.data_dir}")
        elif changed := data_difference(record.data, found, content=True):
            warnings.insert(0, f"warning: the images at {cfg.data_dir} changed since the run last trained on them "
                               f"({changed}); it goes on with them as they are now")
        trainer = Trainer(cfg, data, distributed=distributed)
        trainer.data_record["content_key"] = found["content_key"]
        trainer.budget = TimeBudget(minutes) if minutes else None
        return _resume(run, cfg, trainer, progress, data, warnings)
    finally:
        run.unlock()
        close_distributed()


def _resume(run: RunDir, cfg: TrainConfig, trainer: Trainer, progress: bool, data: ImageData,
            warnings: list[str]) -> Path:
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
        _tell(run, data, warnings)
    if trainer.step >= cfg.steps and trainer.budget is None:
        log(f"resume: already at step {trainer.step} of {cfg.steps}; pass --steps N or --minutes M to train further")
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
