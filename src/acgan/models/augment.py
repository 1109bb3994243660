"""DiffAugment (Zhao et al. 2020): the same random, differentiable augmentation of real and generated images
before every D pass, in D's step and in G's step, so D cannot memorise the real set and G still gets gradients.

Policies (comma-separated in `diffaugment`): color (brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5]),
translation (shift by up to 1/8 of the size, zero padding), cutout (a zeroed square of half the size). Random
parameters come from the global RNG on the images' device, so resume stays bit-identical."""
from __future__ import annotations

import torch
from torch.nn import functional as F

POLICIES = ("color", "translation", "cutout")


def parse_policy(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _rand(x: torch.Tensor, *shape) -> torch.Tensor:
    return torch.rand(len(x), *shape, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor) -> torch.Tensor:
    x = x + (_rand(x, 1, 1, 1) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, 1, 1, 1) * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_rand(x, 1, 1, 1) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (n, 1, 1), device=x.device)
    iy = torch.arange(h, device=x.device).view(1, h, 1) + dy  # source row of each output row
    ix = torch.arange(w, device=x.device).view(1, 1, w) + dx
    padded = F.pad(x, [1, 1, 1, 1])  # one zero border; indices outside the image read it
    iy, ix = (iy + 1).clamp(0, h + 1), (ix + 1).clamp(0, w + 1)
    flat = padded.flatten(2)  # [N, C, (h+2)(w+2)]
    idx = (iy * (w + 2) + ix).expand(n, h, w).flatten(1)  # [N, h*w]
    return flat.gather(2, idx.unsqueeze(1).expand(-1, x.shape[1], -1)).view_as(x)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = cy - ch // 2, cx - cw // 2  # the square may hang over the border, as in the paper's code
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


FUNCTIONS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: list[str]) -> torch.Tensor:
    for name in policy:
        x = FUNCTIONS[name](x)
    return x
