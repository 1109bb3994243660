"""The `acgan` command line. Bad input: one line on stderr and exit status 2."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .errors import UserError


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="acgan")
def main():
    """Class-conditional image synthesis with AC-GAN (Odena et al., ICML 2017)."""


TRAIN_OPTIONS = ("dataset", "data_dir", "classes", "arch", "resolution", "steps", "batch_size", "seed", "device",
                 "precision")


@main.command()
@click.option("--preset", default="demo", show_default=True,
              help="Preset name (demo, paper-cifar, paper-imagenet) or a YAML file of config keys.")
@click.option("--dataset", help="fashion-mnist, mnist, cifar10, cifar100 or folder.")
@click.option("--data-dir", help="Download folder, or for --dataset folder: a directory or .zip, one folder per class.")
@click.option("--classes", help="Classes to train on, by index or name: 0,3,5 or cat,dog.")
@click.option("--arch", help="dcgan-small, paper-cifar or paper-imagenet.")
@click.option("--resolution", type=int, help="Image size in px (default: the architecture's).")
@click.option("--steps", type=int, help="Total optimisation steps (with --resume: the new total).")
@click.option("--batch-size", type=int, help="Images per step.")
@click.option("--seed", type=int)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]))
@click.option("--skip-bad-images", is_flag=True, default=None, help="Skip undecodable files in folder data.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Any other config key; repeatable.")
@click.option("--out", type=click.Path(path_type=Path), help="Run directory (default: runs/<arch>-<data>-<time>).")
@click.option("--resume", type=click.Path(path_type=Path), help="Continue this run directory from its last checkpoint.")
@click.option("--force", is_flag=True, help="Replace an existing run directory at --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--classes-per-model", type=click.IntRange(1), help="Class splits: one AC-GAN per N classes, as "
              "sub-runs group-NNN/ of --out (the paper's ImageNet setting was 10).")
@click.option("--grouping", type=click.Choice(["consecutive", "random"]), default="consecutive", show_default=True,
              help="How classes are grouped for --classes-per-model (random is seeded by --seed).")
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True,
              help="Class-split groups trained in parallel processes.")
def train(preset, overrides, out, resume, force, quiet, skip_bad_images, classes_per_model, grouping, jobs,
          **options):
    """Train an AC-GAN; writes config.json, log.txt, stats.jsonl, samples/ and checkpoints/ to the run directory."""
    from .config import from_dict, load_yaml, parse_override
    from .training.files import read_run_config
    from .training.loop import resume as resume_run
    from .training.loop import train as train_run
    from .training.splits import train_split

    given = {k: v for k, v in options.items() if v is not None}
    if resume is not None:
        extra = sorted(set(given) - {"steps", "device"}) + (["--set"] if overrides else []) + \
            (["--out"] if out else []) + (["--force"] if force else []) + \
            (["--classes-per-model"] if classes_per_model else [])
        if extra:
            raise UserError(f"--resume continues a run with its own config; only --steps and --device may be "
                            f"given with it, not {', '.join(extra)}")
        saved = read_run_config(resume)
        if "split" in saved:  # a class-split run: continue every group of this process
            cfg = from_dict(saved["config"], where=str(resume / "config.json"))
            cfg.steps, cfg.device = given.get("steps", cfg.steps), given.get("device", cfg.device)
            split = saved["split"]
            run = train_split(cfg, resume, split["classes_per_model"], grouping=split["grouping"], jobs=jobs,
                              log=lambda m: click.echo(m, err=True))
            click.echo(f"run: {run}")
            return
        run = resume_run(resume, steps=given.get("steps"), device=given.get("device"), progress=not quiet)
        click.echo(f"run: {run}\nsamples: {run / 'samples' / 'latest.png'}")
        return
    values = load_yaml(preset)
    values.update(given)
    if skip_bad_images:
        values["skip_bad_images"] = True
    values.update(dict(parse_override(o) for o in overrides))
    if isinstance(values.get("classes"), str):
        from .data import parse_class_list
        values["classes"] = parse_class_list(values["classes"])
    cfg = from_dict(values, where="the command line").validate()
    out = out or Path("runs") / f"{cfg.arch}-{cfg.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    if classes_per_model:
        run = train_split(cfg, out, classes_per_model, grouping=grouping, jobs=jobs, force=force,
                          log=lambda m: click.echo(m, err=True))
        click.echo(f"run: {run}")
        return
    run = train_run(cfg, out, force=force, progress=not quiet)
    click.echo(f"run: {run}\nsamples: {run / 'samples' / 'latest.png'}")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--classes", help="Classes by index or name (default: all).")
@click.option("--per-class", type=click.IntRange(1), default=10, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="A .png grid (one row per class) or a folder of PNGs.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--step", type=int, help="Checkpoint step (default: the newest).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def sample(run_dir, classes, per_class, out, seed, step, device, force):
    """Sample a trained run: a grid with one row per class, or one PNG per image."""
    from .sampling import load_generator, sample_to
    from .training.runtime import resolve_device

    G = load_generator(run_dir, device=str(resolve_device(device)), step=step)
    path = sample_to(G, out, classes, per_class, seed, force=force)
    click.echo(f"wrote {path} (step {G.step})")


@main.command("train-classifier")
@click.option("--dataset", default="fashion-mnist", show_default=True)
@click.option("--data-dir", default="data", show_default=True)
@click.option("--classes", help="Classes by index or name (default: all).")
@click.option("--resolution", type=int, help="Image size in px (default: the data's own).")
@click.option("--epochs", type=click.IntRange(1), default=6, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Folder for evaluator.pt/.json (default: "
              "evaluators/<dataset>).")
@click.option("--force", is_flag=True, help="Replace an existing evaluator at --out.")
@click.option("--quiet", is_flag=True)
def train_classifier(dataset, data_dir, classes, resolution, epochs, seed, out, force, quiet):
    """Train the evaluator classifier on real training images; records its accuracy on the real test split."""
    from .config import TrainConfig
    from .data import load_data, parse_class_list
    from .evaluation.classifier import evaluator_meta, save_evaluator, train_evaluator
    from .training.runtime import resolve_device, resolve_precision

    cfg = TrainConfig(dataset=dataset, data_dir=data_dir, classes=parse_class_list(classes)).validate()
    out = out or Path("evaluators") / dataset
    if (out / "evaluator.pt").exists() and not force:
        raise UserError(f"{out} already holds an evaluator: pass --force to replace it or choose another --out")
    train, test = load_data(cfg, resolution), load_data(cfg, resolution, split="test")
    start = time.time()
    net, acc = train_evaluator(train.images, train.labels, test.images, test.labels, num_classes=train.num_classes,
                               epochs=epochs, seed=seed, precision=resolve_precision("auto", resolve_device("cpu")),
                               progress=not quiet)
    save_evaluator(net, evaluator_meta(cfg, train, acc, time.time() - start, epochs), out)
    click.echo(f"test accuracy {acc:.4f} on {len(test.labels)} real test images; wrote {out}")


@main.command("check")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--evaluator", "evaluator_dir", type=click.Path(path_type=Path), required=True,
              help="Folder written by `acgan train-classifier` for the run's data set.")
@click.option("--per-class", type=click.IntRange(2), default=500, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def check(run_dir, evaluator_dir, per_class, seed):
    """Quick sample check: evaluator accuracy and feature diversity per class, as JSON on stdout."""
    import json

    from .config import from_dict
    from .data import load_data
    from .evaluation.classifier import load_evaluator
    from .evaluation.sample_quality import sample_quality
    from .sampling import load_generator
    from .training.files import read_run_config

    G = load_generator(run_dir)
    ev = load_evaluator(evaluator_dir)
    saved = read_run_config(run_dir)
    if ev.meta["resolution"] != saved["data"]["resolution"] or ev.meta["class_names"] != G.class_names:
        raise UserError(f"the evaluator in {evaluator_dir} was trained on other classes or another resolution "
                        "than this run: train one with the run's --dataset and --classes")
    real = load_data(from_dict(saved["config"]), saved["data"]["resolution"], split="test")
    result = sample_quality(G, ev, real.images, real.labels, per_class=per_class, seed=seed)
    click.echo(json.dumps(result, indent=2))


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--evaluator", help="Folder from `acgan train-classifier` (default: evaluators/<data>-<hash>, trained "
              "on first use).")
@click.option("--per-class", type=click.IntRange(10), default=500, show_default=True, help="Samples per class.")
@click.option("--real-per-class", type=click.IntRange(10), default=500, show_default=True)
@click.option("--resolutions", help="Comma-separated px for the discriminability sweep (default: R/4, R/2, R, 2R).")
@click.option("--pairs", type=click.IntRange(2), default=100, show_default=True, help="MS-SSIM pairs per class.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--inception", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="Inception IS/FID/KID/PR: auto runs them when weights are found.")
@click.option("--inception-weights", type=click.Path(), help="Local weights-inception-2015-12-05-6726825d.pth.")
@click.option("--inception-samples", type=click.IntRange(10), default=5000, show_default=True)
@click.option("--imagenet-weights", type=click.Path(), help="torchvision's inception_v3_google-0cc3c7bd.pth, for "
              "discriminability of synset-named (ImageNet) classes.")
@click.option("--imagenet-synsets", type=click.Path(exists=True), help="The 1000 ImageNet synsets in class-index "
              "order, one per line.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def evaluate(run_dir, resolutions, **options):
    """The paper's analyses for a run: metrics.json and figures in RUN_DIR/eval/."""
    from .evaluation.evaluate import EvalOptions
    from .evaluation.evaluate import evaluate as run_evaluation

    if resolutions:
        try:
            options["resolutions"] = [int(r) for r in resolutions.split(",")]
        except ValueError:
            raise UserError(f"--resolutions expects comma-separated integers, got '{resolutions}'") from None
    opts = EvalOptions(**options)
    metrics = run_evaluation(run_dir, opts, log=lambda msg: click.echo(msg, err=True))
    res = str(metrics["model_resolution"])
    click.echo(f"accuracy of samples {metrics['discriminability']['generated'][res]['accuracy']:.4f} "
               f"(real {metrics['discriminability']['real'][res]['accuracy']:.4f}); classes below the MS-SSIM "
               f"threshold {metrics['diversity']['fraction_classes_below_threshold']:.0%}; wrote "
               f"{Path(run_dir) / 'metrics.json'}")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="HTML file (default: RUN_DIR/report.html).")
