"""The paper's studies for your data: classes per model (its class-split study) and resolution (its Fig. 2).

Each experiment trains its models as ordinary (split) runs under one folder, measures them with one evaluator
classifier, and writes results.json, a PNG figure and report.html there.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from .config import TrainConfig
from .evaluation import figures
from .evaluation.discriminability import accuracy_sweep
from .evaluation.diversity import class_ms_ssim
from .evaluation.evaluate import EvalOptions, generate, get_evaluator
from .evaluation.report import CSS, _img, _table
from .metrics.ms_ssim import MIN_SIZE
from .sampling import load_generator
from .training.files import atomic_write_text
from .training.splits import data_spec, split_spec, train_split


def measure(G, evaluator, per_class: int, pairs: int, seed: int, resolutions: list[int]) -> dict:
    """Evaluator accuracy of samples at each resolution, and per-class MS-SSIM of the samples."""
    fake, labels = generate(G, per_class, seed)
    sweep = accuracy_sweep(evaluator, fake, labels, resolutions, G.num_classes, seed=seed)
    ms = class_ms_ssim(fake, labels, G.num_classes, pairs, seed) if fake.shape[-1] >= MIN_SIZE else []
    return {"accuracy": sweep, "class_ms_ssim": [m["mean"] for m in ms],
            "mean_ms_ssim": sum(m["mean"] for m in ms) / len(ms) if ms else None}


def classes_per_model(cfg: TrainConfig, counts: list[int], out: Path, *, jobs: int = 1, per_class: int = 200,
                      pairs: int = 50, evaluator: str | None = None, log=print) -> dict:
    """The same architecture and step budget per model, with 1..K classes per model."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in counts:
        start = time.time()
        run = train_split(cfg, out / f"per-model-{n}", n, jobs=jobs, log=log)
        spec = split_spec(cfg, n, "consecutive")
        ev = get_evaluator(EvalOptions(evaluator=evaluator, seed=cfg.seed), spec, cfg, log)
        res = ev.meta["resolution"]
        m = measure(load_generator(run), ev, per_class, pairs, cfg.seed, [res])
        rows.append({"classes_per_model": n, "models": len(spec["split"]["groups"]),
                     "accuracy": m["accuracy"][str(res)]["accuracy"],
                     "accuracy_std": m["accuracy"][str(res)]["std"],
                     "per_class_accuracy": m["accuracy"][str(res)]["per_class"],
                     "mean_ms_ssim": m["mean_ms_ssim"], "class_ms_ssim": m["class_ms_ssim"],
                     "seconds": round(time.time() - start, 1)})
        log(f"{n} classes per model: accuracy {rows[-1]['accuracy']:.3f}, mean MS-SSIM {m['mean_ms_ssim']:.3f}")
    result = {"experiment": "classes-per-model", "steps_per_model": cfg.steps, "batch_size": cfg.batch_size,
              "arch": cfg.arch, "dataset": cfg.dataset, "samples_per_class": per_class, "pairs": pairs,
              "seed": cfg.seed, "evaluator_test_accuracy": ev.meta["test_accuracy"], "rows": rows}
    _plot_counts(result, out / "classes_per_model.png")
    _write(result, out, "classes_per_model.png", _table(
        ["classes per model", "models", "accuracy", "std", "mean MS-SSIM", "minutes"],
        [[r["classes_per_model"], r["models"], r["accuracy"], r["accuracy_std"], r["mean_ms_ssim"],
          r["seconds"] / 60] for r in rows]))
    return result


def resolution(cfg: TrainConfig, resolutions: list[int], out: Path, *, per_class: int = 200, pairs: int = 50,
               evaluator: str | None = None, log=print) -> dict:
    """The same data trained at each resolution; each model's accuracy against the evaluation resolution."""
    from .training.files import checkpoints
    from .training.loop import resume, train

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    native = dataclasses.replace(cfg, resolution=None)
    ev = get_evaluator(EvalOptions(evaluator=evaluator, seed=cfg.seed), data_spec(native), native, log)
    sweep = sorted(set(resolutions) | {r // 2 for r in resolutions} | {ev.meta["resolution"]})
    models = {}
    for r in resolutions:
        run = out / f"res-{r}"
        rcfg = dataclasses.replace(cfg, resolution=r)
        found = checkpoints(run) if (run / "config.json").is_file() else []
        if not found:
            train(rcfg, run, force=(run / "config.json").is_file(), progress=False)
        elif found[-1][0] < cfg.steps:
            resume(run, steps=cfg.steps, progress=False)
        m = measure(load_generator(run), ev, per_class, pairs, cfg.seed, sweep)
        models[str(r)] = {"accuracy": {k: v["accuracy"] for k, v in m["accuracy"].items()},
                          "mean_ms_ssim": m["mean_ms_ssim"]}
        log(f"{r} px model: accuracy by evaluation resolution {models[str(r)]['accuracy']}")
    result = {"experiment": "resolution", "steps": cfg.steps, "arch": cfg.arch, "dataset": cfg.dataset,
              "evaluation_resolutions": sweep, "evaluator_resolution": ev.meta["resolution"], "models": models,
              "samples_per_class": per_class, "seed": cfg.seed}
    fig, ax = figures.plt.subplots(figsize=(5, 3.6))
    for r, m in models.items():
        ax.plot(sweep, [m["accuracy"][str(s)] for s in sweep], "o-", label=f"{r} px model")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set(xticks=sweep, xticklabels=[str(s) for s in sweep], xlabel="resized to (px)", ylabel="evaluator accuracy",
           ylim=(0, 1.02), title="Accuracy against evaluation resolution")
    ax.legend()
    figures._save(fig, out / "resolution.png")
    _write(result, out, "resolution.png", _table(["model"] + [f"@{s} px" for s in sweep],
                                                [[f"{r} px"] + [m["accuracy"][str(s)] for s in sweep]
                                                 for r, m in models.items()]))
    return result


def _plot_counts(result: dict, path: Path) -> None:
    rows = result["rows"]
    xs = [r["classes_per_model"] for r in rows]
    fig, ax = figures.plt.subplots(figsize=(5, 3.6))
    ax.errorbar(xs, [r["accuracy"] for r in rows], yerr=[r["accuracy_std"] for r in rows], fmt="o-", capsize=3,
                label="evaluator accuracy")
    ax.plot(xs, [r["mean_ms_ssim"] for r in rows], "s-", label="mean per-class MS-SSIM")
    ax.set(xlabel="classes per model", ylim=(0, 1.02), xticks=xs,
           title=f"{result['steps_per_model']} steps per model")
    ax.legend()
    figures._save(fig, path)


def _write(result: dict, out: Path, figure: str, table: str) -> None:
    atomic_write_text(out / "results.json", json.dumps(result, indent=1) + "\n")
    title = f"Experiment: {result['experiment']} ({result['dataset']}, {result['arch']})"
    page = (f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title><style>{CSS}</style></head>"
            f"<body><h1>{title}</h1>{table}{_img(out / figure, result['experiment'])}</body></html>\n")
    atomic_write_text(out / "report.html", page)


def parse_ints(text: str, what: str) -> list[int]:
    from .errors import UserError
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{what} expects comma-separated integers, got '{text}'") from None
    if not values or min(values) < 1:
        raise UserError(f"{what} needs positive integers, got '{text}'")
    return values


__all__ = ["classes_per_model", "resolution", "parse_ints"]
