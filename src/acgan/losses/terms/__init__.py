"""Extra loss terms beside the objective: each module of this package registers one on import (base.py's
interface), so adding a term is one file here and its weight's key in config.py."""
import importlib
import pkgutil

from .base import TERMS, Peers, StepView, Term, build_terms, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["TERMS", "Peers", "StepView", "Term", "build_terms", "register"]
