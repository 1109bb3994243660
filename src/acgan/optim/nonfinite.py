"""Losses or weights that become NaN or infinite (a learning rate too high, a bad batch).

`nan_policy: stop` (default): the loop checks the interval's mean losses at each log line, which is already a host
sync, and every checkpoint's weights before writing it; on a non-finite value it stops with one line naming the
steps and the last good checkpoint, and never writes non-finite weights.
`nan_policy: skip`: a step whose loss is not finite leaves weights and optimiser state unchanged (fused Adam's
found_inf, decided on the device: no host sync) and is counted in stats as skipped_steps. BatchNorm running
statistics of that step's forward pass are not rolled back; the weight check before checkpoints still applies.
"""
from __future__ import annotations

import torch

from ..errors import UserError

POLICIES = ("stop", "skip")


class Diverged(UserError):
    pass


def skip_if_not_finite(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> torch.Tensor:
    """Tell the fused optimiser to skip its next step when `loss` is not finite; returns the 0/1 flag."""
    flag = (~torch.isfinite(loss.detach().float())).float().reshape(())  # 0-d, like Adam's step counts
    optimizer.found_inf = flag
    return flag


def finite(tensors) -> bool:
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all())


def diverged(first: int, last: int, checkpoints: list, what: str = "the losses") -> Diverged:
    good = (f"the last good checkpoint is {checkpoints[-1][1].name} (step {checkpoints[-1][0]})" if checkpoints
            else "there is no checkpoint yet")
    return Diverged(f"training diverged: {what} became NaN or infinite between steps {first} and {last}; {good}: "
                    "lower --set lr_d=... / lr_g=... and --resume, or --set nan_policy=skip to skip such steps")
