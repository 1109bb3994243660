"""Data-parallel training of one model under torchrun: process group, synchronised BatchNorm, DDP wrapping.

Every rank holds the data set and draws the same global batch (same seed), then keeps its slice: rank r of W takes
rows [r*B/W, (r+1)*B/W) of the global batch of real images, noise and labels. With synchronised BatchNorm the
statistics cover the global batch, and DDP averages the gradients of the per-rank mean losses, so W processes
compute what one process computes on the global batch. Only rank 0 writes files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed import _functional_collectives as funcol

from ..errors import UserError

# how long a collective waits for a silent peer before failing (torch's default is 30 minutes)
PEER_TIMEOUT_S = 300


class PeerLost(UserError):
    """Another training process died or stopped answering; this one stops too, without a traceback."""


def is_peer_failure(error: BaseException) -> bool:
    """A collective that failed because a peer went away (gloo's closed connections, NCCL errors, timeouts)."""
    if isinstance(error, getattr(dist, "DistError", ())):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and any(
        w in text for w in ("gloo", "nccl", "connection closed", "connection reset", "broken pipe", "timed out"))


@dataclass
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def init_distributed(device: torch.device, enabled: bool = True,
                     force: bool = False) -> tuple[DistContext, torch.device]:
    """The process group from torchrun's environment (gloo on CPU, nccl on CUDA); one process without it, or when
    not `enabled` (class-split groups: each rank trains whole models of its own). `force` makes a group of one
    under torchrun too (scripts/gpu-check.sh: NCCL on a machine with one GPU)."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if (world <= 1 and not (force and "RANK" in os.environ)) or not enabled:
        return DistContext(), device
    ctx = DistContext(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", 0)))
    if device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                                timeout=timedelta(seconds=PEER_TIMEOUT_S))
    host_group()  # made now, by every rank at the same point
    return ctx, device


_HOST_GROUP = None


def host_group():
    """A gloo group of every rank beside the training one, for the loop's per-step agreements (a stop signal, a
    time budget's steps) on CPU tensors: with NCCL, reading an agreed device tensor back (`.item()`) would wait for
    the GPU to finish every step's queued work; these wait only for the other ranks' host threads, which DDP's
    gradient all-reduce keeps in step anyway."""
    global _HOST_GROUP
    if _HOST_GROUP is None:
        _HOST_GROUP = dist.new_group(backend="gloo", timeout=timedelta(seconds=PEER_TIMEOUT_S))
    return _HOST_GROUP


CLOSED_A_GROUP = False  # set once this process has torn a process group down (the CLI then exits without destructors)


def close_distributed() -> None:
    """Tear the process group down before the interpreter does: gloo's worker threads still alive at exit abort
    the process ("terminate called without an active exception") after the run has finished."""
    global CLOSED_A_GROUP, _HOST_GROUP
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
        CLOSED_A_GROUP, _HOST_GROUP = True, None


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics cover the batch of every rank, on any backend (gloo included).

    torch's SyncBatchNorm runs on CUDA only; this one all-reduces (sum, sum of squares, count) with the
    differentiable all_reduce of torch.distributed.nn, so gradients flow through the global statistics."""

    def _check_input_dim(self, x):
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-d input, got {x.dim()}-d")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        dims = [0] + list(range(2, x.dim()))
        xf = x.float()
        c = x.shape[1]
        count = torch.full((1,), x.numel() / c, dtype=torch.float32, device=x.device)
        stats = funcol.wait_tensor(
            funcol.all_reduce(torch.cat([xf.sum(dims), (xf * xf).sum(dims), count]), "sum", dist.group.WORLD))
        n = stats[-1]
        mean = stats[:c] / n
        var = stats[c:2 * c] / n - mean * mean
        with torch.no_grad():
            self.num_batches_tracked += 1
            m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
            self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
            self.running_var.mul_(1 - m).add_(var.detach() * n / (n - 1), alpha=m)
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def convert_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm layer synchronised across ranks: torch's SyncBatchNorm on CUDA, GlobalBatchNorm elsewhere."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            new = GlobalBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                  child.track_running_stats)
            new.load_state_dict(child.state_dict())
            setattr(module, name, new.to(device))
        else:
            convert_batchnorm(child, device)
    return module


def local_batch(batch_size: int, ctx: DistContext) -> int:
    if batch_size % ctx.world:
        raise UserError(f"batch_size {batch_size} does not split over {ctx.world} processes: use a multiple of "
                        f"{ctx.world}")
    return batch_size // ctx.world


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)


def gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """Every process's `tensor` (same shape on all), concatenated along the first dimension in rank order; no
    gradient flows back through it."""
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.detach().contiguous())
    return torch.cat(parts)


def average_(tensor: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    if ctx.active:
        dist.all_reduce(tensor)
        tensor /= ctx.world
    return tensor
