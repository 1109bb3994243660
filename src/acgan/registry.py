"""A name -> entry table with a one-line summary per entry: data sets, architectures, losses, evaluation steps.

Each package keeps one and fills it as its modules are imported; a name registered twice is a programming error,
refused at once rather than silently replacing the first entry."""
from __future__ import annotations

from .errors import UserError


class Registry(dict):
    def __init__(self, what: str):
        super().__init__()
        self.what = what
        self.summaries: dict[str, str] = {}

    def add(self, name: str, entry, summary: str):
        if name in self:
            raise ValueError(f"{self.what} '{name}' is registered twice")
        if not summary:
            raise ValueError(f"{self.what} '{name}' needs a one-line summary")
        self[name], self.summaries[name] = entry, summary
        return entry

    def pop(self, name, *default):
        self.summaries.pop(name, None)
        return super().pop(name, *default)

    def check(self, name: str) -> None:
        """A UserError naming the valid choices when `name` is not registered."""
        if name not in self:
            raise UserError(f"unknown {self.what} '{name}': choose one of {', '.join(self)}")

    def help(self) -> str:
        """One line per entry, 'name: summary', for --help."""
        return "\n".join(f"  {name}: {self.summaries[name]}" for name in self)
