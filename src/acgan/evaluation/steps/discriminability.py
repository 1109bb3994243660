"""Discriminability (paper section 4.1): accuracy of samples and of real images resized down to r and back."""
from __future__ import annotations

from ..context import EvalContext
from ..real_stats import real_statistics
from ..sweep import RESIZE_RULE, accuracy_sweep, default_resolutions
from .registry import step


def discriminability(classifier, fake, fake_labels, real, real_labels, model_resolution: int,
                     resolutions: list[int] | None, num_classes: int, seed: int = 0,
                     real_sweep: dict | None = None) -> dict:
    """Both sweeps; `real_sweep` is a cached accuracy_sweep of the same real images (then `real` may be None)."""
    resolutions = sorted(resolutions or default_resolutions(model_resolution))
    gen = accuracy_sweep(classifier, fake, fake_labels, resolutions, num_classes, seed=seed)
    ref = real_sweep or accuracy_sweep(classifier, real, real_labels, resolutions, num_classes, seed=seed)
    at_model = gen[str(model_resolution)]["per_class"] if str(model_resolution) in gen else None
    lowest = gen[str(resolutions[0])]["per_class"]
    better = None if at_model is None else sum(a > b for a, b in zip(at_model, lowest)) / num_classes
    return {"resolutions": resolutions, "generated": gen, "real": ref,
            "fraction_classes_better_at_model_than_lowest": better, "resize": RESIZE_RULE,
            "samples": len(fake_labels), "real_samples": len(real_labels)}


@step("discriminability", order=10)
def discriminability_step(ctx: EvalContext) -> dict:
    """Classifier accuracy of samples and real images at each resolution of the sweep (Fig. 2)."""
    s = ctx.samples
    out = discriminability(ctx.classifier, s.fake, s.fake_labels, None, s.real_labels, s.resolution,
                           ctx.options.resolutions, s.num_classes, s.seed, real_sweep=real_statistics(ctx)["sweep"])
    out["network"] = ctx.classifier.meta.get("network", "acgan evaluator")
    out["weights_sha256"] = ctx.classifier.meta.get("weights_sha256")
    return out
