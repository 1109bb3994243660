"""Evaluation: the paper's analyses of a class-conditional generator.

- context.py: the options, the samples and what judges them (EvalContext), handed to every step;
- steps/: one analysis per file, registered on import (a new step is a new file there);
- evaluator/: the data set's classifier (network, storage, the Inception bridges);
- run.py (a run: `evaluate`, `check`) and any_generator.py (a folder of samples, a Python callable): the drivers;
- outputs/: figures, the HTML report and its pieces;
- real_stats.py, sweep.py, cache.py: what several steps share.
The measures' validation on generators of known diversity is research, not evaluation: research/diversity/."""
from .context import EvalContext, EvalOptions, SampleSet

__all__ = ["EvalContext", "EvalOptions", "SampleSet"]
