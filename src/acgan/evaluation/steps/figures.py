"""The paper's figures from the sections so far, a strip of samples per class, and the run's training curves."""
from __future__ import annotations

from torchvision.utils import make_grid

from ...pixels import to_zero_one
from ..context import EvalContext
from ..outputs.figures import metric_figures, save_grid, split_training_curves, training_curves
from .registry import step


@step("figures", order=90)
def figures_step(ctx: EvalContext) -> None:
    """The paper's figures from the metrics so far, and the training curves of the run's stats."""
    s = ctx.samples
    m = {"class_names": s.class_names, "model_resolution": s.resolution, **ctx.results}
    metric_figures(m, ctx.out)
    for c in range(s.num_classes):  # the report's per-class table shows a strip of each class's samples
        save_grid(make_grid(to_zero_one(s.fake[s.fake_labels == c][:8]), nrow=8, padding=1), ctx.out.class_strip(c))
    if len(ctx.stats_paths) > 1:  # a class-split run: one set of curves per group model
        split_training_curves(ctx.stats_paths, ctx.out.figure("training_curves"))
    elif ctx.stats_paths:
        training_curves(ctx.stats_paths[0], ctx.out.figure("training_curves"))
