"""Discriminator rejection for an ADC-GAN run (Azadi et al. 2019, in its simplest form): each sample is the best of
POOL candidates by the run's D, then the whole of `acgan evaluate` judges the samples (acgan.evaluate on a callable).
The score is D's source logit (`source`), ADC's real-class minus generated-class logit of the sample's class (`adc`),
or their sum (`both`). D runs in train mode, on batch statistics of shuffled generated batches, as it saw them in
training. POOL 1 is the run's own samples (the same numbers as `acgan evaluate RUN`). Measured on the demo:
research/notes/2026-11-recipe-search.md, "Nor letting D choose among G's samples".

usage: .venv/bin/python research/scripts/d-rejection.py RUN OUT [--pool 2] [--score adc]
"""
import argparse

import torch

import acgan
from acgan.losses import build_loss
from acgan.models import build_models
from acgan.rundir import RunDir

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("run")
parser.add_argument("out")
parser.add_argument("--pool", type=int, default=2)
parser.add_argument("--score", choices=("source", "adc", "both"), default="adc")
args = parser.parse_args()

run = RunDir(args.run)
record = run.read()
cfg, info = run.train_config(record), record.data
if cfg.loss != "adc":
    parser.error(f"the run's loss is {cfg.loss}; this script reads ADC-GAN's class head")
loss = build_loss(cfg)
ckpt, _ = run.load_checkpoint(None)
G, D = build_models(cfg, info["channels"], info["resolution"], info["num_classes"],
                    loss.class_outputs(info["num_classes"]), loss.class_proxies)
G.load_state_dict(ckpt.get("G_ema", ckpt["G"]))
D.load_state_dict(ckpt["D"])
G.eval(), D.train().requires_grad_(False)
gen = torch.Generator().manual_seed(1234)


@torch.no_grad()
def score(x, y):
    order = torch.randperm(len(x), generator=gen)  # batches that mix the classes, as in training
    src, cls = map(torch.cat, zip(*(D(x[i]) for i in order.split(cfg.batch_size))))
    rows = torch.arange(len(y))
    adc = cls[rows, 2 * y[order]] - cls[rows, 2 * y[order] + 1]
    s = {"source": src, "adc": adc, "both": src + adc}[args.score]
    out = torch.empty_like(s)
    out[order] = s
    return out


@torch.no_grad()
def best_of_pool(labels, z):
    n = len(labels)
    zs = torch.cat([z] + [torch.randn(n, z.shape[1], generator=gen) for _ in range(args.pool - 1)])
    ys = labels.repeat(args.pool)
    x = G(zs, ys)
    pick = score(x, ys).view(args.pool, n).argmax(0)
    return x.view(args.pool, n, *x.shape[1:])[pick, torch.arange(n)]


acgan.evaluate(best_of_pool, cfg, args.out, z_dim=cfg.z_dim)
