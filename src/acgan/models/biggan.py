"""biggan: the BigGAN residual pair (Brock et al. 2019; ajbrock/BigGAN-PyTorch and PyTorch-StudioGAN's big_resnet) at
32, 64, 128 or 256 px, 1 or 3 channels.

G: z -> Linear to 16ch x 4 x 4 -> one up-block per doubling (conditional BatchNorm, ReLU, nearest upsampling, 3x3
convs, a 1x1 shortcut) -> BN, ReLU, 3x3 conv -> Tanh. Every conditional BatchNorm takes its gain (1 + gamma(y)) and
bias from a shared class embedding (`embed_dim`); with `hierarchical_z` z is cut into one chunk for the Linear and
one per block, each concatenated with the embedding for its block, as in BigGAN.
D: one residual down-block per halving (pre-activation after the first, average pooling, a 1x1 shortcut), then
one more block at the same size, ReLU, global sum pooling, the usual Linear heads.
Channels per block are BigGAN's multipliers (wide at low resolution, narrow at high: CHANNELS) times `g_width` /
`d_width`; a non-local self-attention block (SAGAN) follows the G block and the D block that reach
`attention_res` px (0: none). The 28-32 px `resnet` pair is separate and unchanged.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..kernels import max_pool2x
from .blocks import DownBlock, SumPool, UpBlock
from .common import Discriminator, ModuleSampling
from .registry import ArchSpec, register

# resolution -> (G's multipliers in -> out per block, D's out per block); D's first block takes the image
CHANNELS = {
    32: ((4, 4, 4), (4, 4, 4), (4, 4, 4, 4)),
    64: ((16, 16, 8, 4), (16, 8, 4, 2), (1, 2, 4, 8, 16)),
    128: ((16, 16, 8, 4, 2), (16, 8, 4, 2, 1), (1, 2, 4, 8, 16, 16)),
    256: ((16, 16, 8, 8, 4, 2), (16, 8, 8, 4, 2, 1), (1, 2, 4, 8, 8, 16, 16)),
}
RESOLUTIONS = tuple(CHANNELS)


class SelfAttention(nn.Module):
    """SAGAN's non-local block: 1x1 query, key and value maps (keys and values max-pooled 2x2), softmax attention,
    a 1x1 output map, added to the input with a learned weight that starts at 0."""

    def __init__(self, channels: int):
        super().__init__()
        key, value = max(1, channels // 8), max(1, channels // 2)  # narrow CPU-sized nets keep at least one channel
        self.theta = nn.Conv2d(channels, key, 1, bias=False)
        self.phi = nn.Conv2d(channels, key, 1, bias=False)
        self.g = nn.Conv2d(channels, value, 1, bias=False)
        self.o = nn.Conv2d(value, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        theta = self.theta(x).flatten(2).transpose(1, 2)          # [B, HW, C/8]
        phi = max_pool2x(self.phi(x)).flatten(2).transpose(1, 2)  # [B, HW/4, C/8]
        g = max_pool2x(self.g(x)).flatten(2).transpose(1, 2)      # [B, HW/4, C/2]
        # softmax(theta phi^T) g, SAGAN's unscaled product, as one fused kernel: the [HW, HW/4] map is never stored
        # whole, which is where a CPU step's time and memory went at 32 px (docs/benchmarks.md)
        out = F.scaled_dot_product_attention(theta, phi, g, scale=1.0)  # [B, HW, C/2]
        return x + self.gamma * self.o(out.transpose(1, 2).reshape(b, -1, h, w))


class BigGANGenerator(ModuleSampling, nn.Module):
    def __init__(self, num_classes: int, z_dim: int, channels: int, resolution: int, width: int, embed_dim: int,
                 attention_res: int = 0, hierarchical_z: bool = False):
        super().__init__()
        g_in, g_out, _ = CHANNELS[resolution]
        self.z_dim, self.num_classes, self.hierarchical = z_dim, num_classes, hierarchical_z
        blocks = len(g_in)
        # hierarchical z: (blocks + 1) equal chunks (any remainder goes to the Linear's), else z feeds the Linear
        self.chunk = z_dim // (blocks + 1) if hierarchical_z else 0
        cond_dim = embed_dim + self.chunk
        self.embed = nn.Embedding(num_classes, embed_dim)  # shared by every conditional BatchNorm
        self.start = g_in[0] * width
        self.fc = nn.Linear(z_dim - blocks * self.chunk, self.start * 4 * 4)
        self.blocks = nn.ModuleList(UpBlock(i * width, o * width, cond_dim) for i, o in zip(g_in, g_out))
        self.attention = nn.ModuleDict({str(k): SelfAttention(g_out[k] * width) for k in range(blocks)
                                        if 4 * 2 ** (k + 1) == attention_res})
        self.out = nn.Sequential(nn.BatchNorm2d(g_out[-1] * width), nn.ReLU(), nn.Conv2d(g_out[-1] * width, channels, 3,
                                                                                          padding=1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        e = self.embed(labels)
        if self.hierarchical:
            # sizes from the constructor, not z.shape: a traced (ONNX) graph then keeps every channel count fixed
            first, *chunks = torch.split(z, [self.fc.in_features] + [self.chunk] * len(self.blocks), dim=1)
            conds = [torch.cat([e, c], 1) for c in chunks]
        else:
            first, conds = z, [e] * len(self.blocks)
        h = self.fc(first).view(-1, self.start, 4, 4)  # -1: an ONNX export keeps the batch free
        for k, (block, y) in enumerate(zip(self.blocks, conds)):
            h = block(h, y)
            if str(k) in self.attention:
                h = self.attention[str(k)](h)
        return self.out(h)


def biggan_discriminator(channels: int, resolution: int, class_outputs: int, width: int,
                         attention_res: int = 0) -> Discriminator:
    _, _, d_out = CHANNELS[resolution]
    halvings = int(math.log2(resolution // 4)) if resolution > 32 else 2  # 32 px: two halvings to 8 x 8
    layers, c_in, size = [], channels, resolution
    for k, mult in enumerate(d_out):
        down = k < halvings
        layers.append(DownBlock(c_in, mult * width, down, first=k == 0))
        c_in, size = mult * width, size // 2 if down else size
        if size == attention_res:
            layers.append(SelfAttention(c_in))
            attention_res = 0  # once, after the first block at that size
    return Discriminator(nn.Sequential(*layers, SumPool()), c_in, class_outputs)


def default_resolution(native: int) -> int:
    """The largest of 32, 64, 128, 256 px at or below the data's size (32 for smaller data)."""
    return max([r for r in RESOLUTIONS if r <= native] or [32])


register(ArchSpec(
    "biggan", "BigGAN residual pair at 32, 64, 128 or 256 px: BigGAN's channel multipliers x g_width / d_width, "
              "self-attention at attention_res, hierarchical z",
    lambda cfg, cond, c, r: BigGANGenerator(cond.num_classes, cfg.z_dim, c, r, cfg.g_width, cfg.embed_dim,
                                            cfg.attention_res, cfg.hierarchical_z),
    lambda cfg, c, r, k: biggan_discriminator(c, r, k, cfg.d_width, cfg.attention_res),
    default_resolution=default_resolution, divisor=32, resolutions=RESOLUTIONS,
    reads=("attention_res", "hierarchical_z")))
