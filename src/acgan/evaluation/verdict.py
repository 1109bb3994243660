"""The verdicts a person reads first in metrics.json, as one line: for `acgan evaluate`'s last line and the report's
opening paragraph."""
from __future__ import annotations

WORDS = ("not learnt", "collapsed", "memorised", "good")  # steps/verdict.py's, in the order of attention


def diagnosis(metrics: dict) -> str:
    """'not learnt (26 not learnt, of 26 classes)' and the like; empty for a metrics.json without a verdict."""
    v = metrics.get("verdict")
    if not v:
        return ""
    k = len(v["per_class"])
    counts = ", ".join(f"{n} {w}" for w, n in v["counts"].items() if n)
    return f"{v['model']} ({counts}, of {k} classes)"


def accuracy_line(metrics: dict) -> str:
    """The samples' accuracy with chance and real test images' beside it."""
    v = metrics.get("verdict")
    if v:
        return (f"accuracy of samples {v['accuracy']:.1%} (chance {v['chance']:.1%}, real test images "
                f"{v['real_accuracy']:.1%})")
    disc, res = metrics["discriminability"], str(metrics["model_resolution"])
    return f"accuracy of samples {disc['generated'][res]['accuracy']:.4f} (real {disc['real'][res]['accuracy']:.4f})"


def paper_comparable(metrics: dict) -> bool:
    """The paper's summary statistics compare models whose samples are their classes; for a model that has not
    learnt them they read as success where there is none."""
    return (metrics.get("verdict") or {}).get("model") != "not learnt"


def key_figures(metrics: dict) -> list[str]:
    """The weakest class's variety against real data's own level (the validated measure), the collapsed classes, the
    domain FID, and the paper's MS-SSIM statistic where it means something."""
    parts = []
    classes = metrics.get("class_diversity")
    if classes:
        if classes.get("lowest_variety") is not None:
            weakest = min(classes["per_class"], key=lambda r: r["variety"])
            parts.append(f"weakest class {weakest['class']} keeps {weakest['variety']:.2f} of real data's variety")
        v = metrics.get("verdict")  # the verdict's word wins: a class not recognised is not learnt
        collapsed = [n for n, w in v["per_class"].items() if w == "collapsed"] if v else classes["collapsed_classes"]
        parts.append(f"collapsed classes: {', '.join(collapsed) or 'none'}")
    if metrics.get("domain_metrics") and "fid" in metrics["domain_metrics"]:
        parts.append(f"domain FID {metrics['domain_metrics']['fid']:.2f}")
    if paper_comparable(metrics) and "diversity" in metrics:
        parts.append(f"classes below the MS-SSIM threshold "
                     f"{metrics['diversity']['fraction_classes_below_threshold']:.0%}")
    return parts


def verdict(metrics: dict) -> str:
    """One line: the diagnosis, the accuracy against chance and real data, the key figures, the next step."""
    parts = [f"verdict: {d}" for d in [diagnosis(metrics)] if d] + [accuracy_line(metrics)] + key_figures(metrics)
    if metrics.get("verdict"):
        parts.append(f"next: {metrics['verdict']['next_step']}")
    return "; ".join(parts)
