"""Our evaluator as a torch-fidelity feature extractor: domain IS (its softmax) and domain FID / KID /
precision-recall (its penultimate features) through the same code path as the TF-Inception numbers."""
from __future__ import annotations

from ...pixels import to_unit
from .store import load_evaluator

EVALUATOR_EXTRACTOR = "acgan-evaluator"


def register_evaluator_extractor() -> None:
    import torch_fidelity
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
    from torchvision.transforms.v2 import functional as TF


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
