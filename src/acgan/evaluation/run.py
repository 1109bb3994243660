"""`acgan evaluate` and `acgan check` of a run: its generator sampled per class, judged by the registered steps."""
from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from ..config import TrainConfig
from ..data import has_test_split, load_data, split_counts
from ..data.sizes import EVALUATE, check_sizes
from ..device import resolve_device
from ..io import atomic_write_json
from ..rundir import RunDir, RunRecord
from ..sampling import load_generator, sample_classes
from ..training.data import check_data_exists
from .context import EvalContext, EvalOptions, SampleSet, take_per_class
from .evaluator import get_evaluator
from .evaluator.inception import all_synsets, load_imagenet_inception
from .steps import run_steps, steps_of
from .sweep import default_resolutions


def real_test_side(cfg: TrainConfig, resolution: int, class_names: list[str], opts: EvalOptions):
    """(the test split, the real test images judged, their labels); refused when a class has too few to measure,
    which is checked before samples are drawn and before the evaluator, which may take minutes to train."""
    k = len(class_names)
    listed = split_counts(cfg, "test", list(class_names))  # files, before decoding them: a class it lacks is 0
    if listed is not None:
        check_sizes(list(class_names), listed, [EVALUATE], "real test images")
    # by name: the test split's folders may hold other classes, or in another order, than the run learnt
    real_all = load_data(replace(cfg, classes=list(class_names)), resolution, split="test")
    real_u8, real_labels = take_per_class(real_all.images, real_all.labels, opts.real_per_class, k, opts.seed)
    check_sizes(list(class_names), torch.bincount(real_labels, minlength=k).tolist(), [EVALUATE], "real test images")
    return real_all, real_u8, real_labels


def build_context(fake, fake_labels, class_names: list[str], record: RunRecord, cfg: TrainConfig,
                  opts: EvalOptions, out: Path, log, *, generator=None, stats_paths=(), evaluator=None,
                  imagenet: bool = True, real=None) -> EvalContext:
    """Samples in [-1, 1] of each class (and the generator, when there is one), the real test images of the same
    classes (`real`: real_test_side's, when already taken), the evaluator: ready for steps. `record` describes the
    samples' data as a run's config.json would; `out` is the folder that receives metrics.json and eval/."""
    device = resolve_device(opts.device)
    res = fake.shape[-1]
    opts = replace(opts, resolutions=sorted(opts.resolutions or default_resolutions(res)))
    real_all, real_u8, real_labels = real or real_test_side(cfg, res, class_names, opts)
    if not has_test_split(cfg):
        log("the data has no test split: its training images stand in for real test images, so the overfitting "
            "checks compare samples with the very images G learnt from (a test/ folder beside train/ separates them)")
    evaluator = evaluator or get_evaluator(opts.evaluator, record, cfg, seed=opts.seed, log=log)
    classifier = evaluator
    if imagenet and all_synsets(class_names):  # ImageNet classes: the paper's own network judges them
        classifier = load_imagenet_inception(class_names, opts.imagenet_weights, opts.imagenet_synsets)
    return EvalContext(SampleSet(fake, fake_labels, real_u8, real_labels, list(class_names), opts.seed),
                       classifier, evaluator, opts, log, generator=generator, out=RunDir(out),
                       train_data=lambda: load_data(cfg, res), real_pool=(real_all.images, real_all.labels),
                       stats_paths=list(stats_paths), device=device)


def run_context(run_dir, opts: EvalOptions, log, evaluator=None, imagenet: bool = True,
                progress: bool = True) -> EvalContext:
    """A run's generator sampled per class, with everything else build_context adds."""
    run = RunDir(run_dir)
    record = run.read()
    G = load_generator(run.path, device=str(resolve_device(opts.device)))
    cfg = run.train_config(record)
    check_data_exists(run.path, cfg)
    real = real_test_side(cfg, record.data["resolution"], G.class_names, opts)
    evaluator = evaluator or get_evaluator(opts.evaluator, record, cfg, seed=opts.seed, log=log)  # refusals first
    fake, fake_labels = sample_classes(G, list(range(G.num_classes)), opts.per_class, opts.seed, progress=progress)
    stats = [g.stats_path for g in run.groups()] if record.split else [run.stats_path]
    return build_context(fake, fake_labels, G.class_names, record, cfg, opts, run.path, log, generator=G,
                         stats_paths=stats, evaluator=evaluator, imagenet=imagenet, real=real)


