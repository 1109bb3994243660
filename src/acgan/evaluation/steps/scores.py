"""IS / FID / KID / precision-recall through torch-fidelity, the TF-faithful port.

Two feature networks, one code path:
- "inception-v3-compat": the 2015 TensorFlow Inception graph (IS from bias-free logits): the numbers papers quote.
  Weights from `--inception-weights PATH` or the torch hub cache; nothing is downloaded here.
- "acgan-evaluator": our domain classifier, registered as a torch-fidelity feature extractor, giving a domain IS
  (its softmax) and domain FID/KID/PR (its penultimate features). Not comparable with published numbers.
Images go in as uint8 [3, H, W] tensors (grayscale repeated to 3 channels); torch-fidelity's conditional-generator
wrapper is not used (it needs numpy's removed np.int).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from ...errors import UserError
from ...io import file_sha256
from ...metrics.prdc import PIXEL_SIZE
from ...pixels import to_uint8, to_unit
from ..context import EvalContext, take_per_class
from ..evaluator.extractor import EVALUATOR_EXTRACTOR, register_evaluator_extractor
from ..evaluator.inception import find_inception_weights
from .registry import step


class Uint8Images(Dataset):
    """[-1, 1] float images (or uint8 ones, as stored) as the uint8 3-channel tensors torch-fidelity takes."""

    def __init__(self, images: torch.Tensor):
        x = images if images.dtype == torch.uint8 else to_uint8(images)
        self.images = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def fidelity_metrics(fake: torch.Tensor, real: torch.Tensor, *, extractor: str, weights: Path, cuda: bool,
                     seed: int = 0, batch_size: int = 200) -> dict:
    """IS of `fake`, and FID / KID / precision-recall of `fake` against `real`: [-1, 1] float or uint8 images."""
    import torch_fidelity

    if extractor == EVALUATOR_EXTRACTOR:
        register_evaluator_extractor()
    n = min(len(fake), len(real))
    out = torch_fidelity.calculate_metrics(
        input1=Uint8Images(fake), input2=Uint8Images(real), isc=True, fid=True, kid=True, prc=True,
        feature_extractor=extractor, feature_extractor_weights_path=str(weights), cuda=cuda, batch_size=batch_size,
        kid_subset_size=min(1000, n), rng_seed=seed, cache=False, verbose=False, save_cpu_ram=True)
    weights_file = Path(weights) / "evaluator.pt" if Path(weights).is_dir() else Path(weights)
    return {"network": extractor, "weights": str(weights), "weights_sha256": file_sha256(weights_file),
            "samples": len(fake), "real_samples": len(real),
            "inception_score": out["inception_score_mean"], "inception_score_std": out["inception_score_std"],
            "fid": out["frechet_inception_distance"], "kid": out["kernel_inception_distance_mean"],
            "kid_std": out["kernel_inception_distance_std"], "precision": out["precision"], "recall": out["recall"],
            "splits": 10, "kid_subset_size": min(1000, n), "prc_neighbourhood": 3, "seed": seed}


def pixel_metrics(fake_pixels: torch.Tensor, real_pixels: torch.Tensor, seed: int = 0) -> dict:
    """FID / KID / precision-recall of fake against real images given as 14 px pixels (pixel_features), the space
    the variety figures use beside the evaluator's: torch-fidelity's formulas and settings on features no classifier
    shaped, so a model cannot look close to real data only because the evaluator ignores what it got wrong."""
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric
    from torch_fidelity.metric_prc import prc_features_to_metric

    f, r = fake_pixels.cpu().double(), real_pixels.cpu().double()
    subset = min(1000, len(f), len(r))
    fid = fid_statistics_to_metric(fid_features_to_statistics(f), fid_features_to_statistics(r), verbose=False)
    kid = kid_features_to_metric(f, r, kid_subset_size=subset, rng_seed=seed, verbose=False)
    prc = prc_features_to_metric(f.float(), r.float(), verbose=False, save_cpu_ram=True)
    return {"space": f"{PIXEL_SIZE} px pixels", "samples": len(f), "real_samples": len(r),
            "fid": fid["frechet_inception_distance"], "kid": kid["kernel_inception_distance_mean"],
            "kid_std": kid["kernel_inception_distance_std"], "precision": prc["precision"],
            "recall": prc["recall"], "kid_subset_size": subset, "prc_neighbourhood": 3, "seed": seed}


@step("domain_metrics", order=60)
def domain_metrics_step(ctx: EvalContext) -> dict:
    """IS, FID, KID and precision/recall with our evaluator as the feature network (domain scores), and FID, KID
    and precision/recall again in 14 px pixels (`pixels`)."""
    ctx.log("domain IS / FID / KID / precision-recall (evaluator features and 14 px pixels, torch-fidelity)")
    s = ctx.samples
    out = fidelity_metrics(s.fake, s.real_uint8, extractor=EVALUATOR_EXTRACTOR,
                           weights=Path(ctx.evaluator.meta["path"]), cuda=ctx.device.type == "cuda", seed=s.seed)
    return {**out, "pixels": pixel_metrics(*ctx.pixels(), s.seed)}


@step("inception", order=70)
def inception_step(ctx: EvalContext) -> dict:
    """The TF-Inception scores when weights are found (or demanded): the only ones comparable with papers."""
    opts, s = ctx.options, ctx.samples
    if opts.inception == "off":
        return {"skipped": "--inception off"}
    try:
        weights = find_inception_weights(opts.inception_weights)
    except UserError as e:
        if opts.inception == "on" or opts.inception_weights:
            raise
        return {"skipped": str(e)}
    k = s.num_classes
    per_class = max(1, opts.inception_samples // k)
    f, _ = take_per_class(s.fake, s.fake_labels, per_class, k, s.seed)
    r, _ = take_per_class(*ctx.real_pool, per_class, k, s.seed)
    ctx.log(f"Inception IS / FID / KID / PR on {len(f)} samples (TF-compatible weights {weights})")
    return fidelity_metrics(f, to_unit(r), extractor="inception-v3-compat", weights=weights,
                            cuda=ctx.device.type == "cuda", seed=s.seed)
