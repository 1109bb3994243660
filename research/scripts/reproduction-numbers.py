"""The paper's findings, read from the metrics.json of evaluated runs, as a Markdown table
(docs/results/reproduction.md).

Usage: python research/scripts/reproduction-numbers.py NAME=RUN_DIR [NAME=RUN_DIR ...]   (after `acgan evaluate`)
"""
import json
import sys
from pathlib import Path

PAPER = {
    "accuracy at the model's resolution (real data)": "10.1% (real ImageNet 81% at 128 px)",
    "accuracy resized to 1/2 and 1/4 of the model's resolution": "7.0%, 5.0%",
    "classes more discriminable at full resolution than at 1/4": "84.4%",
    "real data's least diverse class (MS-SSIM threshold)": "0.25",
    "classes below the threshold (more diverse than the least diverse real class)": "84.7%",
    "mean std of per-class MS-SSIM, samples (real)": "0.08 (0.06)",
    "correlation of per-class accuracy and MS-SSIM (r)": "-0.16 (reported as r^2)",
    "diverse classes with accuracy > 1%": "78%",
    "collapsed classes with accuracy <= 1%": "74%",
    "domain IS / FID / KID (evaluator features)": "(Inception only: IS 8.25 on CIFAR-10)",
}


def findings(m: dict) -> dict:
    d, div, j = m["discriminability"], m["diversity"], m["joint"]
    res = m["model_resolution"]
    by = {int(k): v for k, v in d["generated"].items()}
    real = {int(k): v for k, v in d["real"].items()}
    lower = [r for r in sorted(by) if r < res]
    at = by[res]["accuracy"]
    return {
        "accuracy at the model's resolution (real data)":
            f"{at:.1%} +- {by[res]['std']:.1%} ({real[res]['accuracy']:.1%})",
        "accuracy resized to 1/2 and 1/4 of the model's resolution": ", ".join(
            f"{by[r]['accuracy']:.1%}" for r in reversed(lower)),
        "classes more discriminable at full resolution than at 1/4":
            f"{d['fraction_classes_better_at_model_than_lowest']:.0%}",
        "real data's least diverse class (MS-SSIM threshold)": f"{div['threshold']:.3f}",
        "classes below the threshold (more diverse than the least diverse real class)":
            f"{div['fraction_classes_below_threshold']:.0%}",
        "mean std of per-class MS-SSIM, samples (real)":
            f"{div['mean_std_generated']:.2f} ({div['mean_std_real']:.2f})",
        "correlation of per-class accuracy and MS-SSIM (r)": f"{j['pearson_r']:+.2f}",
        "diverse classes with accuracy > 1%": "n/a (no diverse class)" if j["fraction_diverse_above_accuracy"] is None
        else f"{j['fraction_diverse_above_accuracy']:.0%} of {j['diverse_classes']}",
        "collapsed classes with accuracy <= 1%": "n/a (no class above the threshold)"
        if j["fraction_collapsed_at_or_below_accuracy"] is None
        else f"{j['fraction_collapsed_at_or_below_accuracy']:.0%} of {j['collapsed_classes']}",
        "domain IS / FID / KID (evaluator features)": "{:.2f} / {:.2f} / {:.4f}".format(
            m["domain_metrics"]["inception_score"], m["domain_metrics"]["fid"], m["domain_metrics"]["kid"]),
    }


def main(args):
    runs = dict(a.split("=", 1) for a in args)
    found = {name: findings(json.loads((Path(run) / "metrics.json").read_text())) for name, run in runs.items()}
    print("| finding | paper (ImageNet 128 px unless said) | " + " | ".join(found) + " |")
    print("|---|---|" + "---|" * len(found))
    for key, paper in PAPER.items():
        print(f"| {key} | {paper} | " + " | ".join(f[key] for f in found.values()) + " |")


if __name__ == "__main__":
    if not sys.argv[1:] or {"-h", "--help"} & set(sys.argv[1:]):
        sys.exit(__doc__)
    main(sys.argv[1:])
