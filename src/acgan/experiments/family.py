"""The AC-GAN family side by side: recipes (a loss on a preset) at equal CPU time, judged by one evaluator; and
TAC-GAN's overlapping-classes test, which needs no diversity measure at all."""
from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..config import TrainConfig
from ..data import load_data
from ..data.classes import resolve_classes
from ..errors import UserError
from ..evaluation.evaluator import get_evaluator
from ..evaluation.outputs.figures import new_figure, save_figure
from ..evaluation.outputs.html import html_table
from ..evaluation.run import check_run
from ..sampling import load_generator, sample_classes
from ..training.data import load_training_data
from ..training.loop import Trainer
from ..training.single_run import train_or_resume
from ..training.splits import planned_record
from .common import write_results


def steps_for(cfg: TrainConfig, minutes: float, trial_steps: int = 20) -> tuple[int, float]:
    """(steps that fit in `minutes` on this machine, seconds per step), timed on a throw-away trainer."""
    trainer = Trainer(dataclasses.replace(cfg, monitor_every=0), load_training_data(cfg), distributed=False)
    trainer.train_step()  # first-step allocations
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)  # a GPU runs behind the host
    sync()
    start = time.perf_counter()
    for _ in range(trial_steps):
        trainer.train_step()
    sync()
    per_step = (time.perf_counter() - start) / trial_steps
    return max(1, int(minutes * 60 / per_step)), per_step


def judge(run: Path, evaluator, per_class: int, seed: int) -> dict:
    """check's per-class accuracy and diversity, and the domain FID / KID (and FID in 14 px pixels) of a run's
    samples."""
    quality, found = check_run(run, evaluator, per_class, seed, extra_steps=("domain_metrics",))
    rows = quality["per_class"]
    return {"accuracy": quality["accuracy"], "variety": quality["lowest_variety"],
            "variety_class": min(rows, key=lambda r: r["variety"])["class"],
            "min_ratio": quality["min_diversity_ratio"],
            "mean_ratio": statistics.fmean(r["diversity_ratio"] for r in rows),
            "weakest_class": min(rows, key=lambda r: r["diversity_ratio"])["class"],
            "mean_ms_ssim": statistics.fmean(r["ms_ssim"] for r in rows),
            "collapsed": quality["collapsed_classes"], "fid": found["domain_metrics"]["fid"],
            "kid": found["domain_metrics"]["kid"], "pixel_fid": found["domain_metrics"]["pixels"]["fid"],
            "per_class": rows}


def _slug(label: str) -> str:
    """A recipe's label as a folder name: 'adc@configs/my.yaml' -> 'adc-at-my'."""
    loss, _, preset = label.partition("@")
    return loss + (f"-at-{Path(preset).stem}" if preset else "")


def _spread(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}