def report(run_dir, out):
    """One self-contained HTML page with the tables and figures of `acgan evaluate`."""
    from .evaluation.report import write_report

    click.echo(f"wrote {write_report(run_dir, out)}")


@main.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="Our trainer's precision (the baseline is always fp32).")
@click.option("--iters", type=click.IntRange(1), default=20, show_default=True, help="Timed steps per run (3 runs).")
@click.option("--quick", is_flag=True, help="dcgan-small at batch 64 only.")
@click.option("--out", type=click.Path(path_type=Path), help="Also write every number as JSON here.")
def bench(device, precision, iters, quick, out):
    """Speed: our trainer against the usual AC-GAN loop, MFU, MS-SSIM, feature networks, the collapse monitor."""
    import json

    from .bench.run import run_all
    from .bench.table import format_results

    results = run_all(device, precision, iters, quick, log=lambda msg: click.echo(msg, err=True))
    click.echo(format_results(results))
    if out:
        from .training.files import atomic_write_text
        atomic_write_text(out, json.dumps(results, indent=1) + "\n")


@main.group()
def experiment():
    """The paper's studies on your data: classes per model, resolution."""


def _experiment_options(f):
    for opt in reversed([
        click.option("--preset", default="demo", show_default=True, help="Base config (preset or YAML file)."),
        click.option("--dataset"), click.option("--data-dir"), click.option("--classes"), click.option("--arch"),
        click.option("--steps", type=click.IntRange(1), required=True, help="Steps per model."),
        click.option("--seed", type=int),
        click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE"),
        click.option("--evaluator", help="Evaluator folder (default: trained on first use)."),
        click.option("--per-class", type=click.IntRange(10), default=200, show_default=True),
        click.option("--pairs", type=click.IntRange(2), default=50, show_default=True),
        click.option("--out", type=click.Path(path_type=Path), required=True)]):
        f = opt(f)
    return f


