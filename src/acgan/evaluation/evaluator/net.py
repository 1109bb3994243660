"""The evaluator's network: a classifier trained on a data set's real training split.

It stands in for the paper's pretrained Inception on data whose classes are not ImageNet classes: its accuracy on
generated images (discriminability), its softmax (a domain Inception Score) and its penultimate features (domain
FID/KID, diversity). store.py saves, finds and loads it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ...device import autocast
from ...kernels import MaxPool2x
from ...pixels import to_unit
from ...progress import progress as progress_bar

EVALUATOR_EPOCHS = 4  # the fewest epochs `acgan train-classifier` and evaluators trained on first use run
MIN_STEPS = 750       # what 4 epochs of batch 256 give on CIFAR-10 (780) and Fashion-MNIST (936)
WORK = MIN_STEPS * 256  # the images at 32 px those steps see: more epochs never cost more than that
NET_VERSION = 2       # evaluators saved by another version of EvalNet are retrained, never misread


class EvalNet(nn.Module):
    """Conv stages (conv, BN, ReLU): one at full size, then one after each 2x2 max-pool until the map is 7-8 px
    (two pools at 28-32 px, one more per doubling above: `extra_stages`), the last at 4 x width channels; that map
    averaged to 7 x 7 and flattened, then a hidden layer: `features` is that layer's `hidden` values (the space of
    domain FID, PRDC, diversity). So a 64, 128 or 256 px image reaches the flatten at the size a 32 px one does.

    Sized for speed on a 2-core CPU: keeping the map's layout (flatten, not global pooling) is what lets it learn
    Fashion-MNIST to 92% in a few epochs (docs/benchmarks.md)."""

    def __init__(self, channels: int, num_classes: int, width: int = 16, hidden: int = 256, extra_stages: int = 0):
        super().__init__()

        def stage(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        w = width
        extra = [layer for _ in range(extra_stages) for layer in (*stage(2 * w, 2 * w), MaxPool2x())]
        self.body = nn.Sequential(*stage(channels, w), MaxPool2x(), *stage(w, 2 * w), MaxPool2x(), *extra,
                                  *stage(2 * w, 4 * w), nn.AdaptiveAvgPool2d(7), nn.Flatten(),
                                  nn.Linear(49 * 4 * w, hidden), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(hidden, num_classes)
        self.feature_dim = hidden
        self.shape = {"net": NET_VERSION, "width": width, "hidden": hidden, "extra_stages": extra_stages}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.features(x)))


def evaluator_schedule(n: int, resolution: int, epochs: int | None = None) -> tuple[int, int]:
    """(epochs, batch size) for n training images at `resolution` px: 4 epochs of batch 256 on data sets as large as
    CIFAR-10; on smaller ones a batch of n / 25 (at least 32) and epochs enough for 750 steps, as long as they cost
    no more than those 750 steps of 256 images at 32 px (at 900 images 4 epochs of 256 were 12 steps: a classifier
    at chance level, judging every sample). `epochs` given: those epochs, the same batch."""
    batch = max(1, min(256, n, max(32, n // 25)))
    if epochs is not None:
        return epochs, batch
    per_epoch = max(1, n // batch)
    affordable = int(WORK / (n * max(1.0, resolution / 32) ** 2))
    return max(EVALUATOR_EPOCHS, min(math.ceil(MIN_STEPS / per_epoch), affordable)), batch


def extra_stages_for(resolution: int) -> int:
    """Pooled stages beyond the two a 28-32 px image gets: one per doubling above that."""
    return max(0, int(math.log2(resolution / 28)))


@dataclass
class Evaluator:
    net: EvalNet
    meta: dict  # dataset, class_names, resolution, channels, test_accuracy, ...

    @torch.no_grad()
    def run(self, images: torch.Tensor, batch: int = 500, precision: str = "fp32") -> tuple[torch.Tensor, torch.Tensor]:
        """(logits [N, K], features [N, D]) in fp32 for images in [-1, 1] (or uint8 ones, converted a batch at a
        time); other sizes are resized (antialiased) to the evaluator's resolution first."""
        self.net.eval()
        dev = next(self.net.parameters()).device
        size = self.meta.get("resolution")
        logits, feats = [], []
        for chunk in images.split(batch):
            if chunk.dtype == torch.uint8:
                chunk = to_unit(chunk)
            if size and chunk.shape[-1] != size:
                from torchvision.transforms.v2 import functional as TF
                chunk = TF.resize(chunk.float(), [size, size], antialias=True)
            with autocast(dev, precision):
                f = self.net.features(chunk.to(dev).float())
                logits.append(self.net.fc(f).float().cpu())
            feats.append(f.float().cpu())
        return torch.cat(logits), torch.cat(feats)


def train_evaluator(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
                    *, num_classes: int, epochs: int | None = None, lr: float = 3e-3, width: int = 16,
                    seed: int = 0, precision: str = "fp32", progress: bool = True) -> tuple[EvalNet, float, int]:
    """Train on uint8 images (no augmentation: a few epochs learn more from clean images) on `evaluator_schedule`;
    (net, test accuracy, epochs)."""
    torch.manual_seed(seed)
    epochs, batch_size = evaluator_schedule(len(train_x), train_x.shape[-1], epochs)
    net = EvalNet(train_x.shape[1], num_classes, width, extra_stages=extra_stages_for(train_x.shape[-1]))
    net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    steps = epochs * (len(train_x) // batch_size)
    # a quarter of the steps warm up; at least two, so tiny data sets (a few steps in all) keep a valid schedule
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 4),
                                                pct_start=max(0.25, 2 / max(steps, 4)))
    gen = torch.Generator().manual_seed(seed)
    dev = torch.device("cpu")
    bar = progress_bar(steps, "train classifier", "step", enabled=progress)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(train_x), generator=gen)
        for i in range(len(train_x) // batch_size):
            idx = perm[i * batch_size:(i + 1) * batch_size]
            x = to_unit(train_x[idx]).contiguous(memory_format=torch.channels_last)
            with autocast(dev, precision):
                loss = F.cross_entropy(net(x).float(), train_y[idx], label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
            if i % 50 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    logits, _ = Evaluator(net, {}).run(to_unit(test_x), precision=precision)
    return net, (logits.argmax(1) == test_y).float().mean().item(), epochs
