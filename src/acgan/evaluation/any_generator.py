"""Evaluating any class-conditional generator: a folder of samples (one sub-folder per class, as torch-fidelity and
StudioGAN users write them) or a Python callable `(labels, z) -> images in [-1, 1]` / a module with sample()."""
from __future__ import annotations

from pathlib import Path

import torch

from ..config import TrainConfig, assemble
from ..data import describe
from ..data.decode import BadImage, is_grey, open_image
from ..data.folder import decode_files, folder_index
from ..errors import UserError
from ..models.common import Sampling
from ..pixels import to_unit
from ..rundir import RunRecord, data_record
from ..sampling import load_generator, sample_classes
from .context import MIN_PER_CLASS, EvalOptions
from .run import build_context, evaluate_context


def data_config(data) -> TrainConfig:
    """`data` as a data-set name, a dict of config keys or a TrainConfig: the real side of an evaluation."""
    if isinstance(data, TrainConfig):
        return data.validate()
    return assemble(None, {"dataset": data} if isinstance(data, str) else dict(data))


def samples_record(cfg: TrainConfig, resolution: int) -> tuple[RunRecord, list[str]]:
    desc = describe(cfg)
    return RunRecord(dict(cfg.to_dict(), classes=desc.class_names),
                     data_record(cfg.dataset, desc.class_names, desc.source_classes, desc.channels, resolution)), \
        desc.class_names


class CallableGenerator(Sampling):
    """Any generator behind the interface the steps use: sample(labels, z=None, generator=None) in [-1, 1]."""

    def __init__(self, fn, class_names: list[str], z_dim: int = 100, device: str = "cpu"):
        self.fn = fn.sample if hasattr(fn, "sample") else fn
        self.class_names, self.z_dim, self.device, self.step = list(class_names), z_dim, device, None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def generate(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = self.fn(labels.to(self.device), z.to(self.device))
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or len(x) != len(labels):
            raise UserError(f"the generator returned {type(x).__name__} {tuple(getattr(x, 'shape', ()))}, not "
                            f"images [{len(labels)}, C, H, W]: wrap it to return a tensor per asked label")
        x = x.detach().float().cpu()
        if not torch.isfinite(x).all():
            raise UserError(f"{int((~torch.isfinite(x)).sum()):,} of the generator's {x.numel():,} pixel values are "
                            "NaN or infinite, which no measure can use (a diverged generator, or weights loaded "
                            "wrongly?)")
        if x.min() < -1.01 or x.max() > 1.01:
            raise UserError(f"the generator's images span [{x.min():.3g}, {x.max():.3g}], not [-1, 1]: return "
                            "images scaled to [-1, 1] (x * 2 - 1 for images in [0, 1])")
        return x.clamp(-1, 1)


def generator_samples(G: Sampling, per_class: int, seed: int, channels: int):
    fake, labels = sample_classes(G, list(range(G.num_classes)), per_class, seed)
    if fake.shape[1] != channels:
        raise UserError(f"the generator makes {fake.shape[1]}-channel images and the data has {channels}: "
                        "convert them in the wrapper")
    return fake, labels


def folder_samples(folder: Path, class_names: list[str], channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images in [-1, 1], labels) from one sub-folder per class, named like the data set's classes ('/' in a class
    name may be written '_'); every image of one size and the data's channels."""
    index = folder_index(str(folder), "train")
    wanted = {n.replace("/", "_"): i for i, n in enumerate(class_names)} | {n: i for i, n in enumerate(class_names)}
    strangers = [n for n in index.names if n not in wanted]
    missing = [n for i, n in enumerate(class_names) if not {n, n.replace("/", "_")} & set(index.names)]
    if strangers or missing:
        raise UserError(f"the class folders of {folder} do not match the data's classes: "
                        + (f"unknown {', '.join(strangers[:5])}; " if strangers else "")
                        + (f"missing {', '.join(missing[:5])}; " if missing else "")
                        + f"expected one folder per class named {', '.join(class_names)}")
    order = sorted(range(len(index.names)), key=lambda i: wanted[index.names[i]])
    sizes, rgb_files = set(), []
    for i in order:
        files = index.images_of(index.names[i])
        if len(files) < MIN_PER_CLASS:
            raise UserError(f"class folder '{index.names[i]}' of {folder} has {len(files)} images; the evaluation "
                            f"needs at least {MIN_PER_CLASS} per class")
        for path in files:
            try:
                img = open_image(index.src.read(path))
            except BadImage as e:
                raise UserError(f"cannot use sample '{path}' in {folder}: {e}") from None
            sizes.add(img.size)
            rgb_files.append(not is_grey(img))
    if len(sizes) > 1 or next(iter(sizes))[0] != next(iter(sizes))[1]:
        raise UserError(f"the samples in {folder} have sizes {sorted(sizes)[:4]}: give every image one square size")
    grey_as_rgb = channels == 1 and any(rgb_files)
    # RGB files for grayscale data (torchvision's save_image writes gray tensors so) count as gray when their three
    # channels are equal: decoded once as RGB, judged on the pixels, then one channel kept
    images, labels = decode_files(index, order, None, mode="RGB" if grey_as_rgb or channels == 3 else "L")
    if grey_as_rgb:
        coloured = (images != images[:, :1]).flatten(1).any(1)
        modes = {3 if c else 1 for c in coloured.tolist()}
        images = images[:, :1].contiguous()
    else:
        modes = {3 if rgb else 1 for rgb in rgb_files}
    if modes != {channels}:
        raise UserError(f"the samples in {folder} have {'/'.join(map(str, sorted(modes)))} channels and the data "
                        f"has {channels}: save them as {'grayscale' if channels == 1 else 'RGB'} images")
    return to_unit(images), labels, grey_as_rgb


