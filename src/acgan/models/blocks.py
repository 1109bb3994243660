"""Residual blocks of the SNGAN / BigGAN family, shared by `resnet` (28-32 px) and `biggan` (32-256 px)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..kernels import upsample2x


class ConditionalBatchNorm(nn.Module):
    def __init__(self, channels: int, embed_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain, self.bias = nn.Linear(embed_dim, channels), nn.Linear(embed_dim, channels)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * (1 + self.gain(e)[:, :, None, None]) + self.bias(e)[:, :, None, None]


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, embed_dim: int):
        super().__init__()
        self.bn1, self.bn2 = ConditionalBatchNorm(c_in, embed_dim), ConditionalBatchNorm(c_out, embed_dim)
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3, padding=1), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = upsample2x(F.relu(self.bn1(x, e)))
        h = self.conv2(F.relu(self.bn2(self.conv1(h), e)))
        return h + self.skip(upsample2x(x))


class DownBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, down: bool, first: bool):
        super().__init__()
        self.down, self.first = down, first
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3, padding=1), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if (c_in != c_out or down) else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))  # the first block sees raw pixels
        if self.first:  # SNGAN's optimised first block: pool, then the 1x1 shortcut
            return F.avg_pool2d(h, 2) + self.skip(F.avg_pool2d(x, 2))
        if self.down:
            return F.avg_pool2d(h, 2) + F.avg_pool2d(self.skip(x), 2)
        return h + self.skip(x)


class SumPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x).sum(dim=(2, 3))
