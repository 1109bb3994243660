"""Load a trained generator from its run directory alone, and write samples."""
from __future__ import annotations

from pathlib import Path

import torch

from .data import resolve_classes
from .errors import UserError
from .exported import is_export, load_export
from .io import atomic_save_image, write_png
from .models import Generator, build_models
from .models.split import SplitGenerator
from .progress import progress as progress_bar
from .rundir import RunDir

CHUNK = 500  # images per noise draw when sampling many: fixes the noise stream's order
CALL_PIXELS = CHUNK * 64 * 64  # pixels per generator call: 500 images up to 64 px, fewer above (activations grow
# with the area: at 256 px a call of 500 would hold some 16x the ~1.5 GB of biggan's at 64 px)


def images_per_call(G) -> int:
    """Images per generator call: CHUNK, or fewer for a generator that says it makes images above 64 px."""
    r = getattr(G, "resolution", None)
    return CHUNK if not r else max(1, min(CHUNK, CALL_PIXELS // (r * r)))


def load_generator(run_dir, device: str = "cpu", step: int | None = None):
    """The run's generator from its newest checkpoint (or the one at `step`), in eval mode.

    `G.sample(labels, z=None)` returns images in [-1, 1]; `G.class_names` lists the classes in label order.
    For a class-split run (`--classes-per-model`) it is a SplitGenerator over all the run's classes."""
    if is_export(run_dir):  # a folder written by `acgan export`
        return load_export(run_dir, device)
    run = RunDir(run_dir)
    record = run.read()
    if record.split is not None:
        parts = [load_generator(group.path, device, step) for group in run.groups()]
        return SplitGenerator(parts, record.split["groups"], record.data["class_names"]).eval()
    cfg, info = run.train_config(record), record.data
    ckpt, path = run.load_checkpoint(step)
    if ckpt is None:
        raise UserError(f"{run.path} has no checkpoints yet: train it first (acgan train) or wait for the first one")
    G, _ = build_models(cfg, info["channels"], info["resolution"], info["num_classes"])
    try:
        G.load_state_dict(ckpt.get("G_ema", ckpt["G"]))  # the averaged generator when the run kept one
    except (RuntimeError, KeyError) as e:
        raise UserError(f"checkpoint {path} does not match {run.config_path} "
                        f"({str(e).splitlines()[0][:120]})") from None
    G.class_names = list(info["class_names"])
    G.step = int(ckpt["step"])
    G.resolution = int(info["resolution"])
    return G.to(device).eval()


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between two noise vectors (t in [0, 1]); linear when they are parallel."""
    omega = torch.arccos(torch.clamp((a / a.norm()) @ (b / b.norm()), -1.0, 1.0))
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


@torch.no_grad()
def noise(n: int, z_dim: int, generator: torch.Generator, truncation: float | None = None) -> torch.Tensor:
    """N(0, 1) noise [n, z_dim]; with `truncation` t, a normal truncated to [-t, t] (values outside are redrawn,
    not rescaled: the truncation trick as BigGAN defines it)."""
    if truncation is None:
        return torch.randn(n, z_dim, generator=generator)
    return torch.nn.init.trunc_normal_(torch.empty(n, z_dim), 0.0, 1.0, -truncation, truncation, generator=generator)


def sample_classes(G, classes: list[int], per_class: int, seed: int, progress: bool = False,
                   truncation: float | None = None):
    """(images [-1, 1] on the CPU, labels): `per_class` samples of each class in `classes`, in that order, from one
    noise stream seeded by `seed` (the same images whatever the caller)."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.tensor(classes, dtype=torch.long).repeat_interleave(per_class)
    bar, chunks = progress_bar(len(labels), "sampling", "img", enabled=progress), []
    per_call = images_per_call(G)
    for chunk in labels.split(CHUNK):
        z = noise(len(chunk), G.z_dim, gen, truncation)
        chunks += [G.sample(c, z=zc).cpu() for c, zc in zip(chunk.split(per_call), z.split(per_call))]
        bar.update(len(chunk))
    bar.close()
    return torch.cat(chunks), labels


def sample_to(G: Generator, out: Path, classes, per_class: int, seed: int, force: bool = False,
              truncation: float | None = None) -> Path:
    """A grid PNG (out ends in .png: one row per class, named on its left) or a folder of PNGs (<class>/<n>.png)."""
    out = Path(out)
    if out.exists() and not force:
        raise UserError(f"{out} already exists: choose another --out or pass --force")
    if truncation is not None and truncation <= 0:
        raise UserError(f"--truncation must be positive, got {truncation}")
    picked = resolve_classes(classes, G.class_names)
    images, labels = sample_classes(G, picked, per_class, seed, truncation=truncation)
    if out.suffix.lower() == ".png":
        atomic_save_image(images, out, nrow=per_class, rows=[G.class_names[c] for c in picked])
        return out
    for i, (img, label) in enumerate(zip(images, labels.tolist())):
        name = G.class_names[label].replace("/", "_")
        path = out / name / f"{i % per_class:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(img, path)
    return out
