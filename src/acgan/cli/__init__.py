"""The `acgan` command line: one module per group of commands, all on the group in app.py."""
from . import data, evaluate, experiment, share, train  # noqa: F401 (they add their commands to `main`)
from .app import main

__all__ = ["main"]
