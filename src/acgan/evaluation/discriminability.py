"""Discriminability (paper section 4.1): evaluator accuracy on images resized down to r and back up.

Images are resized bilinearly (antialiased when shrinking) to r x r and back to the evaluator's input size, to see
whether the extra resolution carries class information. Accuracies are per class and overall, with the std of the
overall accuracy over `subsets` random equal parts.
"""
from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as TF

from .classifier import Evaluator
from .pipeline import EvalContext, step

RESIZE_RULE = "bilinear, antialiased, down to r and back to the evaluator's input"


def default_resolutions(model_resolution: int) -> list[int]:
    """A quarter, half, once and twice the model resolution (the paper's sweep around its 128 px models)."""
    return sorted({max(4, model_resolution // 4), model_resolution // 2, model_resolution, model_resolution * 2})


def resize_roundtrip(images: torch.Tensor, r: int, target: int) -> torch.Tensor:
    x = TF.resize(images, [r, r], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    return TF.resize(x, [target, target], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)


def subset_std(correct: torch.Tensor, subsets: int, seed: int) -> float:
    perm = torch.randperm(len(correct), generator=torch.Generator().manual_seed(seed))
    return torch.stack([c.float().mean() for c in correct[perm].chunk(subsets)]).std().item()


def accuracy_sweep(evaluator: Evaluator, images: torch.Tensor, labels: torch.Tensor, resolutions: list[int],
                   num_classes: int, subsets: int = 10, seed: int = 0) -> dict:
    """{"r": {"accuracy", "std", "per_class": [K]}} for images in [-1, 1] (string keys, as in metrics.json).

    A classifier with its own label space (ImageNet's Inception) carries `targets`: label -> its output index."""
    target = evaluator.meta["resolution"]
    wanted = torch.tensor(evaluator.targets)[labels] if getattr(evaluator, "targets", None) else labels
    out = {}
    for r in resolutions:
        logits, _ = evaluator.run(resize_roundtrip(images, r, target))
        correct = logits.argmax(1) == wanted
        per_class = [correct[labels == c].float().mean().item() for c in range(num_classes)]
        out[str(r)] = {"accuracy": correct.float().mean().item(), "std": subset_std(correct, subsets, seed),
                  "per_class": per_class}
    return out


def discriminability(evaluator: Evaluator, fake: torch.Tensor, fake_labels: torch.Tensor, real: torch.Tensor,
                     real_labels: torch.Tensor, model_resolution: int, resolutions: list[int] | None,
                     num_classes: int, seed: int = 0, real_sweep: dict | None = None) -> dict:
    """Both sweeps; `real_sweep` is a cached accuracy_sweep of the same real images."""
    resolutions = sorted(resolutions or default_resolutions(model_resolution))
    gen = accuracy_sweep(evaluator, fake, fake_labels, resolutions, num_classes, seed=seed)
    ref = real_sweep or accuracy_sweep(evaluator, real, real_labels, resolutions, num_classes, seed=seed)
    at_model = gen[str(model_resolution)]["per_class"] if str(model_resolution) in gen else None
    lowest = gen[str(resolutions[0])]["per_class"]
    better = None if at_model is None else sum(a > b for a, b in zip(at_model, lowest)) / num_classes
    return {"resolutions": resolutions, "generated": gen, "real": ref,
            "fraction_classes_better_at_model_than_lowest": better, "resize": RESIZE_RULE,
            "samples": len(fake_labels), "real_samples": len(real_labels)}


@step("discriminability")
def discriminability_step(ctx: EvalContext) -> dict:
    s = ctx.samples
    out = discriminability(ctx.evaluator, s.fake, s.fake_labels, s.real, s.real_labels, s.resolution,
                           ctx.options.resolutions, s.num_classes, s.seed, real_sweep=ctx.real_statistics()["sweep"])
    out["network"] = ctx.evaluator.meta.get("network", "acgan evaluator")
    out["weights_sha256"] = ctx.evaluator.meta.get("weights_sha256")
    return out
