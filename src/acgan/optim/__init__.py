"""Optimisation pieces below the training loop: learning-rate schedules and what a non-finite step does."""
from .nonfinite import POLICIES as NAN_POLICIES
from .schedule import SCHEDULES

__all__ = ["NAN_POLICIES", "SCHEDULES"]