def compare_recipes(recipes: dict[str, TrainConfig], seeds: list[int], out: Path, *, minutes: float | None = None,
                    per_class: int = 500, evaluator: str | None = None, log=print) -> dict:
    """Train every recipe with every seed (for `minutes` of this CPU each, or each recipe's own steps), then judge
    all with one evaluator. Rows per recipe: mean and range over seeds."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = next(iter(recipes.values()))
    ev = get_evaluator(evaluator, planned_record(first), first, seed=first.seed, log=log)
    rows = []
    for label, cfg in recipes.items():
        steps, per_step = (steps_for(cfg, minutes) if minutes else (cfg.steps, None))
        runs = []
        for seed in seeds:
            run = out / f"{_slug(label)}-seed{seed}"
            start = time.perf_counter()
            train_or_resume(dataclasses.replace(cfg, steps=steps, seed=seed), run)
            seconds = time.perf_counter() - start
            found = judge(run, ev, per_class, seed)
            runs.append(dict(found, seed=seed, train_seconds=round(seconds, 1)))
            log(f"{label} seed {seed}: {steps} steps in {seconds / 60:.1f} min, accuracy {found['accuracy']:.3f}, "
                f"variety {found['variety']:.2f} ({found['variety_class']}), FID {found['fid']:.2f}, "
                f"collapsed {found['collapsed'] or 'none'}")
        rows.append({"recipe": label, "loss": cfg.loss, "arch": cfg.arch, "steps": steps,
                     "seconds_per_step": per_step, "runs": runs,
                     **{key: _spread([r[key] for r in runs]) for key in
                        ("accuracy", "variety", "min_ratio", "mean_ratio", "mean_ms_ssim", "fid", "kid",
                         "pixel_fid", "train_seconds")},
                     "collapsed_classes": _spread([len(r["collapsed"]) for r in runs])})
    result = {"experiment": "recipes", "dataset": first.dataset, "arch": ", ".join(sorted({r["arch"] for r in rows})),
              "minutes": minutes, "seeds": seeds, "samples_per_class": per_class,
              "evaluator_test_accuracy": ev.meta["test_accuracy"], "rows": rows}
    _plot_recipes(rows, out / "recipes.png")
    write_results(result, out, "recipes.png", html_table(
        ["recipe", "steps", "accuracy", "variety (weakest)", "min ratio", "mean ratio", "MS-SSIM", "FID", "KID",
         "FID (pixels)", "collapsed", "minutes"],
        [[r["recipe"], r["steps"], r["accuracy"]["mean"], r["variety"]["mean"], r["min_ratio"]["mean"],
          r["mean_ratio"]["mean"],
          r["mean_ms_ssim"]["mean"], r["fid"]["mean"], r["kid"]["mean"], r["pixel_fid"]["mean"],
          r["collapsed_classes"]["mean"],
          r["train_seconds"]["mean"] / 60] for r in rows]))
    return result


def _plot_recipes(rows: list[dict], path: Path) -> None:
    fig, (left, right) = new_figure(ncols=2, figsize=(10, 3.6))
    names = [r["recipe"] for r in rows]
    for ax, key, title in ((left, "fid", "domain FID (lower is better)"),
                           (right, "variety", "weakest class's variety (1 = real data's)")):
        means = [r[key]["mean"] for r in rows]
        err = [[m - r[key]["min"] for m, r in zip(means, rows)], [r[key]["max"] - m for m, r in zip(means, rows)]]
        ax.bar(names, means, yerr=err, capsize=3, color="#4878a8")
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=30)
    save_figure(fig, path)


# --- TAC-GAN's overlapping classes ---

def overlap_classes(names: list[str], *given: str) -> list[str]:
    """The shared class and A's and B's own, each given by name or index, as names; three different ones."""
    picked = [names[resolve_classes([g], names)[0]] for g in given]
    if len(set(picked)) < len(picked):
        raise UserError(f"--shared, --a and --b must be three different classes, got {', '.join(picked)}")
    return picked


def write_overlap_data(source: TrainConfig, shared: str, a: str, b: str, root: Path, seed: int = 0) -> dict:
    """Two classes as folders of PNGs: A = half the `shared` images + as many of `a`; B = the other half + as many of
    `b`. The right share of `shared` in each is one half."""
    data = load_data(dataclasses.replace(source, classes=None), None)
    index = {}
    for name in (shared, a, b):
        if name not in data.class_names:
            raise UserError(f"'{name}' is not a class of {source.dataset}: pick from {', '.join(data.class_names)}")
        index[name] = data.class_names.index(name)
    gen = torch.Generator().manual_seed(seed)

    def rows(name):
        idx = (data.labels == index[name]).nonzero().squeeze(1)
        return idx[torch.randperm(len(idx), generator=gen)]

    s = rows(shared)
    half = len(s) // 2
    members = {"A": (s[:half], rows(a)[:half]), "B": (s[half:2 * half], rows(b)[:half])}
    for cls, (from_shared, own) in members.items():
        folder = Path(root) / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i, j in enumerate(torch.cat([from_shared, own]).tolist()):
            img = data.images[j].permute(1, 2, 0).squeeze(-1).numpy() if data.channels == 1 else \
                data.images[j].permute(1, 2, 0).numpy()
            Image.fromarray(np.ascontiguousarray(img)).save(folder / f"{i:05d}.png")
    return {"A": [shared, a], "B": [shared, b], "images_per_class": 2 * half}


def overlapping_classes(source: TrainConfig, recipes: dict[str, TrainConfig], shared: str, a: str, b: str, out: Path,
                        *, per_class: int = 500, evaluator: str | None = None, log=print) -> dict:
    """Train each recipe on A = {shared, a} and B = {shared, b}; the source data's evaluator names what each sample
    shows. A classifier-driven G drops the shared part (its share falls below one half); TAC and ADC keep it."""
    out = Path(out)
    source = dataclasses.replace(source, classes=None)
    shared, a, b = overlap_classes(planned_record(source).data["class_names"], shared, a, b)
    ev = get_evaluator(evaluator, planned_record(source), source, seed=source.seed, log=log)
    data_dir = out / "data"
    if not (data_dir / "B").is_dir():
        write_overlap_data(source, shared, a, b, data_dir, seed=source.seed)
    names = ev.meta["class_names"]
    rows = []
    for label, cfg in recipes.items():
        run = out / _slug(label)
        cfg = dataclasses.replace(cfg, dataset="folder", data_dir=str(data_dir), classes=None,
                                  resolution=cfg.resolution or ev.meta["resolution"])
        start = time.perf_counter()
        train_or_resume(cfg, run)
        G = load_generator(run)
        row = {"recipe": label, "loss": cfg.loss, "steps": cfg.steps,
               "train_seconds": round(time.perf_counter() - start, 1)}
        for k, cls in enumerate(G.class_names):
            own = a if cls == "A" else b
            images, _ = sample_classes(G, [k], per_class, source.seed)
            logits, _ = ev.run(images)
            said = logits.argmax(1)
            n_shared, n_own = int((said == names.index(shared)).sum()), int((said == names.index(own)).sum())
            row[cls] = {"shared_share": n_shared / max(1, n_shared + n_own),
                        "neither": 1 - (n_shared + n_own) / len(said), "samples": len(said)}
        rows.append(row)
        log(f"{label}: share of '{shared}' in A {row['A']['shared_share']:.2f}, in B {row['B']['shared_share']:.2f} "
            "(right: 0.50)")
    result = {"experiment": "overlapping-classes", "dataset": source.dataset, "arch": ", ".join(
              sorted({c.arch for c in recipes.values()})), "shared": shared, "A": [shared, a], "B": [shared, b],
              "samples_per_class": per_class, "evaluator_test_accuracy": ev.meta["test_accuracy"], "rows": rows}
    fig, ax = new_figure()
    x = np.arange(len(rows))
    for offset, cls in ((-0.2, "A"), (0.2, "B")):
        ax.bar(x + offset, [r[cls]["shared_share"] for r in rows], 0.4, label=f"class {cls}")
    ax.axhline(0.5, color="k", ls="--", lw=1, label="right share")
    ax.set(xticks=x, xticklabels=[r["recipe"] for r in rows], ylim=(0, 1), ylabel=f"share of '{shared}'")
    ax.legend()
    save_figure(fig, out / "overlap.png")
    write_results(result, out, "overlap.png", html_table(
        ["recipe", "steps", f"'{shared}' share in A", f"'{shared}' share in B", "neither (A)", "neither (B)"],
        [[r["recipe"], r["steps"], r["A"]["shared_share"], r["B"]["shared_share"], r["A"]["neither"],
          r["B"]["neither"]] for r in rows]))
    return result


def recipes_from(entries: list[str], build) -> dict[str, TrainConfig]:
    """'LOSS' or 'LOSS@PRESET' entries -> configs; build(preset or None, loss) assembles one."""
    out = {}
    for entry in entries:
        loss, _, preset = entry.partition("@")
        out[entry] = build(preset or None, loss)
    return out

