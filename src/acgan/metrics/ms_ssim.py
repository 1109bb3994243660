"""MS-SSIM (Wang, Simoncelli, Bovik 2003), batched, one value per image pair, for images from 16 px up.

The standard definition: 5 scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), Gaussian window 11 with
sigma 1.5, K = (0.01, 0.03), valid (unpadded) filtering, 2x2 average pooling between scales (padding odd sizes as
pytorch-msssim does), contrast-structure at every scale and luminance at the coarsest, channels averaged.

Small images (RULE = "shrink-window"): at a scale whose side is smaller than the window, the window shrinks to the
side and sigma shrinks with it (sigma = 1.5 * size / 11), as in the TensorFlow models repository's msssim. Where every
scale is at least 11 px (images of 176 px and more) this is exactly the standard definition, and equals
pytorch-msssim.
"""
from __future__ import annotations

import time

import torch
from torch.nn import functional as F

from ..device import cpu_signature
from ..io import read_choices, write_choices
from ..locations import cache_dir

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WIN_SIZE, SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03
RULE = "shrink-window"  # recorded with every result
MIN_SIZE = 16
CHUNK_BYTES = 8 * 2 ** 20


def protocol() -> dict:
    """The definition's parameters, recorded with every MS-SSIM result."""
    return {"weights": WEIGHTS, "window": WIN_SIZE, "sigma": SIGMA, "K": (K1, K2), "small_image_rule": RULE,
            "pooling": "avg 2x2, odd sizes padded", "filtering": "valid"}


def _gaussian(size: int, sigma: float, dtype, device) -> torch.Tensor:
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def _blur_grouped(x: torch.Tensor, win: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian as two depthwise convolutions over every channel at once."""
    c, size = x.shape[1], len(win)
    x = F.conv2d(x, win.view(1, 1, 1, -1).expand(c, 1, 1, size), groups=c)
    return F.conv2d(x, win.view(1, 1, -1, 1).expand(c, 1, size, 1), groups=c)


def _blur_matmul(x: torch.Tensor, win: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian as two GEMMs with banded matrices: more arithmetic than a convolution, but at the speed of a
    matrix product, which wins on small images. Returns the result transposed in H and W (every later step is
    element-wise or a spatial mean, so the layout does not matter)."""
    n, c, h, w = x.shape
    size = len(win)
    band_w = torch.zeros(w, w - size + 1, dtype=x.dtype, device=x.device)
    band_h = torch.zeros(h, h - size + 1, dtype=x.dtype, device=x.device)
    for band in (band_w, band_h):
        for j in range(band.shape[1]):
            band[j:j + size, j] = win
    rows = (x.reshape(-1, w) @ band_w).view(n, c, h, -1)           # filter along W
    return (rows.transpose(2, 3).reshape(-1, h) @ band_h).view(n, c, w - size + 1, -1)  # then along H


BLURS = {"grouped": _blur_grouped, "matmul": _blur_matmul}
_chosen: dict = {}


def _blur(x: torch.Tensor, size: int) -> torch.Tensor:
    """Separable Gaussian, valid filtering, each channel on its own, by the strategy fastest here for this shape."""
    win = _gaussian(size, SIGMA * size / WIN_SIZE, x.dtype, x.device)
    return BLURS[strategy(tuple(x.shape[1:]), x.device)](x, win)


def strategy(shape: tuple, device) -> str:
    """The blur for [*, C, H, W] maps on `device`: timed once per shape and process on a small batch, the choice
    remembered in the cache folder (per CPU model and torch version) so every run on a machine filters alike."""
    key = f"{torch.device(device).type}:{cpu_signature()}:{'x'.join(map(str, shape))}"
    if key not in _chosen:
        stored = read_choices(_choices_path())
        if key not in stored:
            stored[key] = _time_blurs(shape, device)
            write_choices(_choices_path(), stored)
        _chosen[key] = stored[key] if stored[key] in BLURS else "grouped"
    return _chosen[key]


def _time_blurs(shape: tuple, device) -> str:
    # its own random stream: timing must not move the global one (a run's first monitor check would otherwise
    # train other weights on a machine that has not timed this shape yet)
    x = torch.rand(16, *shape, generator=torch.Generator().manual_seed(0)).to(device)
    win = _gaussian(min(WIN_SIZE, *shape[-2:]), SIGMA, x.dtype, x.device)
    best = {}
    for name, blur in BLURS.items():
        blur(x, win)  # warm-up
        times = []
        for _ in range(3):
            start = time.perf_counter()
            blur(x, win)
            if x.device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        best[name] = min(times)
    return min(best, key=best.get)


def _choices_path():
    return cache_dir() / "ms_ssim_blur.json"


def _ssim_cs(x: torch.Tensor, y: torch.Tensor, data_range: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pair, per-channel mean SSIM and contrast-structure at one scale: [B, C] each."""
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    size = min(WIN_SIZE, x.shape[-1], x.shape[-2])
    n, c = x.shape[:2]
    # one grouped filter pass over the five maps
    stats = _blur(torch.cat([x, y, x * x, y * y, x * y], dim=1), size).view(n, 5, c, -1)  # spatial flattened
    mu1, mu2, xx, yy, xy = stats.unbind(1)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1, s2, s12 = xx - mu1_sq, yy - mu2_sq, xy - mu12
    cs = (2 * s12 + c2) / (s1 + s2 + c2)
    ssim = (2 * mu12 + c1) / (mu1_sq + mu2_sq + c1) * cs
    return ssim.mean(-1), cs.mean(-1)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, weights=WEIGHTS) -> torch.Tensor:
    """MS-SSIM of each pair (x[i], y[i]): [B] values. x, y: [B, C, H, W] with values in [0, data_range]."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ms_ssim needs two [B, C, H, W] tensors of one shape, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    if min(x.shape[-2:]) < MIN_SIZE:
        raise ValueError(f"ms_ssim needs images of at least {MIN_SIZE} px, got {tuple(x.shape[-2:])}: 5 scales "
                         "halve the image 4 times")
    x, y = x.float(), y.float()
    # pairs in chunks whose five stacked maps stay within a CPU cache: at 192 px this doubles the speed
    chunk = max(1, CHUNK_BYTES // (5 * x[0].numel() * x.element_size()))
    if len(x) > chunk and x.device.type == "cpu":
        return torch.cat([_ms_ssim(a, b, data_range, weights) for a, b in zip(x.split(chunk), y.split(chunk))])
    return _ms_ssim(x, y, data_range, weights)


def _ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float, weights) -> torch.Tensor:
    w = torch.tensor(weights, dtype=x.dtype, device=x.device)
    levels = len(weights)
    mcs = []
    for level in range(levels):
        ssim, cs = _ssim_cs(x, y, data_range)
        if level < levels - 1:
            mcs.append(torch.relu(cs))
            pad = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, kernel_size=2, padding=pad)
            y = F.avg_pool2d(y, kernel_size=2, padding=pad)
    stacked = torch.stack(mcs + [torch.relu(ssim)], dim=0)  # [levels, B, C]
    return torch.prod(stacked ** w.view(-1, 1, 1), dim=0).mean(1)
