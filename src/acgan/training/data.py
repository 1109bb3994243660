"""The data a run trains on: the resolution rule (the config's, the run's, or the architecture's default for the
data's native size), the classes too small for what will read them, and preparing a selection's stores ahead of
training (`acgan data prepare`, class splits)."""
from __future__ import annotations

from pathlib import Path

from ..config import TrainConfig
from ..data import DATASETS, ImageData, describe, has_test_split, load_data, resolve_classes, split_counts
from ..data.decoded import DecodedData
from ..data.sizes import EVALUATE_LATER, HOLD_OUT, TRAINING, check_sizes
from ..errors import UserError
from ..models import default_resolution
from ..progress import echo
from .monitor import NEED as MONITOR
from .monitor import CollapseMonitor


def training_resolution(cfg: TrainConfig, recorded: int | None = None) -> int:
    return cfg.resolution or recorded or default_resolution(cfg.arch, describe(cfg).native_resolution)


def load_training_data(cfg: TrainConfig, recorded_resolution: int | None = None, log=echo):
    """The config's data at the resolution the model trains at."""
    return load_data(cfg, training_resolution(cfg, recorded_resolution), log=log)


def small_classes(cfg: TrainConfig, data: ImageData) -> list[str]:
    """A warning line for each part that will leave out or refuse classes with too few images (the collapse
    monitor, the evaluator, evaluation), from the training images and the test split's files; UserError (one line)
    for a class without images, which nothing can train."""
    names, counts = data.class_names, data.counts()
    needs = [TRAINING] + ([MONITOR] if cfg.monitor_every and CollapseMonitor.usable(data.resolution) else [])
    lines = check_sizes(names, counts, needs)
    if not has_test_split(cfg):  # the training images are the real side of the evaluation, one in ten held out
        return lines + check_sizes(names, counts, [HOLD_OUT, EVALUATE_LATER])
    try:
        test = split_counts(cfg, "test", names)
    except UserError:  # a test split that cannot be read: evaluation says why when it runs
        test = None
    return lines + (check_sizes(names, test, [EVALUATE_LATER], "real test images") if test else [])


def data_exists(cfg: TrainConfig) -> bool:
    """False when the image files (a folder, a zip, tables) the config names are gone; data sets read from their
    own arrays are found or downloaded wherever they are."""
    return not isinstance(DATASETS[cfg.dataset], DecodedData) or Path(cfg.data_dir).exists()


def check_data_exists(run_dir, cfg: TrainConfig) -> None:
    """One line naming the way on when the image files a run was trained on are gone (they may have moved):
    resuming with --data-dir records where they are now, even a run that has no steps left to train."""
    if not data_exists(cfg):
        raise UserError(f"{run_dir} was trained on {cfg.data_dir}, which does not exist any more: if the data "
                        f"moved, continue with `acgan train --resume {run_dir} --data-dir NEW`")


def has_split(cfg: TrainConfig, split: str) -> bool:
    try:
        DATASETS[cfg.dataset].class_names(cfg.data_dir, split)
        return True
    except UserError:
        return False


def prepare_selection(cfg: TrainConfig, splits=("train", "test"), *, workers: int | None = None, log=echo,
                      quiet_below: int = 5000) -> list:
    """The stores of the config's classes at its training resolution, for each split (prepared if missing); []
    for data sets that are arrays already (IDX, torchvision's CIFAR)."""
    from ..data.store import open_store

    spec = DATASETS[cfg.dataset]
    if not isinstance(spec, DecodedData):
        log(f"{cfg.dataset} is read from its own arrays: nothing to prepare")
        return []
    resolution, stores = training_resolution(cfg), []
    for split in dict.fromkeys(splits):
        keep = resolve_classes(cfg.classes, spec.class_names(cfg.data_dir, split))
        store, _ = open_store(spec, cfg.data_dir, split, keep, resolution, draft=cfg.jpeg_draft, workers=workers,
                              log=log, quiet_below=quiet_below)
        stores.append(store)
    return stores


def find_selection(cfg: TrainConfig, split: str):
    """The store a command would read for this selection and split, preparing it if it is missing."""
    stores = prepare_selection(cfg, [split], log=lambda msg: None)
    if not stores:
        raise UserError(f"{cfg.dataset} is read from its own arrays and has no prepared store")
    return stores[0]
