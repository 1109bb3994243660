"""The paper's resolution sweep (section 4.1): a classifier's accuracy on images resized down to r and back up.

Images are resized bilinearly (antialiased when shrinking) to r x r and back to the classifier's input size, to see
whether the extra resolution carries class information. Accuracies are per class and overall, with the std of the
overall accuracy over `subsets` random equal parts.
"""
from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as TF

RESIZE_RULE = "bilinear, antialiased, down to r and back to the evaluator's input"
# images resized at a time: at twice a 256 px model's size, 500 images are 1.6 GB in float; a multiple of the
# classifiers' own batches (our evaluator 500, Inception 50), so the numbers are those of one pass over all
CHUNK = 500


def default_resolutions(model_resolution: int) -> list[int]:
    """A quarter, half, once and twice the model resolution (the paper's sweep around its 128 px models)."""
    return sorted({max(4, model_resolution // 4), model_resolution // 2, model_resolution, model_resolution * 2})


def resize_roundtrip(images: torch.Tensor, r: int, target: int) -> torch.Tensor:
    x = TF.resize(images, [r, r], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    return TF.resize(x, [target, target], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)


def subset_std(correct: torch.Tensor, subsets: int, seed: int) -> float:
    perm = torch.randperm(len(correct), generator=torch.Generator().manual_seed(seed))
    return torch.stack([c.float().mean() for c in correct[perm].chunk(subsets)]).std().item()


def accuracy_sweep(classifier, images: torch.Tensor, labels: torch.Tensor, resolutions: list[int],
                   num_classes: int, subsets: int = 10, seed: int = 0) -> dict:
    """{"r": {"accuracy", "std", "per_class": [K]}} for images in [-1, 1] (string keys, as in metrics.json).

    A classifier with its own label space (ImageNet's Inception) carries `targets`: label -> its output index."""
    target = classifier.meta["resolution"]
    wanted = torch.tensor(classifier.targets)[labels] if getattr(classifier, "targets", None) else labels
    out = {}
    for r in resolutions:
        logits = torch.cat([classifier.run(resize_roundtrip(chunk, r, target))[0] for chunk in images.split(CHUNK)])
        correct = logits.argmax(1) == wanted
        per_class = [correct[labels == c].float().mean().item() for c in range(num_classes)]
        out[str(r)] = {"accuracy": correct.float().mean().item(), "std": subset_std(correct, subsets, seed),
                       "per_class": per_class}
    return out
