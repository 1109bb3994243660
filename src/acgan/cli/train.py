"""`acgan train` and `acgan sample`."""
from __future__ import annotations

import os
import time
from pathlib import Path

import click

from ..config import assemble, preset_names
from ..data import DATASETS
from ..errors import UserError
from ..losses import LOSSES
from ..models import ARCHS
from .app import echo_err, main


def _choices_epilog() -> str:
    """What --dataset, --arch and --loss accept, one line each ('\b' keeps click from re-wrapping them)."""
    return "\n\n".join(f"\b\n{title}:\n{registry.help()}" for title, registry in
                       (("Data sets (--dataset)", DATASETS), ("Architectures (--arch)", ARCHS),
                        ("Losses (--loss)", LOSSES)))


@main.command(epilog=_choices_epilog())
@click.option("--preset", default="demo", show_default=True,
              help=f"Preset name ({', '.join(preset_names())}) or a YAML file of config keys.")
@click.option("--dataset", help=f"{', '.join(DATASETS)}.")
@click.option("--data-dir", help="Download folder, or for --dataset folder: a directory or .zip, one folder per class "
              "(with --resume: where the run's data is now, if it moved).")
@click.option("--classes", help="Classes to train on, by index or name: 0,3,5 or cat,dog.")
@click.option("--arch", help=f"{', '.join(ARCHS)}.")
@click.option("--loss", help=f"{', '.join(LOSSES)}.")
@click.option("--resolution", type=int, help="Image size in px (default: the architecture's).")
@click.option("--steps", type=int, help="Total optimisation steps (with --resume: the new total).")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True),
              help="Train for this long instead of --steps (with --resume: this much longer), then stop with a "
              "checkpoint and a grid; the run's steps become the step reached (docs/training.md).")
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
def train(preset, overrides, out, resume, force, quiet, classes_per_model, grouping, jobs, minutes, **options):
    """Train an AC-GAN; writes config.json, log.txt, stats.jsonl, samples/ and checkpoints/ to the run directory."""
    from ..training import launch

    given = {k: v for k, v in options.items() if v is not None}
    if minutes is not None and "steps" in given:
        raise UserError("--minutes and --steps both say how long to train: give one")
    if resume is not None:
        extra = sorted(set(given) - {"steps", "device", "data_dir"}) + (["--set"] if overrides else []) + \
            (["--out"] if out else []) + (["--force"] if force else []) + \
            (["--classes-per-model"] if classes_per_model else [])
        if extra:
            raise UserError(f"--resume continues a run with its own config; only --steps, --minutes, --device and "
                            f"--data-dir (where its data is now) may be given with it, not {', '.join(extra)}")
        run = launch.resume(resume, steps=given.get("steps"), device=given.get("device"),
                            data_dir=given.get("data_dir"), progress=not quiet, jobs=jobs, log=echo_err,
                            minutes=minutes)
    else:
        cfg = assemble(preset, given, overrides)
        out = out or Path("runs") / f"{cfg.arch}-{cfg.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
        run = launch.start(cfg, out, force=force, progress=not quiet, classes_per_model=classes_per_model,
                           grouping=grouping, jobs=jobs, log=echo_err, minutes=minutes)
    if os.environ.get("RANK", "0") != "0":
        return  # under torchrun the run is rank 0's to announce
    click.echo(f"run: {run}")
    if (run / "samples" / "latest.png").is_file():
        click.echo(f"samples: {run / 'samples' / 'latest.png'}")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--classes", help="Classes by index or name (default: all).")
@click.option("--per-class", type=click.IntRange(1), default=10, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="A .png grid (one row per class, named on its left) or a folder of PNGs.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--step", type=int, help="Checkpoint step (default: the newest).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.option("--truncation", type=float, help="Truncation trick: noise from a normal truncated to [-T, T].")
def sample(run_dir, classes, per_class, out, seed, step, device, force, truncation):
    """Sample a trained run: a grid with one row per class, or one PNG per image."""
    from ..device import resolve_device
    from ..sampling import load_generator, sample_to

    G = load_generator(run_dir, device=str(resolve_device(device)), step=step)
    path = sample_to(G, out, classes, per_class, seed, force=force, truncation=truncation)
    click.echo(f"wrote {path} (step {G.step})")
