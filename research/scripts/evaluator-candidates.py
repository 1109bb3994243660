"""Time evaluator network candidates on Fashion-MNIST, side by side on this machine
(research/notes/2026-11-speed-log.md, "The evaluator's shape").

Usage: python research/scripts/evaluator-candidates.py [NAME ...]   (default: all; each trains one seed, prints a line)
"""
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

from acgan.config import TrainConfig
from acgan.data import load_data


def stage(c_in, c_out):
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def pooled(w):
    return nn.Sequential(*stage(1, w), nn.MaxPool2d(2), *stage(w, 2 * w), nn.MaxPool2d(2), *stage(2 * w, 4 * w),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, 10))


def flat(w, hidden):
    return nn.Sequential(*stage(1, w), nn.MaxPool2d(2), *stage(w, 2 * w), nn.MaxPool2d(2), *stage(2 * w, 4 * w),
                         nn.Flatten(), nn.Linear(49 * 4 * w, hidden), nn.ReLU(inplace=True), nn.Dropout(0.3),
                         nn.Linear(hidden, 10))


CANDIDATES = {  # name: (network, epochs, batch, lr)
    "pooled24-3ep": (lambda: pooled(24), 3, 256, 3e-3),
    "flat24-2ep": (lambda: flat(24, 128), 2, 256, 3e-3),
    "flat24-3ep": (lambda: flat(24, 128), 3, 256, 3e-3),
    "flat16-3ep": (lambda: flat(16, 256), 3, 256, 3e-3),
    "flat16-4ep": (lambda: flat(16, 256), 4, 256, 3e-3),
    "flat16-4ep-b128": (lambda: flat(16, 256), 4, 128, 3e-3),
    "flat16-4ep-lr5e-3": (lambda: flat(16, 256), 4, 256, 5e-3),
    "flat16h512-4ep": (lambda: flat(16, 512), 4, 256, 3e-3),
}


def unit(x):
    return x.float().div(127.5).sub(1).contiguous(memory_format=torch.channels_last)


def run(name, train, test):
    make, epochs, bs, lr = CANDIDATES[name]
    torch.manual_seed(0)
    net = make().to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    n = len(train.images) // bs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * n, pct_start=0.25)
    start = time.perf_counter()
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(train.images))
        for i in range(n):
            idx = perm[i * bs:(i + 1) * bs]
            loss = F.cross_entropy(net(unit(train.images[idx])), train.labels[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    seconds = time.perf_counter() - start
    net.eval()
    with torch.no_grad():
        right = sum((net(unit(x)).argmax(1) == y).sum().item()
                    for x, y in zip(test.images.split(1000), test.labels.split(1000)))
    print(f"{name}: {seconds:.0f} s of training, test accuracy {right / len(test.labels):.4f}", flush=True)


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        sys.exit(__doc__)
    cfg = TrainConfig(dataset="fashion-mnist")
    train, test = load_data(cfg, None), load_data(cfg, None, split="test")
    for name in sys.argv[1:] or CANDIDATES:
        run(name, train, test)
