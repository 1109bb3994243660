"""`acgan experiment ...` and `acgan bench`."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .app import echo_err, main


@main.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="Our trainer's precision (the baseline is always fp32); --presets train in their own.")
@click.option("--iters", type=click.IntRange(1), default=20, show_default=True, help="Timed steps per run (3 runs).")
@click.option("--quick", is_flag=True, help="dcgan-small at batch 64 only.")
@click.option("--presets", metavar="NAMES|cpu|gpu|all",
              help="Instead: each preset's own step (steps/s, images/s, MFU, peak memory), one process each (on CUDA "
                   "three: eager, captured, the public loop); `cpu` the presets sized for a CPU, `gpu` the others.")
@click.option("--seconds", type=click.FloatRange(0),
              help="With --presets: timed seconds per preset and way of stepping, at least 3 steps (default 10).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="With --presets: a config key changed in every preset timed (repeatable).")
@click.option("--out", type=click.Path(path_type=Path),
              help="Also write every number as JSON here (with --presets: a list of rows).")
def bench(device, precision, iters, quick, presets, seconds, overrides, out):
    """Speed: our trainer against the usual AC-GAN loop, MFU, MS-SSIM, feature networks, the collapse monitor; or,
    with --presets, each preset's training step."""
    from ..errors import UserError
    from ..io import atomic_write_text

    if not presets and (overrides or seconds is not None):
        raise UserError("--set and --seconds go with --presets (the bench without it times fixed models)")
    if presets:
        seconds = 10.0 if seconds is None else seconds
        from ..bench.presets import format_presets, preset_speed, selection
        names = selection(presets)
        results = preset_speed(names, device, seconds, log=echo_err, overrides=overrides)
        click.echo(format_presets(results))
    else:
        from ..bench.run import run_all
        from ..bench.table import format_results

        results = run_all(device, precision, iters, quick, log=echo_err)
        click.echo(format_results(results))
    if out:
        atomic_write_text(out, json.dumps(results, indent=1) + "\n")


@main.group()
def experiment():
    """Studies on your data: the paper's (classes per model, resolution) and the family's (recipes, overlap)."""


def _experiment_options(f):
    for opt in reversed([
        click.option("--preset", default="paper-fashion-mnist", show_default=True,
                     help="Base config (preset or YAML file)."),
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


def _config(preset, overrides, given):
    from ..config import assemble

    # experiments measure models, not progress: no grids unless the preset or --set asks for them
    return assemble(preset, given, overrides, defaults={"sample_every": 10 ** 9})


@experiment.command("classes-per-model")
@_experiment_options
@click.option("--counts", default="1,2,5,10", show_default=True, help="Classes per model to compare.")
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True)
def experiment_classes_per_model(preset, overrides, evaluator, per_class, pairs, out, counts, jobs, **given):
    """Fixed architecture and steps per model; accuracy and MS-SSIM against classes per model."""
    from ..experiments import classes_per_model, parse_ints

    classes_per_model(_config(preset, overrides, given), parse_ints(counts, "--counts"), out, jobs=jobs,
                      per_class=per_class, pairs=pairs, evaluator=evaluator, log=echo_err)
    click.echo(f"wrote {out / 'results.json'}, {out / 'classes_per_model.png'}, {out / 'report.html'}")


@experiment.command("resolution")
@_experiment_options
@click.option("--resolutions", default="16,32", show_default=True, help="Training resolutions (px) to compare.")
def experiment_resolution(preset, overrides, evaluator, per_class, pairs, out, resolutions, **given):
    """The same data trained at each resolution; accuracy against evaluation resolution per model."""
    from ..experiments import parse_ints, resolution

    resolution(_config(preset, overrides, given), parse_ints(resolutions, "--resolutions"), out,
               per_class=per_class, pairs=pairs, evaluator=evaluator, log=echo_err)
    click.echo(f"wrote {out / 'results.json'}, {out / 'resolution.png'}, {out / 'report.html'}")


def _recipe_options(f):
    for opt in reversed([
        click.option("--recipes", default="acgan@paper-fashion-mnist,acgan-mod,tac,adc,reacgan,projection",
                     show_default=True,
                     help="Comma-separated LOSS or LOSS@PRESET entries; a bare LOSS runs on --preset."),
        click.option("--preset", default="demo", show_default=True, help="Base config (preset or YAML)."),
        click.option("--dataset"), click.option("--data-dir"), click.option("--arch"),
        click.option("--steps", type=click.IntRange(1), help="Steps per model (default: each preset's own)."),
        click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE"),
        click.option("--evaluator", help="Evaluator folder (default: trained on first use)."),
        click.option("--per-class", type=click.IntRange(10), default=500, show_default=True),
        click.option("--out", type=click.Path(path_type=Path), required=True)]):
        f = opt(f)
    return f


def _recipes(text, preset, overrides, given):
    from ..experiments.family import recipes_from

    entries = [e.strip() for e in text.split(",") if e.strip()]
    return recipes_from(entries, lambda p, loss: _config(p or preset, overrides, dict(given, loss=loss)))


@experiment.command("recipes")
@_recipe_options
@click.option("--seeds", default="0,1", show_default=True, help="Seeds per recipe (the table shows their range).")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True),
              help="Train every model for this much CPU time (steps timed on this machine); default: --steps.")
def experiment_recipes(recipes, preset, overrides, evaluator, per_class, out, seeds, minutes, **given):
    """The AC-GAN family side by side at equal time: accuracy, diversity ratios, MS-SSIM, domain FID/KID."""
    from ..experiments import parse_ints
    from ..experiments.family import compare_recipes

    compare_recipes(_recipes(recipes, preset, overrides, given), parse_ints(seeds, "--seeds", minimum=0), out,
                    minutes=minutes, per_class=per_class, evaluator=evaluator, log=echo_err)
    click.echo(f"wrote {out / 'results.json'}, {out / 'recipes.png'}, {out / 'report.html'}")


@experiment.command("overlap")
@_recipe_options
@click.option("--shared", required=True, help="The class both A and B hold half of (a name or an index).")
@click.option("--a", "class_a", required=True, help="A's other class (name or index).")
@click.option("--b", "class_b", required=True, help="B's other class (name or index).")
def experiment_overlap(recipes, preset, overrides, evaluator, per_class, out, shared, class_a, class_b, **given):
    """TAC-GAN's overlapping-classes test: A = {shared, a}, B = {shared, b}; the share of `shared` in each class's
    samples should stay near one half."""
    from ..experiments.family import overlapping_classes

    source = _config(preset, overrides, given)
    overlapping_classes(source, _recipes(recipes, preset, overrides, given), shared, class_a, class_b, out,
                        per_class=per_class, evaluator=evaluator, log=echo_err)
    click.echo(f"wrote {out / 'results.json'}, {out / 'overlap.png'}, {out / 'report.html'}")
