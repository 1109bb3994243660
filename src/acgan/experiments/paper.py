"""The paper's studies for your data: classes per model (its class-split study) and resolution (its Fig. 2)."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from ..config import TrainConfig
from ..evaluation.evaluator import get_evaluator
from ..evaluation.outputs.figures import new_figure, save_figure
from ..evaluation.outputs.html import html_table
from ..training.single_run import train_or_resume
from ..training.splits import planned_record, split_record, train_split
from .common import measure, write_results


def classes_per_model(cfg: TrainConfig, counts: list[int], out: Path, *, jobs: int = 1, per_class: int = 200,
                      pairs: int = 50, evaluator: str | None = None, log=print) -> dict:
    """The same architecture and step budget per model, with 1..K classes per model."""
    for n in counts:  # every count checked before hours of training the first ones
        split_record(cfg, n, "consecutive")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in counts:
        start = time.time()
        run = train_split(cfg, out / f"per-model-{n}", n, jobs=jobs, log=log)
        record = split_record(cfg, n, "consecutive")
        ev = get_evaluator(evaluator, record, cfg, seed=cfg.seed, log=log)
        res = ev.meta["resolution"]
        m = measure(run, cfg, ev, per_class, pairs, cfg.seed, [res], log)
        rows.append({"classes_per_model": n, "models": len(record.split["groups"]),
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
    write_results(result, out, "classes_per_model.png", html_table(
        ["classes per model", "models", "accuracy", "std", "mean MS-SSIM", "minutes"],
        [[r["classes_per_model"], r["models"], r["accuracy"], r["accuracy_std"], r["mean_ms_ssim"],
          r["seconds"] / 60] for r in rows]))
    return result


def resolution(cfg: TrainConfig, resolutions: list[int], out: Path, *, per_class: int = 200, pairs: int = 50,
               evaluator: str | None = None, log=print) -> dict:
    """The same data trained at each resolution; each model's accuracy against the evaluation resolution."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    native = dataclasses.replace(cfg, resolution=None)
    ev = get_evaluator(evaluator, planned_record(native), native, seed=cfg.seed, log=log)
    sweep = sorted(set(resolutions) | {r // 2 for r in resolutions} | {ev.meta["resolution"]})
    models = {}
    for r in resolutions:
        run = out / f"res-{r}"
        train_or_resume(dataclasses.replace(cfg, resolution=r), run, distributed=True)
        m = measure(run, cfg, ev, per_class, pairs, cfg.seed, sweep, log)
        models[str(r)] = {"accuracy": {k: v["accuracy"] for k, v in m["accuracy"].items()},
                          "mean_ms_ssim": m["mean_ms_ssim"]}
        log(f"{r} px model: accuracy by evaluation resolution {models[str(r)]['accuracy']}")
    result = {"experiment": "resolution", "steps": cfg.steps, "arch": cfg.arch, "dataset": cfg.dataset,
              "evaluation_resolutions": sweep, "evaluator_resolution": ev.meta["resolution"], "models": models,
              "samples_per_class": per_class, "seed": cfg.seed}
    fig, ax = new_figure()
    for r, m in models.items():
        ax.plot(sweep, [m["accuracy"][str(s)] for s in sweep], "o-", label=f"{r} px model")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set(xticks=sweep, xticklabels=[str(s) for s in sweep], xlabel="resized to (px)", ylabel="evaluator accuracy",
           ylim=(0, 1.02), title="Accuracy against evaluation resolution")
    ax.legend()
    save_figure(fig, out / "resolution.png")
    write_results(result, out, "resolution.png", html_table(["model"] + [f"@{s} px" for s in sweep],
                                                     [[f"{r} px"] + [m["accuracy"][str(s)] for s in sweep]
                                                      for r, m in models.items()]))
    return result


def _plot_counts(result: dict, path: Path) -> None:
    rows = result["rows"]
    xs = [r["classes_per_model"] for r in rows]
    fig, ax = new_figure()
    ax.errorbar(xs, [r["accuracy"] for r in rows], yerr=[r["accuracy_std"] for r in rows], fmt="o-", capsize=3,
                label="evaluator accuracy")
    ax.plot(xs, [r["mean_ms_ssim"] for r in rows], "s-", label="mean per-class MS-SSIM")
    ax.set(xlabel="classes per model", ylim=(0, 1.02), xticks=xs,
           title=f"{result['steps_per_model']} steps per model")
    ax.legend()
    save_figure(fig, path)



__all__ = ["classes_per_model", "resolution"]