def evaluate_folder(folder, data, opts=None, out=None, log=print) -> dict:
    """`acgan evaluate FOLDER --dataset ...`: metrics.json and figures in `out` (default: FOLDER-eval beside it)."""
    folder, cfg, opts = Path(folder), data_config(data), opts or EvalOptions()
    if not folder.exists():
        raise UserError(f"{folder} does not exist: pass a run directory or a folder of samples")
    out = Path(out) if out else folder.with_name(folder.name + "-eval")
    desc = describe(cfg)
    fake, labels, grey_as_rgb = folder_samples(folder, desc.class_names, desc.channels)
    if grey_as_rgb:
        log(f"some samples in {folder} are RGB files with three equal channels: read as grayscale, like the data")
    record, names = samples_record(cfg, fake.shape[-1])
    log(f"{len(fake)} samples from {folder}; no generator, so the latent interpolations are skipped")
    return evaluate_context(build_context(fake, labels, names, record, cfg, opts, out, log), log)


def evaluate_generator(generator, data, out, *, z_dim: int = 100, device: str = "cpu", log=print, **options) -> dict:
    """`acgan.evaluate`: any callable (labels, z) -> images in [-1, 1], or a module with sample(labels, z)."""
    cfg, opts = data_config(data), EvalOptions(**options)
    G = CallableGenerator(generator, describe(cfg).class_names, z_dim, device)
    return _evaluate_sampled(G, cfg, opts, Path(out), log)


def evaluate_export(folder, data: dict, opts: EvalOptions, out=None, log=print) -> dict:
    """`acgan evaluate EXPORT`: an exported generator against the data set it was trained on (`data`: keys that
    replace the export's own, such as data_dir, where the real images are on this machine); metrics.json and
    figures in `out` (default: EXPORT-eval beside it: the export itself stays as it was shared)."""
    folder = Path(folder)
    exported = load_generator(folder)
    trained_on = exported.config["model"]
    # the run's own way of reading its data too: a run trained with skip_bad_images skipped files its data still has
    kept = ("dataset", "data_dir", "classes", "skip_bad_images", "jpeg_draft")
    cfg = data_config({key: trained_on[key] for key in kept if key in trained_on} | data)
    try:
        names = describe(cfg).class_names
    except UserError as e:
        if "data_dir" in data:
            raise
        raise UserError(f"an export does not carry the path of its training images, and {cfg.dataset} data is not "
                        f"found where it looked ({e}): pass --data-dir with the data {folder} was trained on") \
            from None
    if names != exported.class_names:
        raise UserError(f"{folder} was trained on the classes {', '.join(exported.class_names)}, and this data has "
                        f"{', '.join(names)}: pass the data it was trained on with --dataset and --data-dir")
    return _evaluate_sampled(exported, cfg, opts, Path(out) if out else folder.with_name(folder.name + "-eval"), log)


def _evaluate_sampled(G: Sampling, cfg: TrainConfig, opts: EvalOptions, out: Path, log) -> dict:
    fake, labels = generator_samples(G, opts.per_class, opts.seed, describe(cfg).channels)
    record, names = samples_record(cfg, fake.shape[-1])
    return evaluate_context(build_context(fake, labels, names, record, cfg, opts, out, log, generator=G), log)
