"""The verdict a person acts on: each class, and the model, is *not learnt*, *collapsed*, *memorised* or *good*.

Per class, in this order (the first that holds):
- not learnt: its samples are recognised as their class less than a quarter of the way from chance to what real test
  images of the class get, or they miss real data (every validated variety measure fires) far from it: few of them
  near any real image (an untrained generator's samples);
- collapsed: every validated measure fires and the samples still sit on real data (metrics/collapse.py, the training
  monitor's rule too);
- memorised: more than half of its samples are nearer to a training image than 95% of unseen test images are
  (metrics/memorisation.py, in 14 px pixels);
- good: none of these.
The model's word is "good" when every class is good, else the commonest other word (ties: the order above). The
rules were checked on generators of known kind: an untrained G, k images a class repeated, training images returned,
and real test images (tests/test_verdict.py).
"""
from __future__ import annotations

import torch

from ...errors import UserError
from ...metrics.memorisation import closer_than_real
from ...metrics.prdc import pixel_features
from ..context import EvalContext
from ..verdict import WORDS
from .registry import step

RECOGNISED = 0.25        # of the way from chance to real data's accuracy: below it a class is not learnt
MEMORISED = 0.5          # share of samples nearer to training images than test images' QUANTILE
QUANTILE = 0.05
TRAIN_PER_CLASS = 5000   # training images per class searched for the nearest one


def class_verdict(accuracy: float, real_accuracy: float, chance: float, diversity: dict | None,
                  memorised_share: float | None) -> tuple[str, str]:
    """(word, evidence) for one class from its numbers."""
    level = chance + RECOGNISED * (real_accuracy - chance)
    if accuracy < level:
        return "not learnt", (f"recognised as itself in {accuracy:.0%} of samples (chance {chance:.0%}, real "
                              f"{real_accuracy:.0%}; below {level:.0%})")
    if diversity and diversity.get("missed") and diversity.get("far"):
        return "not learnt", (f"far from real images: {diversity['near']:.0%} of samples as near one as real "
                              "images are to each other; recall and coverage low")
    if diversity and diversity.get("collapsed"):
        return "collapsed", ("samples on real data but missing its variety: " +
                             ", ".join(diversity.get("validated_fired", [])) + " past their levels")
    if memorised_share is not None and memorised_share > MEMORISED:
        return "memorised", (f"{memorised_share:.0%} of samples nearer to a training image than "
                             f"{1 - QUANTILE:.0%} of unseen test images are")
    return "good", (f"recognised in {accuracy:.0%} of samples (real {real_accuracy:.0%}); neither collapsed nor "
                    "copying training images (its variety: beside)")


def model_verdict(words: list[str]) -> str:
    if all(w == "good" for w in words):
        return "good"
    return max(WORDS[:-1], key=lambda w: (words.count(w), -WORDS.index(w)))


def _memorised_shares(ctx: EvalContext) -> list[float] | None:
    """Per class, the share of samples nearer to a training image than test images are; None without the
    training split."""
    train = ctx.training()
    if train is None:
        return None
    s = ctx.samples
    fake_pix, real_pix = ctx.pixels()
    gen, shares = torch.Generator().manual_seed(s.seed), []
    for c in range(s.num_classes):  # a class at a time: at 128 px 5,000 images of a class are 250 MB as uint8
        idx = (train.labels == c).nonzero().flatten()
        if not len(idx):
            shares.append(None)
            continue
        idx = idx[torch.randperm(len(idx), generator=gen)[:TRAIN_PER_CLASS]].sort().values
        shares.append(closer_than_real(fake_pix[s.fake_labels == c], real_pix[s.real_labels == c],
                                       pixel_features(train.images[idx]), QUANTILE)["share"])
    return shares


def _accuracies(logits: torch.Tensor, labels: torch.Tensor, k: int) -> list[float]:
    right = logits.argmax(1) == labels
    return [right[labels == c].float().mean().item() if (labels == c).any() else 0.0 for c in range(k)]


def next_step(model: str, words: dict, progress: tuple[int, int] | None, train_counts: list[int] | None,
              names: list[str]) -> str:
    """What to do about it, in a sentence."""
    if model == "good":
        return "nothing to fix: compare models by their domain FID and the weakest class's variety"
    bad = [n for n, w in words.items() if w != "good"]
    few = [f"{n} ({train_counts[names.index(n)]})" for n in bad
           if train_counts and train_counts[names.index(n)] < 100]
    more = f"; more training images for {', '.join(few)}" if few else ""
    if model == "not learnt":
        if progress and progress[0] < progress[1]:
            return (f"train on: the run stopped at step {progress[0]:,} of its {progress[1]:,} "
                    f"({progress[0] / progress[1]:.0%}); `acgan train --resume RUN` continues it{more}")
        return ("train longer (`acgan train --resume RUN --steps N`) or a larger model; at 64 px and above a CPU "
                f"learns slowly: a smaller --resolution, or a GPU (docs/training.md){more}")
    if model == "collapsed":
        return ("the collapsed classes need a loss that keeps variety (`--loss adc`, docs/results/family.md) or "
                f"an earlier checkpoint that had it{more}")
    return ("the samples copy training images: more images, DiffAugment (`--set diffaugment=translation,cutout`) "
            f"or an earlier checkpoint{more}")


def _progress(ctx: EvalContext) -> tuple[int, int] | None:
    """(the step the samples come from, the steps the run was set to train), for a run's own generator."""
    step_reached = getattr(ctx.generator, "step", None)
    if step_reached is None or ctx.out is None or not ctx.out.config_path.is_file():
        return None
    try:
        return int(step_reached), int(ctx.out.read().config["steps"])
    except (UserError, KeyError, TypeError, ValueError):  # an export or a folder of another kind: no schedule
        return None


@step("verdict", order=45, commands=("evaluate", "check"))
def verdict_step(ctx: EvalContext) -> dict:
    """Each class and the model: not learnt, collapsed, memorised or good, with the evidence and the next step."""
    s = ctx.samples
    k, names = s.num_classes, s.class_names
    fake_logits, _, real_logits, _ = ctx.features()
    acc, real_acc = _accuracies(fake_logits, s.fake_labels, k), _accuracies(real_logits, s.real_labels, k)
    rows = (ctx.results.get("class_diversity") or {}).get("per_class") or [None] * k
    shares = _memorised_shares(ctx) or [None] * k
    chance = 1 / k
    found = [class_verdict(a, r, chance, d, m) for a, r, d, m in zip(acc, real_acc, rows, shares)]
    words = {n: w for n, (w, _) in zip(names, found)}
    model = model_verdict(list(words.values()))
    train = ctx.training()
    counts = train.counts() if train is not None else None
    return {"model": model, "per_class": words, "evidence": {n: e for n, (_, e) in zip(names, found)},
            "counts": {w: list(words.values()).count(w) for w in WORDS},
            "accuracy": (fake_logits.argmax(1) == s.fake_labels).float().mean().item(),
            "real_accuracy": (real_logits.argmax(1) == s.real_labels).float().mean().item(), "chance": chance,
            "class_accuracy": acc, "class_real_accuracy": real_acc, "memorised_share": shares,
            "next_step": next_step(model, words, _progress(ctx), counts, names),
            "rules": {"recognised": RECOGNISED, "memorised": MEMORISED, "quantile": QUANTILE}}
