"""The training data feed: batch `step` is a pure function of (seed, step), whether the images are held on the
training device or streamed from their prepared store.

Each epoch is a fresh permutation seeded by (seed, epoch), so resuming at any step reproduces the same batches
without saving sampler state; the last partial batch of an epoch is dropped. Under torchrun, rank r of `world`
takes rows [r*B/world, (r+1)*B/world) of each global batch, and a streaming rank reads only those rows.
"""
from __future__ import annotations

import queue
import threading

import torch

from ..data import ImageRows
from ..data.budget import memory_budget
from ..errors import UserError
from ..pixels import to_unit


class BatchOrder:
    """Which rows make batch `step` (this rank's share of the global batch)."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        if n < batch_size:
            raise UserError(f"batch_size {batch_size} is larger than the data set ({n} images): lower --batch-size "
                            "or select more classes")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.per_epoch = n // batch_size
        self.local = batch_size // world
        self.offset = rank * self.local
        self._epoch, self._perm = -1, None

    def rows(self, step: int) -> torch.Tensor:
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm, self._epoch = torch.randperm(self.n, generator=gen), epoch
        start = i * self.batch_size + self.offset
        return self._perm[start:start + self.local]


def as_batch(images_uint8: torch.Tensor, memory_format: torch.memory_format) -> torch.Tensor:
    """Images as read (uint8) as the step takes them: [-1, 1] floats in the run's memory format."""
    return to_unit(images_uint8).contiguous(memory_format=memory_format)


class DeviceBatches:
    """Batches from a uint8 data set held on the device."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, order: BatchOrder, device: torch.device,
                 channels_last: bool):
        self.images, self.labels, self.order, self.device = images.to(device), labels.to(device), order, device
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.streamed = False

    def close(self) -> None:
        pass

    def get(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.take(self.order.rows(step).to(self.device))

    def take(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch of rows `idx` (on the device): a replayed step indexes its fixed row buffer here."""
        return as_batch(self.images[idx], self.memory_format), self.labels[idx]


class StreamedBatches:
    """Batches read from the store by a background thread `depth` steps ahead (into pinned memory on CUDA, copied
    without blocking), while training runs; the same rows, so the same batches, as DeviceBatches."""

    def __init__(self, rows: ImageRows, labels: torch.Tensor, order: BatchOrder, device: torch.device,
                 channels_last: bool, depth: int = 4):
        self.rows, self.labels, self.order, self.device, self.depth = rows, labels, order, device, depth
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.streamed = True
        self._next, self._queue, self._thread, self._stop = None, None, None, threading.Event()

    def _read(self, start: int, order: BatchOrder, out: queue.Queue, stop: threading.Event) -> None:
        step = start
        while not stop.is_set():
            try:
                idx = order.rows(step)
                x = self.rows[idx]
                if self.device.type == "cuda":
                    x = x.pin_memory()
                item = (step, x, self.labels[idx])
            except Exception as e:  # a read error reaches the training loop, not a silent thread
                item = (step, e, None)
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.5)
                    break
                except queue.Full:
                    continue
            step += 1

    def _restart(self, step: int) -> None:
        self.close()
        self._stop = threading.Event()
        order = BatchOrder(self.order.n, self.order.batch_size, self.order.seed)  # the thread's own permutation
        order.local, order.offset = self.order.local, self.order.offset
        self._queue = queue.Queue(maxsize=self.depth)
        self._thread = threading.Thread(target=self._read, args=(step, order, self._queue, self._stop),
                                        name="acgan-batches", daemon=True)
        self._thread.start()
        self._next = step

    def get(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.raw(step)
        return as_batch(x.to(self.device, non_blocking=True), self.memory_format), y.to(self.device)

    def raw(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch `step` as read: uint8 images (pinned on CUDA) and labels, on the host."""
        if step != self._next:
            self._restart(step)
        got, x, y = self._queue.get()
        if isinstance(x, Exception):
            raise x
        self._next = step + 1
        return x, y

    def close(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def __del__(self):
        self.close()


def make_batches(images: ImageRows, labels: torch.Tensor, batch_size: int, seed: int, device: torch.device,
                 channels_last: bool, rank: int = 0, world: int = 1, data_memory_gb: float | None = None):
    """Held on the device when the images fit the memory budget (data_memory_gb, or an automatic share of RAM
    and GPU memory), else streamed from their store."""
    order = BatchOrder(len(images), batch_size, seed, rank, world)
    if images.held or images.nbytes <= memory_budget(data_memory_gb, device):
        return DeviceBatches(images.load(), labels, order, device, channels_last)
    return StreamedBatches(images, labels, order, device, channels_last)
