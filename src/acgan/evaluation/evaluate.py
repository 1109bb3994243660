"""`acgan evaluate`: every analysis of the paper for one run, into metrics.json and PNG figures."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from ..config import from_dict
from ..data import load_data
from ..errors import UserError
from ..sampling import load_generator
from ..training import files
from ..training.runtime import resolve_device
from . import figures
from .cache import cached, content_key
from .classifier import Evaluator, load_evaluator, to_unit
from .discriminability import RESIZE_RULE, accuracy_sweep, default_resolutions, discriminability
from .diversity import class_ms_ssim, diversity
from .fidelity import EVALUATOR_EXTRACTOR, fidelity_metrics, file_sha256, find_inception_weights
from .imagenet import all_synsets, load_imagenet_inception
from .joint import joint
from .overfit import class_as_style_grid, interpolation_grid, neighbour_grid, samples_grid


@dataclass
class EvalOptions:
    per_class: int = 500                 # generated images per class
    real_per_class: int = 500            # real test images per class (at most what the split has)
    resolutions: list | None = None      # px; default: a quarter, half, once and twice the model's
    pairs: int = 100                     # MS-SSIM pairs per class
    seed: int = 0
    evaluator: str | None = None         # folder from `acgan train-classifier`; default: evaluators/<data>-<hash>
    inception: str = "auto"              # auto (when weights are found) | on | off
    inception_weights: str | None = None
    inception_samples: int = 5000        # generated and real images each for the Inception metrics
    imagenet_weights: str | None = None  # torchvision Inception-v3 file, for synset-named classes
    imagenet_synsets: str | None = None  # the 1000 synsets in class-index order
    device: str = "auto"


def default_evaluator_dir(saved: dict) -> Path:
    data = saved["data"]
    key = content_key(saved["config"]["dataset"], saved["config"]["data_dir"], data["class_names"],
                      data["resolution"])[:10]
    return Path("evaluators") / f"{saved['config']['dataset']}-{key}"


def get_evaluator(opts: EvalOptions, saved: dict, cfg, log) -> Evaluator:
    path = Path(opts.evaluator) if opts.evaluator else default_evaluator_dir(saved)
    if not (path / "evaluator.json").is_file():
        if opts.evaluator:
            raise UserError(f"{path} holds no evaluator: make one with `acgan train-classifier --out {path}`")
        from .classifier import evaluator_meta, save_evaluator, train_evaluator
        log(f"no evaluator for this data yet: training one into {path} (a few CPU minutes, once)")
        train = load_data(cfg, saved["data"]["resolution"])
        test = load_data(cfg, saved["data"]["resolution"], split="test")
        start = time.time()
        net, acc = train_evaluator(train.images, train.labels, test.images, test.labels,
                                   num_classes=train.num_classes, seed=opts.seed)
        save_evaluator(net, evaluator_meta(cfg, train, acc, time.time() - start, 6), path)
    ev = load_evaluator(path)
    if ev.meta["class_names"] != saved["data"]["class_names"] or ev.meta["channels"] != saved["data"]["channels"]:
        raise UserError(f"the evaluator in {path} was trained on other classes or channels than this run: "
                        "train one with the run's --dataset and --classes")
    ev.meta["path"] = str(path)
    ev.meta["weights_sha256"] = file_sha256(path / "evaluator.pt")
    return ev


def take_per_class(images, labels, per_class: int, num_classes: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    keep = []
    for c in range(num_classes):
        idx = (labels == c).nonzero().flatten()
        keep.append(idx[torch.randperm(len(idx), generator=gen)[:per_class]])
    keep = torch.cat(keep)
    return images[keep], labels[keep]


@torch.no_grad()
def generate(G, per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(G.num_classes).repeat_interleave(per_class)
    chunks = [G.sample(chunk, generator=gen).cpu() for chunk in tqdm(labels.split(500), desc="sampling",
                                                                         leave=False)]
    return torch.cat(chunks), labels


def evaluate(run_dir, opts: EvalOptions, log=print) -> dict:
    run_dir = Path(run_dir)
    saved = files.read_run_config(run_dir)
    cfg = from_dict(saved["config"])
    device = resolve_device(opts.device)
    G = load_generator(run_dir, device=str(device))
    k, res = G.num_classes, saved["data"]["resolution"]
    evaluator = get_evaluator(opts, saved, cfg, log)
    resolutions = sorted(opts.resolutions or default_resolutions(res))
    log(f"evaluating {run_dir} at step {G.step}: {opts.per_class} samples per class, evaluator "
        f"{evaluator.meta['path']} (test accuracy {evaluator.meta['test_accuracy']:.4f})")
    real_all = load_data(cfg, res, split="test")
    real_u8, real_labels = take_per_class(real_all.images, real_all.labels, opts.real_per_class, k, opts.seed)
    real = to_unit(real_u8)
    fake, fake_labels = generate(G, opts.per_class, opts.seed)

    log("discriminability and diversity")
    classifier = evaluator
    if all_synsets(G.class_names):  # ImageNet classes: the paper's own network judges them
        classifier = load_imagenet_inception(G.class_names, opts.imagenet_weights, opts.imagenet_synsets)
    real_key = content_key(real_u8, real_labels, classifier.meta, resolutions, opts.pairs, opts.seed, RESIZE_RULE,
                           "ms-ssim-v1")
    real_stats = cached("real-stats", real_key, lambda: {
        "sweep": json.dumps(accuracy_sweep(classifier, real, real_labels, resolutions, k, seed=opts.seed)),
        "ms_ssim": json.dumps(class_ms_ssim(real, real_labels, k, opts.pairs, opts.seed))})
    disc = discriminability(classifier, fake, fake_labels, real, real_labels, res, resolutions, k, opts.seed,
                            real_sweep=json.loads(real_stats["sweep"]))
    disc["network"] = classifier.meta.get("network", "acgan evaluator")
    disc["weights_sha256"] = classifier.meta.get("weights_sha256")
    div = diversity(fake, fake_labels, real, real_labels, k, opts.pairs, opts.seed,
                    real_ms_ssim=json.loads(real_stats["ms_ssim"]))
    acc_at_model = disc["generated"][str(res)]["per_class"]
    jnt = joint(acc_at_model, [g["mean"] for g in div["generated"]], div["threshold"])

    log("domain IS / FID / KID / precision-recall (evaluator features, torch-fidelity)")
    domain = fidelity_metrics(fake, real, extractor=EVALUATOR_EXTRACTOR, weights=Path(evaluator.meta["path"]),
                              cuda=device.type == "cuda", seed=opts.seed)
    inception = inception_metrics(opts, fake, fake_labels, real_all, k, device, log)

    out_dir = run_dir / "eval"
    log(f"figures into {out_dir}")
    train_u8 = load_data(cfg, res).images
    firsts = fake[::opts.per_class][:k]  # one sample per class
    figs = {"nearest_pixel": neighbour_grid(firsts, train_u8, None),
            "nearest_features": neighbour_grid(firsts, train_u8, evaluator, space="features"),
            "interpolation_linear": interpolation_grid(G, mode="linear", seed=opts.seed),
            "interpolation_slerp": interpolation_grid(G, mode="slerp", seed=opts.seed),
            "class_as_style": class_as_style_grid(G, seed=opts.seed),
            "samples": samples_grid(G, seed=opts.seed)}
    for name, grid in figs.items():
        files.atomic_write(out_dir / f"{name}.png", lambda tmp, g=grid: figures.save_grid(g, tmp))
    metrics = {
        "run": str(run_dir), "step": G.step, "seed": opts.seed, "options": asdict(opts),
        "evaluator": {k2: evaluator.meta.get(k2) for k2 in ("path", "dataset", "class_names", "resolution",
                                                             "test_accuracy", "channels")},
        "class_names": G.class_names, "model_resolution": res,
        "discriminability": disc, "diversity": div, "joint": jnt, "domain_metrics": domain, "inception": inception,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    figures.metric_figures(metrics, out_dir)
    if "split" in saved:  # a class-split run: one set of curves per group model
        figures.split_training_curves([run_dir / d / "stats.jsonl" for d in saved["split"]["dirs"]],
                                      out_dir / "training_curves.png")
    else:
        figures.training_curves(run_dir / "stats.jsonl", out_dir / "training_curves.png")
    files.atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    return metrics


def inception_metrics(opts: EvalOptions, fake, fake_labels, real_all, k, device, log) -> dict:
    if opts.inception == "off":
        return {"skipped": "--inception off"}
    try:
        weights = find_inception_weights(opts.inception_weights)
    except UserError as e:
        if opts.inception == "on" or opts.inception_weights:
            raise
        return {"skipped": str(e)}
    per_class = max(1, opts.inception_samples // k)
    f, _ = take_per_class(fake, fake_labels, per_class, k, opts.seed)
    r, _ = take_per_class(real_all.images, real_all.labels, per_class, k, opts.seed)
    log(f"Inception IS / FID / KID / PR on {len(f)} samples (TF-compatible weights {weights})")
    return fidelity_metrics(f, to_unit(r), extractor="inception-v3-compat", weights=weights,
                            cuda=device.type == "cuda", seed=opts.seed)
