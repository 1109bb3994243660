"""The training data feed: a uint8 data set held on the device, batches as a pure function of (seed, step)."""
from __future__ import annotations

import torch

from ..errors import UserError
from ..pixels import to_unit


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
        x = to_unit(self.images[idx])
        return x.contiguous(memory_format=self.memory_format), self.labels[idx]
