"""`acgan train-classifier`, `check`, `evaluate` and `report`."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import UserError
from ..evaluation.context import MIN_PER_CLASS, EvalOptions
from ..evaluation.verdict import verdict
from .app import echo_err, main

D = EvalOptions()  # the defaults, stated once in the dataclass


@main.command("train-classifier")
@click.option("--dataset", help="A data set name (default: fashion-mnist).")
@click.option("--data-dir", help="Download folder, or for --dataset folder: a directory or .zip, one folder per class "
              "(default: data).")
@click.option("--classes", help="Classes by index or name (default: all).")
@click.option("--resolution", type=int, help="Image size in px (default: the data's own, at most 128: "
              "what `evaluate` and `check` use; larger images are downsized to it).")
@click.option("--epochs", type=click.IntRange(1), help="Passes over the training images (default: 4, more on data "
              "sets smaller than CIFAR-10: about 750 steps where the time allows).")
@click.option("--width", type=click.IntRange(4), default=16, show_default=True,
              help="Channels of the first conv stage (the others 2x and 4x): wider learns richer data, slower.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Folder for evaluator.pt/.json (default: the data's "
              "own folder in the cache, where `evaluate` and `check` look).")
@click.option("--force", is_flag=True, help="Replace an existing evaluator at --out.")
@click.option("--quiet", is_flag=True)
def train_classifier(dataset, data_dir, classes, resolution, epochs, width, seed, out, force, quiet):
    """Train the evaluator classifier on real training images; records its accuracy on the real test split."""
    from ..config import assemble
    from ..data import describe
    from ..device import resolve_device, resolve_precision
    from ..evaluation.evaluator import evaluator_dir_for, evaluator_resolution, train_and_save, weak_evaluator

    cfg = assemble(None, {"dataset": dataset, "data_dir": data_dir, "classes": classes})
    default = out is None
    desc = describe(cfg)
    resolution = resolution or evaluator_resolution(desc.native_resolution)
    out = out or evaluator_dir_for(cfg, resolution)
    if (out / "evaluator.pt").exists() and not force:
        if default:  # what was asked for is there already: the data's own evaluator
            meta = json.loads((out / "evaluator.json").read_text())
            click.echo(f"the evaluator of this data is already in {out} (test accuracy {meta['test_accuracy']:.4f}); "
                       "--force retrains it")
            return
        raise UserError(f"{out} already holds an evaluator: pass --force to replace it or choose another --out")
    acc, n_test = train_and_save(cfg, resolution, out, epochs=epochs, width=width, seed=seed,
                                 precision=resolve_precision("auto", resolve_device("cpu")), progress=not quiet,
                                 log=echo_err)
    click.echo(f"test accuracy {acc:.4f} on {n_test} real images it did not learn from; wrote {out}")
    if warning := weak_evaluator(acc, len(desc.class_names), None if default else out):
        echo_err(warning)


@main.command("check")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--evaluator", "evaluator_dir", type=click.Path(path_type=Path),
              help="Folder written by `acgan train-classifier` (default: the data's own, trained on first use).")
@click.option("--per-class", type=click.IntRange(MIN_PER_CLASS), default=D.per_class, show_default=True)
@click.option("--seed", type=int, default=D.seed, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Where the generator samples.")
def check(run_dir, evaluator_dir, per_class, seed, device):
    """Quick sample check: evaluator accuracy and feature diversity per class, as JSON on stdout."""
    from ..evaluation.run import check as run_check

    click.echo(json.dumps(run_check(run_dir, evaluator_dir, per_class=per_class, seed=seed, log=echo_err,
                                    device=device), indent=2))


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--dataset", help="For a folder of samples: the data set they imitate (its test split is the real side).")
@click.option("--data-dir", help="For a folder of samples or an export: the real data's folder, .zip or download "
              "folder.")
@click.option("--classes", help="For a folder of samples: the data's classes they cover (default: all).")
@click.option("--out", type=click.Path(path_type=Path), help="For a folder of samples or an export: where "
              "metrics.json and eval/ go (default: FOLDER-eval beside it).")
@click.option("--evaluator", help="Folder from `acgan train-classifier` (default: the data's own, in the cache "
              "folder, trained on first use).")
@click.option("--per-class", type=click.IntRange(MIN_PER_CLASS), default=D.per_class, show_default=True,
              help="Samples per class.")
@click.option("--real-per-class", type=click.IntRange(MIN_PER_CLASS), default=D.real_per_class, show_default=True)
@click.option("--resolutions", help="Comma-separated px for the discriminability sweep (default: R/4, R/2, R, 2R).")
@click.option("--pairs", type=click.IntRange(2), default=D.pairs, show_default=True, help="MS-SSIM pairs per class.")
@click.option("--seed", type=int, default=D.seed, show_default=True)
@click.option("--inception", type=click.Choice(["auto", "on", "off"]), default=D.inception, show_default=True,
              help="Inception IS/FID/KID/PR: auto runs them when weights are found.")
@click.option("--inception-weights", type=click.Path(), help="Local weights-inception-2015-12-05-6726825d.pth.")
@click.option("--inception-samples", type=click.IntRange(MIN_PER_CLASS), default=D.inception_samples, show_default=True)
@click.option("--imagenet-weights", type=click.Path(), help="torchvision's inception_v3_google-0cc3c7bd.pth, for "
              "discriminability of synset-named (ImageNet) classes.")
@click.option("--imagenet-synsets", type=click.Path(exists=True), help="The 1000 ImageNet synsets in class-index "
              "order, one per line.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=D.device, show_default=True)
def evaluate(run_dir, resolutions, dataset, data_dir, classes, out, **options):
    """The paper's analyses: of a run (RUN_DIR/metrics.json, RUN_DIR/eval/), of an export from `acgan export`, or of
    a folder of samples with one sub-folder per class named like --dataset's classes (for both: OUT/metrics.json,
    OUT/eval/)."""
    from ..evaluation.any_generator import evaluate_export, evaluate_folder
    from ..evaluation.run import evaluate as run_evaluation
    from ..exported import is_export

    if resolutions:
        try:
            options["resolutions"] = [int(r) for r in resolutions.split(",")]
        except ValueError:
            raise UserError(f"--resolutions expects comma-separated integers, got '{resolutions}'") from None
    if is_export(run_dir):  # a shared generator: judged against its data, its folder left as it was
        data = {k: v for k, v in (("dataset", dataset), ("data_dir", data_dir), ("classes", classes)) if v}
        metrics = evaluate_export(run_dir, data, EvalOptions(**options), out, log=echo_err)
        run_dir = Path(metrics["run"])
    elif (Path(run_dir) / "config.json").is_file():
        metrics = run_evaluation(run_dir, EvalOptions(**options), log=echo_err)
    elif dataset:
        data = {"dataset": dataset, "classes": classes, **({"data_dir": data_dir} if data_dir else {})}
        metrics = evaluate_folder(run_dir, data, EvalOptions(**options), out, log=echo_err)
        run_dir = Path(metrics["run"])
    else:
        raise UserError(f"{run_dir} is not an acgan run directory (no config.json): pass a run's --out folder, or for "
                        "a folder of samples name the data they imitate with --dataset (and --data-dir)")
    click.echo(f"{verdict(metrics)}; wrote {Path(run_dir) / 'metrics.json'}")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="HTML file (default: RUN_DIR/report.html).")
def report(run_dir, out):
    """One self-contained HTML page with the tables and figures of `acgan evaluate`."""
    from ..evaluation.outputs.report import write_report

    click.echo(f"wrote {write_report(run_dir, out)}")
