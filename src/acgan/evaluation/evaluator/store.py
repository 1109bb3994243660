"""Where evaluators live and how they are found: saved as a state_dict plus JSON metadata (with the weights'
sha256), loaded with weights_only=True; one default folder per data selection and resolution, in the cache folder,
trained on first use by whichever command needs it first (`train-classifier`, `evaluate`, `check`).

A default evaluator works at the data's resolution up to MAX_RESOLUTION and at that size above it: its first stage
runs at full size, so each doubling costs four times the time, and at 256 px four epochs of 2,700 images took 238 s
against 35 s at 128 px, for a classifier no worse (docs/benchmarks.md). Larger images are downsized on the way in
(Evaluator.run); a full-size one is `acgan train-classifier --resolution R --out EV`, passed as `--evaluator EV`."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ...config import TrainConfig
from ...data import DATASETS, describe, has_test_split, load_data, split_counts
from ...data.budget import memory_budget
from ...data.sizes import CLASSIFIER, HOLD_OUT, HOLD_OUT_FROM, TESTED, check_sizes
from ...errors import UserError
from ...io import atomic_torch_save, atomic_write_json, exclusive, file_sha256
from ...locations import cache_dir
from ...rundir import RunRecord
from ..cache import content_key
from .net import NET_VERSION, EvalNet, Evaluator, train_evaluator


def save_evaluator(net: EvalNet, meta: dict, out: Path) -> None:
    out = Path(out)
    atomic_torch_save(net.state_dict(), out / "evaluator.pt")
    atomic_write_json(out / "evaluator.json", dict(meta, **net.shape, weights_sha256=file_sha256(out / "evaluator.pt")))


class DamagedEvaluator(UserError):
    pass


def load_evaluator(path: Path) -> Evaluator:
    """The evaluator in `path`; DamagedEvaluator when its files do not load or its weights fail their sha256."""
    path = Path(path)
    if not (path / "evaluator.json").is_file():
        raise UserError(f"{path} holds no evaluator (evaluator.json): make one with `acgan train-classifier`")
    try:
        meta = json.loads((path / "evaluator.json").read_text())
        if meta.get("net") != NET_VERSION:
            raise ValueError(f"made by another version of acgan (network {meta.get('net', 1)}, "
                             f"this one reads {NET_VERSION})")
        net = EvalNet(meta["channels"], meta["num_classes"], meta["width"], meta["hidden"], meta.get("extra_stages", 0))
        if meta.get("weights_sha256") not in (None, file_sha256(path / "evaluator.pt")):
            raise ValueError("evaluator.pt does not match the sha256 in evaluator.json")
        net.load_state_dict(torch.load(path / "evaluator.pt", map_location="cpu", weights_only=True))
    except Exception as e:  # bad JSON, missing keys, a truncated or edited weights file
        reason = str(e).splitlines()[0][:100] if str(e) else type(e).__name__
        raise DamagedEvaluator(f"the evaluator in {path} is damaged ({reason}): retrain it with "
                               "`acgan train-classifier --force`") from None
    return Evaluator(net.eval(), meta)


def evaluator_meta(cfg, data, test_accuracy: float, seconds: float, epochs: int) -> dict:
    return {"dataset": cfg.dataset, "data_dir": cfg.data_dir, "class_names": data.class_names,
            "source_classes": data.source_classes, "num_classes": data.num_classes, "channels": data.channels,
            "resolution": data.resolution, "test_accuracy": round(test_accuracy, 5), "epochs": epochs,
            "train_seconds": round(seconds, 1), "created": time.strftime("%Y-%m-%d %H:%M:%S")}


MAX_RESOLUTION = 128


def evaluator_resolution(resolution: int) -> int:
    """The size a default evaluator of data at `resolution` px works at."""
    return min(resolution, MAX_RESOLUTION)


def default_evaluator_dir(dataset: str, data_dir: str, class_names: list[str], resolution: int) -> Path:
    """CACHE/evaluators/<data set>-<hash of the data selection and resolution>: the one rule for every command."""
    key = content_key(dataset, DATASETS[dataset].source_identity(data_dir), list(class_names), resolution)[:10]
    return cache_dir() / "evaluators" / f"{dataset}-{key}"


def evaluator_dir_for(cfg: TrainConfig, resolution: int | None) -> Path:
    """The default evaluator folder of a config's data at `resolution` (None: the data's own, at most
    MAX_RESOLUTION)."""
    desc = describe(cfg)
    return default_evaluator_dir(cfg.dataset, cfg.data_dir, desc.class_names,
                                 resolution or evaluator_resolution(desc.native_resolution))


def record_evaluator_dir(record: RunRecord) -> Path:
    """The default evaluator folder of the data a run (or a folder of samples) imitates."""
    return default_evaluator_dir(record.config["dataset"], record.config["data_dir"], record.data["class_names"],
                                 evaluator_resolution(record.data["resolution"]))


def check_compatible(ev: Evaluator, data: dict, where: Path) -> None:
    """An evaluator serves a run when it knows the same classes, in order, and the same channels; it resizes
    other resolutions to its own input."""
    if ev.meta["class_names"] != data["class_names"] or ev.meta["channels"] != data["channels"]:
        raise UserError(f"the evaluator in {where} was trained on other classes or channels than this run: "
                        "train one with the run's --dataset and --classes")


def train_and_save(cfg: TrainConfig, resolution: int | None, out: Path, *, epochs: int | None = None,
                   width: int = 16, seed: int = 0, precision: str = "fp32",
                   progress: bool = True, log=print) -> tuple[float, int]:
    """Train the evaluator on the config's training split and save it; (test accuracy, test images). Data whose
    test split is its training split holds out one in ten of each class's images to measure the accuracy on (else
    it would be the accuracy on images the evaluator learnt: 100% on data it reads at 70%)."""
    train = load_data(cfg, resolution)
    separate, names = has_test_split(cfg), train.class_names
    tested = split_counts(cfg, "test", names) if separate else None
    for line in train.notes + check_sizes(names, train.counts(), [CLASSIFIER] + ([] if separate else [HOLD_OUT])) \
            + (check_sizes(names, tested, [TESTED], "test images") if tested else []):
        log(line)
    start = time.time()
    images, labels = train.images, train.labels
    held_out = [] if separate else \
        np.concatenate([np.flatnonzero(labels.numpy() == c)[HOLD_OUT_FROM::10] for c in range(train.num_classes)])
    if separate or not len(held_out):  # (5 images a class or fewer: nothing to hold out)
        test_x, test_y = _test_split(cfg, resolution, names, tested)
        test_split = "test" if separate else "train (too few images to hold any out)"
    else:
        kept = np.setdiff1d(np.arange(len(labels)), held_out)
        test_x, test_y, test_split = images[held_out], labels[held_out], "held out from train"
        images, labels = images.subset(kept) if hasattr(images, "subset") else images[kept], labels[kept]
        log(f"the data has no test split: the evaluator learns from {len(kept)} of its images and measures its "
            f"accuracy on the other {len(held_out)} (one in ten of each class)")
    images = images.hold(memory_budget(cfg.data_memory_gb, torch.device("cpu")))  # else read by batch
    net, acc, epochs = train_evaluator(images, labels, test_x, test_y, num_classes=train.num_classes,
                                       epochs=epochs, width=width, seed=seed, precision=precision, progress=progress)
    meta = evaluator_meta(cfg, train, acc, time.time() - start, epochs) | {"test_split": test_split}
    save_evaluator(net, meta, out)
    return acc, len(test_y)


def _test_split(cfg: TrainConfig, resolution: int | None, names: list[str],
                counts: list[int] | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels) of the test split's images of the training classes `names` (those it has: `counts`),
    labelled by their position in `names`, whatever order or other classes the split's folders have."""
    present = [n for i, n in enumerate(names) if counts is None or counts[i]]
    if not present:
        raise UserError(f"the test split of {cfg.data_dir} holds none of the classes {', '.join(names)}")
    test = load_data(replace(cfg, classes=present), resolution, split="test")
    return test.images.load(), torch.tensor([names.index(n) for n in present])[test.labels]


