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
    resolutions: tuple | None = None                # or, when given, one of these
    # D's last Linear drawn with std 1/sqrt(fan in) instead of init_std: for a head on tens of thousands of
    # features, where N(0, 0.02) starts the logits saturated (paper-imagenet)
    fan_in_head: bool = False
    reads: tuple = ()                               # config keys only some architectures read (model cards show
                                                    # a key only for an architecture that names it here)

    def check_resolution(self, resolution: int) -> None:
        if self.resolutions and resolution not in self.resolutions:
            raise UserError(f"{self.name} trains at {', '.join(map(str, self.resolutions))} px, not {resolution}: "
                            "set --resolution")
        if resolution % self.divisor:
            raise UserError(f"{self.name} needs a resolution divisible by {self.divisor}, got {resolution}: "
                            "set --resolution")


def register(spec: ArchSpec) -> ArchSpec:
    return ARCHS.add(spec.name, spec, spec.summary)
