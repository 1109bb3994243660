"""The two pixel encodings: uint8 [0, 255] as stored and decoded, float [-1, 1] as models see them."""
from __future__ import annotations

import torch


def to_unit(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return images_uint8.float().div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255], rounded to nearest."""
    return ((images.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def to_zero_one(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> float [0, 1] (MS-SSIM's data range and image files' scale)."""
    return images.float() * 0.5 + 0.5
