"""The paper's analyses, one step per file. Every module here registers its step on import, so adding a step is
adding a file (see registry.py for what a step is)."""
import importlib
import pkgutil

from .registry import STEPS, Step, run_steps, step, steps_of

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "registry":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["STEPS", "Step", "run_steps", "step", "steps_of"]
