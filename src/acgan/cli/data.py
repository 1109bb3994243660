"""`acgan data prepare | info | list | prune`: the prepared stores of image data in the cache folder."""
from __future__ import annotations

from pathlib import Path

import click

from ..config import assemble
from ..errors import UserError
from ..progress import human_size
from .app import echo_err, main


@main.group()
def data():
    """Image data decoded once into prepared stores (in the cache folder): prepare, inspect, list, prune."""


def _selection(f):
    for opt in reversed([
        click.option("--preset", help="Take the data keys (and the resolution rule) of this preset or YAML file."),
        click.option("--dataset", help="Data set (default: the preset's, else fashion-mnist)."),
        click.option("--data-dir", help="The folder or .zip (for --dataset folder)."),
        click.option("--classes", help="Classes by index or name (default: all)."),
        click.option("--resolution", type=int, help="Image size in px (default: what --arch trains at)."),
        click.option("--arch", help="The architecture whose default resolution to use."),
        click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Any other config key.")]):
        f = opt(f)
    return f


def _config(preset, overrides, **given):
    return assemble(preset, {k: v for k, v in given.items() if v is not None}, overrides)


@data.command()
@_selection
@click.option("--split", type=click.Choice(["train", "test", "both"]), default="both", show_default=True,
              help="Which split(s) to prepare (a folder without train/ and test/ has one).")
@click.option("--workers", type=click.IntRange(1), help="Decoding processes (default: one per core).")
def prepare(preset, overrides, split, workers, **given):
    """Decode the data once, with every core, at the resolution a model needs; every command then reads it."""
    from ..data import describe
    from ..training.data import prepare_selection

    cfg = _config(preset, overrides, **given)
    asked = ["train", "test"] if split == "both" else [split]
    said = {}
    for name, store in zip(asked, prepare_selection(cfg, asked, workers=workers, log=echo_err, quiet_below=0)):
        d = store.describe()
        if d["path"] in said:  # a folder without train/ and test/: both splits read the same images
            click.echo(f"{name}: the same images as {said[d['path']]} (the data has no separate {name} split)")
            continue
        said[d["path"]] = name
        skipped = {0: "no file skipped", 1: "1 file skipped"}.get(d["skipped"], f"{d['skipped']} files skipped")
        if d["skipped"]:  # training refuses them unless told: say so now, not at the first step
            skipped += f" (`acgan data info{'' if name == 'train' else ' --split ' + name}` lists them; " \
                       "training needs --skip-bad-images)"
        click.echo(f"{name}: {d['images']:,} images of {d['classes']} classes at {d['resolution']} px, "
                   f"{human_size(d['bytes'])}, {skipped}; {d['path']}")
        if note := _mixed(store, describe(cfg).class_names[0]):
            click.echo(f"{name}: {note}")


@data.command()
@_selection
@click.option("--split", type=click.Choice(["train", "test"]), default="train", show_default=True)
@click.option("--store", "store_path", type=click.Path(path_type=Path), help="A store folder (from `acgan data list`) "
              "instead of a data selection.")
def info(preset, overrides, split, store_path, **given):
    """What a prepared store holds: its source, rule, per-class counts and every file it had to skip."""
    from ..data.store import DamagedStore, Store
    from ..training.data import find_selection

    if store_path:
        if not store_path.is_dir():
            raise UserError(f"no store at {store_path}: `acgan data list` shows the prepared stores and their folders")
        try:
            store = Store.open(store_path)
        except DamagedStore as e:
            raise UserError(f"{store_path} is not a usable store: {e}") from None
    else:
        store = find_selection(_config(preset, overrides, **given), split)
    m, d = store.manifest, store.describe()
    click.echo(f"store      {d['path']}\nsource     {m['dataset']} {m['source']['identity']} ({m['split']})\n"
               f"images     {d['images']:,} of {d['classes']} classes at {m['channels']}x{m['resolution']}x"
               f"{m['resolution']}, {human_size(d['bytes'])}; prepared {m['created']}, last used {d['last_used']}")
    click.echo("rule       " + "; ".join(f"{k}: {v}" for k, v in m["rule"].items() if k != "version"))
    if note := _mixed(store):
        click.echo(f"channels   {note}")
    for name, count in zip(m["class_names"], m["counts"]):
        click.echo(f"  {count:8,}  {name}")
    for s in m["skipped"]:
        click.echo(f"skipped    {s['file']} ({s['class']}): {s['reason']}")


def _mixed(store, first_class: str | None = None) -> str | None:
    """The line on a store of both grey and colour files (data/decoded.py's)."""
    from ..data.decoded import mixed_modes
    return mixed_modes(store.manifest["mode"], store.grey_files(range(len(store.class_names))),
                       int(sum(store.manifest["counts"])), first_class)


@data.command("list")
def list_():
    """Every prepared store in the cache folder, with its size and when it was last used."""
    from ..data.store import list_stores, stores_dir

    stores = list_stores()
    if not stores:
        click.echo(f"no prepared data in {stores_dir()}")
        return
    for s in stores:
        d = s.describe()
        click.echo(f"{human_size(d['bytes']):>9}  {d['images']:>9,} img  {d['resolution']:>4} px  {d['split']:5s}  "
                   f"{d['dataset']} {d['source']}  (last used {d['last_used']})  {d['path']}")
    click.echo(f"{len(stores)} stores, {human_size(sum(s.size_bytes for s in stores))} in {stores_dir()}")


@data.command()
@click.option("--older-than", type=click.FloatRange(min=0), metavar="DAYS",
              help="Also remove stores not used for this many days.")
@click.option("--all", "everything", is_flag=True, help="Remove every prepared store.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed, remove nothing.")
def prune(older_than, everything, dry_run):
    """Remove stores whose source changed or is gone (and, if asked, old or all ones); they are rebuilt on use."""
    from ..data import DATASETS
    from ..data.store import prune_stores

    removed = prune_stores(DATASETS, older_than_days=older_than, everything=everything, dry_run=dry_run)
    for store, why, size in removed:
        click.echo(f"{'would remove' if dry_run else 'removed'} {store.path} ({why}, {human_size(size)})")
    click.echo(f"{len(removed)} store(s), {human_size(sum(size for _, _, size in removed))}"
               + (" would be freed" if dry_run else " freed"))
