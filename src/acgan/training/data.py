"""The data a run trains on: the resolution rule (the config's, the run's, or the architecture's default for the
data's native size), and preparing a selection's stores ahead of training (`acgan data prepare`, class splits)."""
from __future__ import annotations

from ..config import TrainConfig
from ..data import DATASETS, describe, load_data, resolve_classes
from ..data.decoded import DecodedData
from ..errors import UserError
from ..models import default_resolution
from ..progress import echo


def training_resolution(cfg: TrainConfig, recorded: int | None = None) -> int:
    return cfg.resolution or recorded or default_resolution(cfg.arch, describe(cfg).native_resolution)


def load_training_data(cfg: TrainConfig, recorded_resolution: int | None = None, log=echo):
    """The config's data at the resolution the model trains at."""
    return load_data(cfg, training_resolution(cfg, recorded_resolution), log=log)


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