def weak_evaluator(test_accuracy: float, num_classes: int, out: Path | None = None) -> str | None:
    """A warning when the evaluator is nearer chance than a quarter of the way to perfect on real test images:
    every measure is read through it."""
    chance = 1 / num_classes
    if test_accuracy >= chance + 0.25 * (1 - chance):
        return None
    again = f" --out {out}" if out else ""
    return (f"warning: the evaluator recognises {test_accuracy:.0%} of real test images (chance: {chance:.0%}), so "
            f"its accuracy, FID and variety figures say little; more images per class, or more epochs (`acgan "
            f"train-classifier --dataset D --data-dir DIR --force --epochs N{again}`), make a better one")


def get_evaluator(path: str | None, record: RunRecord, cfg: TrainConfig, *, seed: int = 0, log=print) -> Evaluator:
    """The evaluator at `path`, or the default one for the run's data (trained into its folder on first use)."""
    folder = Path(path) if path else record_evaluator_dir(record)
    if not path and (folder / "evaluator.json").is_file():
        try:  # our own default evaluator: a damaged one is rebuilt, never used
            old, stale = load_evaluator(folder), None
            if "test_split" not in old.meta:  # trained before small data sets got enough steps and a held-out part
                if not has_test_split(cfg):
                    stale = ("measured its accuracy on images it learnt from (the data has no test split): "
                             "retraining it with one in ten of each class held out")
                elif weak_evaluator(old.meta["test_accuracy"], old.meta["num_classes"]):
                    stale = (f"recognises {old.meta['test_accuracy']:.0%} of real test images after "
                             f"{old.meta['epochs']} epochs, fewer steps than small data sets now get: retraining it")
            if stale:
                log(f"the evaluator in {folder} {stale}")
                (folder / "evaluator.json").unlink()
        except DamagedEvaluator as e:
            log(f"warning: {e}; rebuilding it")
            (folder / "evaluator.json").unlink()
    if not (folder / "evaluator.json").is_file():
        if path:
            raise UserError(f"{folder} holds no evaluator: make one with `acgan train-classifier --out {folder}`")
        with exclusive(folder.with_name(folder.name + ".lock"), log,
                       f"waiting for another process that trains this data's evaluator ({folder.name})"):
            if not (folder / "evaluator.json").is_file():  # else trained by the process we waited for
                size = evaluator_resolution(record.data["resolution"])
                log(f"no evaluator for this data yet: training one into {folder} (once: a few minutes on a 2-core "
                    "CPU, under one on a GPU)" + (f"; it works at {size} px, the images downsized to it"
                                                  if size < record.data["resolution"] else ""))
                train_and_save(cfg, size, folder, seed=seed, log=log)
    ev = load_evaluator(folder)
    check_compatible(ev, record.data, folder)
    if warning := weak_evaluator(ev.meta["test_accuracy"], ev.meta["num_classes"], folder if path else None):
        log(warning)
    ev.meta["path"] = str(folder)
    ev.meta["weights_sha256"] = file_sha256(folder / "evaluator.pt")
    return ev
