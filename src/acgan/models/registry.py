"""The architecture registry: `arch:` names -> ArchSpec. A module of this package registers its pairs on import."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import UserError
from ..registry import Registry

ARCHS = Registry("architecture")


@dataclass(frozen=True)
class ArchSpec:
    name: str
    summary: str                                    # one line for --help and the docs
    build_generator: Callable                       # (cfg, cond, channels, resolution) -> Generator
    build_discriminator: Callable                   # (cfg, channels, resolution, num_classes) -> Discriminator
    default_resolution: Callable[[int], int]        # the data's native px -> the px it trains at by default
    divisor: int                                    # resolutions must be multiples of this

    def check_resolution(self, resolution: int) -> None:
        if resolution % self.divisor:
            raise UserError(f"{self.name} needs a resolution divisible by {self.divisor}, got {resolution}: "
                            "set --resolution")


def register(spec: ArchSpec) -> ArchSpec:
    return ARCHS.add(spec.name, spec, spec.summary)
