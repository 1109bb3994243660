"""Wall time in training: grids on the clock as well as every `sample_every` steps, and the time budget of
`acgan train --minutes` (docs/training.md#a-time-budget).

The budget does not stop a run planned for some other number of steps: it makes the run's `steps` the step the
clock will reach, estimated from the speed so far, again every REPLAN of the budget, and the step reached at the
deadline. What follows `steps` (a linear learning-rate schedule, the loop's end, config.json) then ends where the
run ends. One estimate alone would leave the schedule short of its end, or end the run early, whenever the speed
drifts (another process on the machine, a slower disk for checkpoints); each new one moves the end by a little."""
from __future__ import annotations

import time

import torch
import torch.distributed as dist

from ..progress import duration
from ..rundir import RunRecord
from .distributed import host_group

now = time.monotonic  # the clock of grids and budget alike; tests replace it

GRID_EVERY_S = 300.0  # a grid at least every 5 minutes of training, however long sample_every steps take
WARMUP, WARMUP_MAX_S = 0.05, 60.0  # of the budget, before the estimate the log tells
REPLAN = 0.05  # of the budget, between estimates
UNPLANNED = 2 ** 62  # the run's steps until the first estimate: never reached


class TimeBudget:
    def __init__(self, minutes: float):
        self.minutes, self.seconds = minutes, minutes * 60
        self.deadline = self.warm = self.next_plan = self.mark = self.rate = None
        self.first_step, self.told, self.planned = 0, False, None

    def begin(self, step: int) -> None:
        t = now()
        self.deadline, self.first_step = t + self.seconds, step
        self.next_plan, self.warm = t, t + min(WARMUP * self.seconds, WARMUP_MAX_S)

    def steps(self, step: int) -> int | None:
        """After step `step`: the run's new total of steps when it is time to set one, else None. The first comes
        from the second step's speed alone, so that a resumed run's schedule is about right from the start; the
        next at the end of the warm-up."""
        t = now()
        if t >= self.deadline:
            return step
        if self.mark is None or t <= self.mark[0] or step == self.mark[1]:
            self.mark = self.mark or (t, step)  # the first step's one-off costs (compiling, allocating) stay out
            return None
        if t < self.next_plan and (self.planned is None or step < self.planned):
            return None  # (an estimate reached with time left is made again at once: the run ends at its deadline)
        self.rate = (step - self.mark[1]) / (t - self.mark[0])
        self.next_plan = t + REPLAN * self.seconds if t >= self.warm else min(t + REPLAN * self.seconds, self.warm)
        self.planned = step + max(1, int(self.rate * (self.deadline - t)))
        return self.planned

    def news(self, steps: int) -> str | None:
        """The line for the log, once: the first estimate after the warm-up."""
        if self.told or now() < self.warm or self.rate is None:
            return None
        self.told = True
        return (f"--minutes {self.minutes:g}: about {steps - self.first_step} steps at {self.rate:.3g} steps/s; "
                f"training to step {steps}")

    def follow(self, trainer, run, log, bar) -> None:
        """After each step of `trainer`: the newest estimate as its steps, for the schedule, the loop's end, the
        progress bar and config.json."""
        steps = agree(self.steps(trainer.step), trainer.dist)
        if steps is None:
            return
        if steps != trainer.cfg.steps:
            trainer.cfg.steps = trainer.rates.steps = bar.total = steps
            if trainer.dist.is_main:
                run.write(RunRecord(trainer.config_as_run(), trainer.data_record))
        news = self.news(steps)
        if news:
            log(news)

    def spent(self, step: int, path) -> str:
        return (f"--minutes {self.minutes:g} spent at step {step}: checkpoint saved; continue with `acgan train "
                f"--resume {path} --minutes M` (or --steps N, a new total)")


class Forecast:
    """Once, near a run's start: how long the steps left take at the speed of its first steps, and on a CPU, where
    that is hours, what would be faster. The first step's one-off costs (allocating, a compile) stay out."""
    STEPS, SECONDS, HOURS = 20, 20.0, 3600.0  # measured over 20 steps or 20 s, whichever comes first

    def __init__(self, steps: int, device_type: str, resolution: int = 0, arch: str = ""):
        self.steps, self.device_type, self.mark, self.done = steps, device_type, None, False
        # the CPU recipe for 64 px and above (a run of it that takes hours is told the other ways)
        self.preset = ("--preset small-64-cpu" if resolution >= 64 and arch != "dcgan-small"
                       else "a CPU preset (docs/training.md)")

    def after(self, step: int) -> str | None:
        t = now()
        if self.done or step >= self.steps:
            return None
        if self.mark is None:
            self.mark = (t, step)
            return None
        if step - self.mark[1] < self.STEPS and t - self.mark[0] < self.SECONDS:
            return None
        self.done = True
        rate = (step - self.mark[1]) / max(t - self.mark[0], 1e-9)
        left = (self.steps - step) / rate
        line = f"at {rate:.3g} steps/s the {self.steps - step:,} steps left take about {duration(left)}"
        if left > self.HOURS and self.device_type == "cpu":
            line += (f"; faster on a CPU: {self.preset}, a smaller --resolution, or --minutes N for a time budget; "
                     "or a GPU (--device cuda)")
        return line


def agree(value: int | None, ctx) -> int | None:
    """Rank 0's `value` on every rank under torchrun (a budget read from each rank's own clock would differ), on
    the host (distributed.host_group)."""
    if not ctx.active:
        return value
    shared = torch.tensor([-1 if value is None else value])
    dist.broadcast(shared, 0, group=host_group())
    return None if shared.item() < 0 else int(shared.item())
