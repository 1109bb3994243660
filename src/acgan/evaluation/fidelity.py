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

from ..errors import UserError
from ..io import file_sha256
from ..pixels import to_uint8, to_unit
from .pipeline import EvalContext, step, take_per_class

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
EVALUATOR_EXTRACTOR = "acgan-evaluator"


class Uint8Images(Dataset):
    """[-1, 1] float images as the uint8 3-channel tensors torch-fidelity takes."""

    def __init__(self, images: torch.Tensor):
        x = to_uint8(images)
        self.images = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def find_inception_weights(path: str | None) -> Path:
    """A local weights file: the given path, else the torch hub cache; a UserError names both otherwise."""
    candidates = [Path(path)] if path else [Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE]
    for c in candidates:
        if c.is_file():
            check_state_dict_file(c)
            return c
    where = f"{path} does not exist" if path else f"no {INCEPTION_FILE} in the torch hub cache ({candidates[0].parent})"
    raise UserError(f"Inception weights not found: {where}; pass --inception-weights PATH to the file "
                    f"{INCEPTION_FILE} (torch-fidelity's TF-compatible weights)")


def check_state_dict_file(path: Path) -> None:
    """torch-fidelity unpickles its weights file in full; refuse any file that is more than tensors first."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"{path} is not a plain weights file ({type(e).__name__}); refusing to unpickle it") from None
    if not isinstance(state, dict):
        raise UserError(f"{path} is not a state_dict")


def random_weights_inception(features: list[str]):
    """torch-fidelity's TF-compatible Inception with its default (random) init and nothing downloaded: for speed
    measurements and for tests that write a weights file of the right layout."""
    from torch_fidelity import feature_extractor_inceptionv3 as tf_inception

    load, url = torch.nn.Module.load_state_dict, tf_inception.load_state_dict_from_url
    torch.nn.Module.load_state_dict = lambda *a, **k: None
    tf_inception.load_state_dict_from_url = lambda *a, **k: {}
    try:
        return tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", features)
    finally:
        torch.nn.Module.load_state_dict, tf_inception.load_state_dict_from_url = load, url


def _register_evaluator_extractor() -> None:
    import torch_fidelity
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
    from torchvision.transforms.v2 import functional as TF

    from .classifier import load_evaluator

    if EVALUATOR_EXTRACTOR in FEATURE_EXTRACTORS_REGISTRY:
        return

    class EvaluatorExtractor(FeatureExtractorBase):
        """uint8 [B, 3, H, W] -> our evaluator's (logits, features); weights path = the evaluator's folder."""

        def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
            super().__init__(name, features_list)
            self.evaluator = load_evaluator(feature_extractor_weights_path)
            self.net = self.evaluator.net

        @staticmethod
        def get_provided_features_list():
            return "logits", "features"

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return {"isc": "logits", "fid": "features", "kid": "features", "prc": "features"}[metric]

        @staticmethod
        def can_be_compiled():
            return False

        def forward(self, x):
            meta = self.evaluator.meta
            x = to_unit(x)
            x = x[:, :1] if meta["channels"] == 1 else x
            if x.shape[-1] != meta["resolution"]:
                x = TF.resize(x, [meta["resolution"]] * 2, antialias=True)
            self.net.eval()
            f = self.net.features(x)
            out = {"logits": self.net.fc(f), "features": f}
            return tuple(out[name] for name in self.features_list)

    torch_fidelity.register_feature_extractor(EVALUATOR_EXTRACTOR, EvaluatorExtractor)


def fidelity_metrics(fake: torch.Tensor, real: torch.Tensor, *, extractor: str, weights: Path, cuda: bool,
                     seed: int = 0, batch_size: int = 200) -> dict:
    """IS of `fake`, and FID / KID / precision-recall of `fake` against `real`, both [-1, 1] image tensors."""
    import torch_fidelity

    if extractor == EVALUATOR_EXTRACTOR:
        _register_evaluator_extractor()
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


@step("domain_metrics")
def domain_metrics_step(ctx: EvalContext) -> dict:
    ctx.log("domain IS / FID / KID / precision-recall (evaluator features, torch-fidelity)")
    s = ctx.samples
    return fidelity_metrics(s.fake, s.real, extractor=EVALUATOR_EXTRACTOR,
                            weights=Path(ctx.domain_evaluator.meta["path"]), cuda=ctx.device.type == "cuda",
                            seed=s.seed)


@step("inception")
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
