"""Finding the evaluator for a run's data, training it on first use, and the one rule for using it on a run."""
from __future__ import annotations

import time
from pathlib import Path

from ..config import TrainConfig
from ..data import load_data
from ..errors import UserError
from ..io import file_sha256
from ..rundir import RunRecord
from .cache import content_key
from .classifier import (
    EVALUATOR_EPOCHS,
    DamagedEvaluator,
    Evaluator,
    evaluator_meta,
    load_evaluator,
    save_evaluator,
    train_evaluator,
)


def default_evaluator_dir(record: RunRecord) -> Path:
    """evaluators/<data set>-<hash of the data's identity and resolution>."""
    data = record.data
    key = content_key(record.config["dataset"], record.config["data_dir"], data["class_names"],
                      data["resolution"])[:10]
    return Path("evaluators") / f"{record.config['dataset']}-{key}"


def check_compatible(ev: Evaluator, data: dict, where: Path) -> None:
    """An evaluator serves a run when it knows the same classes, in order, and the same channels; it resizes
    other resolutions to its own input."""
    if ev.meta["class_names"] != data["class_names"] or ev.meta["channels"] != data["channels"]:
        raise UserError(f"the evaluator in {where} was trained on other classes or channels than this run: "
                        "train one with the run's --dataset and --classes")


def train_and_save(cfg: TrainConfig, resolution: int | None, out: Path, *, epochs: int = EVALUATOR_EPOCHS,
                   width: int = 16, seed: int = 0, precision: str = "fp32",
                   progress: bool = True) -> tuple[float, int]:
    """Train the evaluator on the config's training split and save it; (test accuracy, test images)."""
    train, test = load_data(cfg, resolution), load_data(cfg, resolution, split="test")
    start = time.time()
    net, acc = train_evaluator(train.images, train.labels, test.images, test.labels, num_classes=train.num_classes,
                               epochs=epochs, width=width, seed=seed, precision=precision, progress=progress)
    save_evaluator(net, evaluator_meta(cfg, train, acc, time.time() - start, epochs), out)
    return acc, len(test.labels)


def get_evaluator(path: str | None, record: RunRecord, cfg: TrainConfig, *, seed: int = 0, log=print) -> Evaluator:
    """The evaluator at `path`, or the default one for the run's data (trained into its folder on first use)."""
    folder = Path(path) if path else default_evaluator_dir(record)
    if not path and (folder / "evaluator.json").is_file():
        try:  # our own default evaluator: a damaged one is rebuilt, never used
            load_evaluator(folder)
        except DamagedEvaluator as e:
            log(f"warning: {e}; rebuilding it")
            (folder / "evaluator.json").unlink()
    if not (folder / "evaluator.json").is_file():
        if path:
            raise UserError(f"{folder} holds no evaluator: make one with `acgan train-classifier --out {folder}`")
        log(f"no evaluator for this data yet: training one into {folder} (a few CPU minutes, once)")
        train_and_save(cfg, record.data["resolution"], folder, seed=seed)
    ev = load_evaluator(folder)
    check_compatible(ev, record.data, folder)
    ev.meta["path"] = str(folder)
    ev.meta["weights_sha256"] = file_sha256(folder / "evaluator.pt")
    return ev
