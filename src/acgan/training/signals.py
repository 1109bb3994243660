"""SIGINT and SIGTERM during training (Ctrl-C, cluster pre-emption): finish the step, checkpoint, stop cleanly.

The first signal only sets a flag that the loop reads after each step; under torchrun the ranks agree on it (a
one-number all-reduce per step, on the host: distributed.host_group), so every rank stops after the same step. A
second signal ends the process at once with the signal's own status."""
from __future__ import annotations

import os
import signal
import threading

import torch
import torch.distributed as dist

from .distributed import host_group

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self):
        self.signum: int | None = None
        self._previous: dict = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():  # handlers can only be set there
            for s in SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:  # the second signal: no more waiting
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        self.signum = signum

    def requested(self, ctx) -> int | None:
        """The signal to stop on, the same on every rank (the highest any rank received), or None."""
        if not ctx.active:
            return self.signum
        flag = torch.tensor([self.signum or 0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=host_group())
        return int(flag.item()) or None
