"""A Markdown table of `acgan experiment recipes` results (docs/results/family.md): mean over seeds, range in brackets.

Usage: python research/scripts/family-table.py OUT/results.json
"""
import json
import sys


def cell(stat: dict, fmt: str) -> str:
    if stat["min"] == stat["max"]:
        return format(stat["mean"], fmt)
    return f"{format(stat['mean'], fmt)} [{format(stat['min'], fmt)}-{format(stat['max'], fmt)}]"


def main(path):
    r = json.load(open(path))
    print(f"{r['dataset']}, {r['minutes']} min of training per model, seeds {r['seeds']}, "
          f"{r['samples_per_class']} samples per class, evaluator test accuracy {r['evaluator_test_accuracy']:.4f}\n")
    print("| recipe | steps | accuracy | weakest class ratio | mean ratio | MS-SSIM | domain FID | KID | collapsed "
          "classes | minutes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in r["rows"]:
        weakest = sorted({run["weakest_class"] for run in row["runs"]})
        print(f"| {row['recipe']} | {row['steps']} | {cell(row['accuracy'], '.3f')} | "
              f"{cell(row['min_ratio'], '.2f')} ({', '.join(weakest)}) | {cell(row['mean_ratio'], '.2f')} | "
              f"{cell(row['mean_ms_ssim'], '.3f')} | {cell(row['fid'], '.1f')} | {cell(row['kid'], '.3f')} | "
              f"{cell(row['collapsed_classes'], '.1f')} | {row['train_seconds']['mean'] / 60:.1f} |")


if __name__ == "__main__":
    if len(sys.argv) != 2 or {"-h", "--help"} & set(sys.argv[1:]):
        sys.exit(__doc__)
    main(sys.argv[1])
