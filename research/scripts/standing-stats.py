"""Standing statistics against copied ones, on the same weights (docs/results/family.md, "Standing statistics").

usage: .venv/bin/python research/scripts/standing-stats.py RUN_DIR [BATCHES] [OUT_JSON]

The run's sampling generator (its EMA of G) is evaluated twice by `acgan.evaluate` with the data's default evaluator:
as the checkpoint holds it, and after its BatchNorm statistics are re-estimated over BATCHES (default 16) batches of
the run's batch size, as `standing_stats: BATCHES` does in training. Same weights, same step, same samples' noise:
only the statistics differ. For a run trained without standing_stats the first is "copied from the live G".
"""
import json
import sys
import tempfile
from pathlib import Path

import torch

import acgan
from acgan.rundir import RunDir
from acgan.training.ema import standing_statistics


def summary(m: dict) -> dict:
    res = str(m["model_resolution"])
    rows = m["class_diversity"]["per_class"]
    per = {k: [r[k] for r in rows] for k in ("recall", "coverage", "intra_fid", "distance_ratio")}
    return {"accuracy": m["discriminability"]["generated"][res]["accuracy"], "domain_fid": m["domain_metrics"]["fid"],
            "recall_min": min(per["recall"]), "recall_mean": sum(per["recall"]) / len(rows),
            "coverage_min": min(per["coverage"]), "coverage_mean": sum(per["coverage"]) / len(rows),
            "intra_fid_mean": sum(per["intra_fid"]) / len(rows), "distance_ratio_min": min(per["distance_ratio"]),
            "collapsed": m["class_diversity"]["collapsed_classes"],
            "per_class": {r["class"]: {k: r[k] for k in ("recall", "coverage", "intra_fid")} for r in rows}}


def main():
    run = RunDir(sys.argv[1])
    batches = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    out = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    cfg = run.train_config()
    data = {"dataset": cfg.dataset, "data_dir": cfg.data_dir}
    G = acgan.load_generator(run.path)
    results = {"run": str(run.path), "step": G.step, "batches": batches, "batch_size": cfg.batch_size}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("as_saved", "standing"):
            if name == "standing":
                standing_statistics(G, G.num_classes, G.z_dim, batches, cfg.batch_size,
                                    cfg.seed * 1_000_003 + G.step, torch.device("cpu"))
            m = acgan.evaluate(G, data, Path(tmp) / name, z_dim=G.z_dim, device="cpu", log=lambda msg: None,
                               inception="off")
            results[name] = summary(m)
            s = results[name]
            print(f"{name}: accuracy {s['accuracy']:.4f}, domain FID {s['domain_fid']:.2f}, recall min/mean "
                  f"{s['recall_min']:.3f}/{s['recall_mean']:.3f}, coverage min/mean {s['coverage_min']:.3f}/"
                  f"{s['coverage_mean']:.3f}, intra-FID mean {s['intra_fid_mean']:.2f}, collapsed {s['collapsed']}",
                  flush=True)
    if out:
        out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    if len(sys.argv) < 2 or {"-h", "--help"} & set(sys.argv[1:]):
        sys.exit(__doc__)
    main()
