"""Exact, faster CPU forms of two torch ops for inference (sampling, the evaluator's forward passes).

On a 2-core CPU, torch 2.14's kernels for these are slow on contiguous (NCHW) tensors: nearest 2x upsampling
748 ms against 78 ms for this expand + reshape (500 x 24 x 32 x 32), and 2x2 max pooling 61 ms against 15 ms for
the maximum of four strided views (500 x 32 x 32 x 32); docs/benchmarks.md. Both give the very same values. With
gradients (whose flow through these forms could break ties differently), on CUDA and in other layouts torch's own
op runs, so training computes exactly what it always did.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _torch_op(x: torch.Tensor) -> bool:
    return x.is_cuda or torch.is_grad_enabled() or not x.is_contiguous()


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling of [N, C, H, W]: F.interpolate(x, scale_factor=2, mode="nearest")."""
    if _torch_op(x):
        return F.interpolate(x, scale_factor=2, mode="nearest")
    n, c, h, w = x.shape
    return x[:, :, :, None, :, None].expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w)


def max_pool2x(x: torch.Tensor) -> torch.Tensor:
    """2x2 max pooling, stride 2, an odd last row or column dropped: F.max_pool2d(x, 2)."""
    if _torch_op(x):
        return F.max_pool2d(x, 2)
    x = x[..., : x.shape[-2] // 2 * 2, : x.shape[-1] // 2 * 2]
    return torch.maximum(torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2]),
                         torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2]))


class MaxPool2x(nn.Module):
    """nn.MaxPool2d(2) through max_pool2x (no parameters: a state_dict is the same with either)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool2x(x)