def _experiment_config(preset, overrides, **given):
    from .config import from_dict, load_yaml, parse_override
    from .data import parse_class_list

    values = load_yaml(preset)
    values.update({k: v for k, v in given.items() if v is not None})
    values.update(dict(parse_override(o) for o in overrides))
    if isinstance(values.get("classes"), str):
        values["classes"] = parse_class_list(values["classes"])
    values.setdefault("sample_every", 10 ** 9)
    return from_dict(values, where="the command line").validate()


@experiment.command("classes-per-model")
@_experiment_options
@click.option("--counts", default="1,2,5,10", show_default=True, help="Classes per model to compare.")
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True)
def experiment_classes_per_model(preset, overrides, evaluator, per_class, pairs, out, counts, jobs, **given):
    """Fixed architecture and steps per model; accuracy and MS-SSIM against classes per model."""
    from .experiments import classes_per_model, parse_ints

    cfg = _experiment_config(preset, overrides, **given)
    classes_per_model(cfg, parse_ints(counts, "--counts"), out, jobs=jobs, per_class=per_class, pairs=pairs,
                      evaluator=evaluator, log=lambda m: click.echo(m, err=True))
    click.echo(f"wrote {out / 'results.json'}, {out / 'classes_per_model.png'}, {out / 'report.html'}")


@experiment.command("resolution")
@_experiment_options
@click.option("--resolutions", default="16,32", show_default=True, help="Training resolutions (px) to compare.")
def experiment_resolution(preset, overrides, evaluator, per_class, pairs, out, resolutions, **given):
    """The same data trained at each resolution; accuracy against evaluation resolution per model."""
    from .experiments import parse_ints, resolution

    cfg = _experiment_config(preset, overrides, **given)
    resolution(cfg, parse_ints(resolutions, "--resolutions"), out, per_class=per_class, pairs=pairs,
               evaluator=evaluator, log=lambda m: click.echo(m, err=True))
    click.echo(f"wrote {out / 'results.json'}, {out / 'resolution.png'}, {out / 'report.html'}")


if __name__ == "__main__":
    main()
