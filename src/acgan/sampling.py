"""Load a trained generator from its run directory alone, and write samples."""
from __future__ import annotations

from pathlib import Path

import torch

from .config import from_dict
from .data import resolve_classes
from .errors import UserError
from .models import Generator, build_models
from .training import files


def load_generator(run_dir, device: str = "cpu", step: int | None = None) -> Generator:
    """The run's generator from its newest checkpoint (or the one at `step`), in eval mode.

    `G.sample(labels, z=None)` returns images in [-1, 1]; `G.class_names` lists the classes in label order."""
    run_dir = Path(run_dir)
    saved = files.read_run_config(run_dir)
    cfg = from_dict(saved["config"], where=str(run_dir / "config.json"))
    info = saved["data"]
    found = dict(files.checkpoints(run_dir))
    if not found:
        raise UserError(f"{run_dir} has no checkpoints yet: train it first (acgan train) or wait for the first one")
    if step is not None and step not in found:
        raise UserError(f"{run_dir} has no checkpoint at step {step}; it has {sorted(found)}")
    path = found[step if step is not None else max(found)]
    ckpt = files.load_checkpoint(path)
    G, _ = build_models(cfg, info["channels"], info["resolution"], info["num_classes"])
    try:
        G.load_state_dict(ckpt["G"])
    except (RuntimeError, KeyError) as e:
        raise UserError(f"checkpoint {path} does not match {run_dir / 'config.json'} "
                        f"({str(e).splitlines()[0][:120]})") from None
    G.class_names = list(info["class_names"])
    G.step = int(ckpt["step"])
    return G.to(device).eval()


def sample_to(G: Generator, out: Path, classes, per_class: int, seed: int, force: bool = False) -> Path:
    """A grid PNG (out ends in .png: one row per class) or a folder of PNGs (<class>/<n>.png)."""
    from torchvision.utils import save_image

    out = Path(out)
    if out.exists() and not force:
        raise UserError(f"{out} already exists: choose another --out or pass --force")
    idx = resolve_classes(classes, G.class_names)
    labels = torch.tensor(idx).repeat_interleave(per_class)
    gen = torch.Generator().manual_seed(seed)
    images = torch.cat([G.sample(chunk, generator=gen) for chunk in labels.split(500)]) * 0.5 + 0.5
    if out.suffix.lower() == ".png":
        files.atomic_write(out, lambda tmp: save_image(images, tmp, nrow=per_class, padding=2, format="png"))
        return out
    for i, (img, label) in enumerate(zip(images, labels.tolist())):
        name = G.class_names[label].replace("/", "_")
        path = out / name / f"{i % per_class:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(img, path)
    return out
