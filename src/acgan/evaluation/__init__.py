"""Evaluation: the paper's analyses as named steps (pipeline.STEPS) over generated and real samples.

The modules below register their steps on import, so the registry is whole whenever this package is loaded."""
from . import class_diversity, discriminability, diversity, fidelity, figures, joint, overfit, sample_quality  # noqa: F401