def evaluate(run_dir, opts: EvalOptions, log=print) -> dict:
    """Every analysis of the paper for one run: RUN_DIR/metrics.json and the figures in RUN_DIR/eval/."""
    return evaluate_context(run_context(run_dir, opts, log), log)


def evaluate_context(ctx: EvalContext, log) -> dict:
    """Run every step of `evaluate`; OUT/metrics.json: a header, then each step's section under its name (the
    same keys for runs, sample folders and callables)."""
    G, ev, opts = ctx.generator, ctx.evaluator, ctx.options
    step = getattr(G, "step", None)
    log(f"evaluating {ctx.out.path}" + (f" at step {step}" if step is not None else "") + f": "
        f"{ctx.samples.per_class} samples per class, evaluator {ev.meta['path']} (test accuracy "
        f"{ev.meta['test_accuracy']:.4f})")
    results = run_steps(steps_of("evaluate"), ctx)
    metrics = {
        "run": str(ctx.out.path), "step": step, "has_generator": G is not None, "seed": opts.seed,
        "options": asdict(opts),
        "evaluator": {key: ev.meta.get(key) for key in ("path", "dataset", "class_names", "resolution",
                                                         "test_accuracy", "test_split", "channels")},
        "class_names": ctx.samples.class_names, "model_resolution": ctx.samples.resolution,
        **results, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    atomic_write_json(ctx.out.metrics_path, metrics, indent=1)
    return metrics


def check(run_dir, evaluator_dir: Path | None = None, per_class: int = 500, seed: int = 0, log=print,
          device: str = "cpu") -> dict:
    """Accuracy and feature diversity per class against as many real test images per class; the evaluator is the
    one in `evaluator_dir`, or the data's default one (trained on first use)."""
    return check_run(run_dir, None, per_class, seed, device=device, evaluator_dir=evaluator_dir, log=log)[0]


def check_run(run_dir, evaluator, per_class: int, seed: int, extra_steps: tuple = (), device: str = "cpu",
              evaluator_dir: Path | None = None, log=lambda msg: None) -> tuple[dict, dict]:
    """(check's JSON, every step's results) for a run and a loaded evaluator (None: the one in `evaluator_dir`, or
    the data's default one); `extra_steps` run after check's."""
    opts = EvalOptions(per_class=per_class, real_per_class=per_class, seed=seed, device=device,
                       evaluator=str(evaluator_dir) if evaluator_dir else None)
    ctx = run_context(run_dir, opts, log=log, evaluator=evaluator, imagenet=False, progress=False)
    results = run_steps(steps_of("check") + list(extra_steps), ctx)
    return merge_check(results["quality"], results["class_diversity"], results.get("verdict")), results


def merge_check(quality: dict, classes: dict, verdict: dict | None = None) -> dict:
    """check's JSON: the quality rows with every diversity measure and the verdict beside them."""
    measures = ("intra_fid", "precision", "recall", "density", "coverage", "variety", "collapsed", "far", "fired")
    for row, extra in zip(quality["per_class"], classes["per_class"]):
        row.update({k: round(extra[k], 4) if isinstance(extra[k], float) else extra[k] for k in measures
                    if k in extra})
        if "vs_real" in extra:
            row["vs_real"] = {space: {m: round(v, 4) for m, v in ratios.items()}
                              for space, ratios in extra["vs_real"].items()}
    # the verdicts a reader looks for first; the distance ratio (which fails validation) stays for comparison
    head = {**({"verdict": {k: verdict[k] for k in ("model", "per_class", "evidence", "next_step")}} if verdict
               else {}),
            "accuracy": quality["accuracy"], "lowest_variety": classes.get("lowest_variety"),
            "collapsed_classes": classes["collapsed_classes"]}
    return {**head, **{k: v for k, v in quality.items() if k not in head},
            "validated_measures": classes["validated"], "collapse_levels": classes["levels"]}
