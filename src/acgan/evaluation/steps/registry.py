"""The step registry (stylegan2-ada's metric registry, small): a step is one function in one file of this folder.

`@step(name, order, commands)` registers it: `name` is its section's key in metrics.json (a step that only writes
figures returns None and adds no section), `order` places it among the others (a step reads the sections of the
steps before it), `commands` says which of `evaluate` and `check` run it; experiments may ask for any step by name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...registry import Registry
from ..context import EvalContext

STEPS = Registry("evaluation step")
COMMANDS = ("evaluate", "check")


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[EvalContext], dict | None]
    order: int
    commands: tuple[str, ...]


def step(name: str, order: int, commands: tuple[str, ...] = ("evaluate",)):
    unknown = set(commands) - set(COMMANDS)
    if unknown:
        raise ValueError(f"step '{name}': unknown commands {sorted(unknown)}; use {COMMANDS}")

    def add(fn):
        summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        STEPS.add(name, Step(name, fn, order, tuple(commands)), summary or name)
        return fn
    return add


def steps_of(command: str) -> list[str]:
    """The steps `command` runs, in order."""
    return [s.name for s in sorted(STEPS.values(), key=lambda s: (s.order, s.name)) if command in s.commands]


def run_steps(names: list[str], ctx: EvalContext) -> dict:
    """Run the named steps in their registered order; each section lands in ctx.results under the step's name."""
    for s in sorted((STEPS[n] for n in names), key=lambda s: (s.order, s.name)):
        out = s.run(ctx)
        if out is not None:
            ctx.results[s.name] = out
    return ctx.results
