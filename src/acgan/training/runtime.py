"""Device and precision choices, and the data feed that lives on the device."""
from __future__ import annotations

import contextlib
from functools import lru_cache

import torch

from ..errors import UserError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but no CUDA GPU is visible: use --device cpu or auto")
    return torch.device(name)


@lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when the CPU has bf16 matrix instructions (AVX512-BF16 or AMX), where bf16 autocast pays off."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device) -> str:
    """'auto' picks bf16 where the hardware runs it fast (CUDA with bf16, or a CPU with bf16 instructions)."""
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def autocast(device: torch.device, precision: str):
    """bf16 autocast around forward passes; weights, optimiser state and losses stay fp32."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class DeviceBatches:
    """Batches from a uint8 data set held on the device; batch `step` is a pure function of (seed, step).

    Each epoch is a fresh permutation seeded by (seed, epoch), so resuming at any step reproduces the same
    batches without saving sampler state. The last partial batch of an epoch is dropped."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int,
                 device: torch.device, channels_last: bool, rank: int = 0, world: int = 1):
        """Under torchrun, rank r of `world` keeps rows [r*B/world, (r+1)*B/world) of each global batch."""
        if len(images) < batch_size:
            raise UserError(f"batch_size {batch_size} is larger than the data set ({len(images)} images): "
                            "lower --batch-size or select more classes")
        self.images, self.labels = images.to(device), labels.to(device)
        self.batch_size, self.seed, self.device = batch_size, seed, device
        self.per_epoch = len(images) // batch_size
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.local = batch_size // world
        self.offset = rank * self.local
        self._epoch, self._perm = -1, None

    def get(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(len(self.images), generator=gen).to(self.device)
            self._epoch = epoch
        start = i * self.batch_size + self.offset
        idx = self._perm[start:start + self.local]
        x = self.images[idx].float().div_(127.5).sub_(1.0)
        return x.contiguous(memory_format=self.memory_format), self.labels[idx]
