"""Learning-rate schedules: a function of the step alone, so a resumed run takes the same steps as an unbroken one."""
from __future__ import annotations

import torch

SCHEDULES = ("constant", "linear")


def lr_factor(schedule: str, step: int, steps: int) -> float:
    """The multiple of the base learning rate for step `step` (0-based) of `steps`: constant 1, or linear from 1 at
    the first step to 1/steps at the last (SNGAN and the projection cGAN decay this way; a short run ends on small
    steps instead of wherever the last large one threw it)."""
    if schedule == "linear":
        return 1.0 - step / steps
    return 1.0


class LearningRates:
    """Sets each optimiser's rate to its base rate times lr_factor before a step: a float, or written into the
    rate's tensor where a replayed step holds it in one (training/captured.py)."""

    def __init__(self, schedule: str, steps: int, pairs: list[tuple[torch.optim.Optimizer, float]]):
        self.schedule, self.steps, self.pairs = schedule, steps, pairs
        self.rates = {id(opt): base for opt, base in pairs}  # what each optimiser's last step took, as a float

    def current(self, opt: torch.optim.Optimizer) -> float:
        return self.rates[id(opt)]

    def apply(self, step: int) -> None:
        if self.schedule == "constant":
            return
        factor = lr_factor(self.schedule, step, self.steps)
        for opt, base in self.pairs:
            self.rates[id(opt)] = base * factor
            for group in opt.param_groups:
                if torch.is_tensor(group["lr"]):
                    group["lr"].fill_(base * factor)
                else:
                    group["lr"] = base * factor
