"""The real test images' side of the sweep and of the per-class MS-SSIM: the same for every model of a data set,
so computed once and kept in the cache folder under a hash of everything that decides them."""
from __future__ import annotations

import json

from ..metrics import class_ms_ssim
from .cache import cached, content_key
from .context import EvalContext
from .sweep import RESIZE_RULE, accuracy_sweep


def real_statistics(ctx: EvalContext) -> dict:
    """{"sweep": accuracy_sweep of the real images, "ms_ssim": their class_ms_ssim}, once per evaluation."""
    if "real_stats" not in ctx.memo:
        s, o = ctx.samples, ctx.options
        key = content_key(s.real_uint8, s.real_labels, ctx.classifier.meta, o.resolutions, o.pairs, s.seed,
                          RESIZE_RULE, "ms-ssim-v1")
        raw = cached("real-stats", key, lambda: {
            "sweep": json.dumps(accuracy_sweep(ctx.classifier, s.real, s.real_labels, o.resolutions,
                                               s.num_classes, seed=s.seed)),
            "ms_ssim": json.dumps(class_ms_ssim(s.real, s.real_labels, s.num_classes, o.pairs, s.seed))})
        ctx.memo["real_stats"] = {k: json.loads(v) for k, v in raw.items()}
    return ctx.memo["real_stats"]
