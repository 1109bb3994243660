"""The paper's studies for your data: classes per model (its class-split study) and resolution (its Fig. 2).

Each experiment trains its models as ordinary (split) runs under one folder, measures them with one evaluator
classifier through the evaluation steps, and writes results.json, a PNG figure and report.html there.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from .config import TrainConfig
from .data import load_data
from .errors import UserError
from .evaluation.evaluate import EvalOptions
from .evaluation.evaluators import get_evaluator
from .evaluation.figures import new_figure, save_figure
from .evaluation.pipeline import EvalContext, SampleSet, run_steps, take_per_class
from .evaluation.report import html_image, html_page, html_table
from .io import atomic_write_json, atomic_write_text
from .metrics.ms_ssim import MIN_SIZE
from .sampling import load_generator, sample_classes
from .training.session import train_or_resume
from .training.splits import planned_record, split_record, train_split


def measure(run: Path, cfg: TrainConfig, evaluator, per_class: int, pairs: int, seed: int,
            resolutions: list[int], log) -> dict:
    """Evaluator accuracy of a run's samples at each resolution, and their per-class MS-SSIM."""
    G = load_generator(run)
    k = G.num_classes
    fake, labels = sample_classes(G, list(range(k)), per_class, seed)
    real = load_data(cfg, fake.shape[-1], split="test")
    real_u8, real_labels = take_per_class(real.images, real.labels, per_class, k, seed)
    opts = EvalOptions(per_class=per_class, real_per_class=per_class, resolutions=sorted(resolutions), pairs=pairs,
                       seed=seed)
    ctx = EvalContext(SampleSet(fake, labels, real_u8, real_labels, G.class_names, seed), evaluator, evaluator,
                      opts, log)
    found = run_steps(["discriminability"] + (["diversity"] if fake.shape[-1] >= MIN_SIZE else []), ctx)
    ms = [g["mean"] for g in found["diversity"]["generated"]] if "diversity" in found else []
    return {"accuracy": found["discriminability"]["generated"], "class_ms_ssim": ms,
            "mean_ms_ssim": sum(ms) / len(ms) if ms else None}


def classes_per_model(cfg: TrainConfig, counts: list[int], out: Path, *, jobs: int = 1, per_class: int = 200,
                      pairs: int = 50, evaluator: str | None = None, log=print) -> dict:
    """The same architecture and step budget per model, with 1..K classes per model."""
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
    _write(result, out, "classes_per_model.png", html_table(
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
    _write(result, out, "resolution.png", html_table(["model"] + [f"@{s} px" for s in sweep],
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


def _write(result: dict, out: Path, figure: str, table: str) -> None:
    atomic_write_json(out / "results.json", result, indent=1)
    title = f"Experiment: {result['experiment']} ({result['dataset']}, {result['arch']})"
    body = f"<h1>{title}</h1>{table}{html_image(out / figure, result['experiment'])}"
    atomic_write_text(out / "report.html", html_page(title, body))


def parse_ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{what} expects comma-separated integers, got '{text}'") from None
    if not values or min(values) < 1:
        raise UserError(f"{what} needs positive integers, got '{text}'")
    return values


__all__ = ["classes_per_model", "resolution", "parse_ints", "measure"]
