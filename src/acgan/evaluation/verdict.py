"""The verdicts a person reads first in metrics.json, as one line: for `acgan evaluate`'s last line and the report's
opening paragraph."""
from __future__ import annotations


def verdict(metrics: dict) -> str:
    """Accuracy of the samples (and of real test images), the weakest class's variety against real data's own level
    (the validated measure), the collapsed classes, the domain FID; then the paper's MS-SSIM statistic."""
    res = str(metrics["model_resolution"])
    disc = metrics["discriminability"]
    parts = [f"accuracy of samples {disc['generated'][res]['accuracy']:.4f} (real {disc['real'][res]['accuracy']:.4f})"]
    classes = metrics.get("class_diversity")
    if classes:
        if classes.get("lowest_variety") is not None:
            weakest = min(classes["per_class"], key=lambda r: r["variety"])
            parts.append(f"weakest class {weakest['class']} keeps {weakest['variety']:.2f} of real data's variety")
        parts.append(f"collapsed classes: {', '.join(classes['collapsed_classes']) or 'none'}")
    if metrics.get("domain_metrics"):
        parts.append(f"domain FID {metrics['domain_metrics']['fid']:.2f}")
    parts.append(f"classes below the MS-SSIM threshold {metrics['diversity']['fraction_classes_below_threshold']:.0%}")
    return "; ".join(parts)
